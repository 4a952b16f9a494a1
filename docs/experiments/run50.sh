#!/bin/bash
# usage: run50.sh SEED NAME E [env...]: the card's command (--n-cont 2) staged per epoch with the scratch cut;
# Q scored every epoch (qconf.py), evaluate.py at every 5th
# run as: CUTS=936,1404,1872,2340,2808,3276,3744,4212,6552,8892,11232,13572,15912,18252,20592,22932
#   ./run50.sh S c50 50 CUT=$CUTS PL_STEPS=2340 PL_EPS=0.02 PL_EIG=14 PL_KNN=10 PL_W=1
# in ~/exp30f, with gan/ a copy of bde7a4d (data, weights linked) patched by cut50.patch
S=$1; NAME=$2; E=$3; shift 3
R=~/runs/${NAME}_s$S
cd ~/exp30f/gan
for e in $(seq 1 $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  if [ $e -eq 1 ]; then args="--seed $S --n-cont 2 --out $R"; else args="--resume $R/ckpt.pt"; fi
  env "$@" OMP_NUM_THREADS=1 python infogan.py $args --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt.tmp && mv $R/ckpt_e$e.pt.tmp $R/ckpt_e$e.pt
  OMP_NUM_THREADS=1 python ../qconf.py $R/ckpt_e$e.pt >> $R.q 2>&1
  if [ $((e % 5)) -eq 0 ]; then OMP_NUM_THREADS=1 python evaluate.py $R/ckpt_e$e.pt --json $R.jsonl >> $R.eval 2>&1; fi
  if [ $((e % 5)) -ne 0 ] && [ $e -gt 1 ]; then rm -f $R/ckpt_e$((e-1)).pt.keep; fi
done

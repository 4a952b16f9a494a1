#!/bin/bash
# usage: rp.sh NAME_S FROM_E TO_E [env...]: resume ~/runs/NAME_S/ckpt.pt (product + scratch CUT_PREV) one epoch at a time,
# Q scored each epoch (qconf2.py), evaluate.py every 5th
R=~/runs/$1; A=$2; E=$3; shift 3
cd ~/exp30g/${GAN:-pv}
for e in $(seq $((A+1)) $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  env "$@" OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt.tmp && mv $R/ckpt_e$e.pt.tmp $R/ckpt_e$e.pt
  OMP_NUM_THREADS=1 python ~/exp30f/qconf2.py $R/ckpt_e$e.pt >> $R.q 2>&1
  if [ $((e % 5)) -eq 0 ]; then OMP_NUM_THREADS=1 python evaluate.py $R/ckpt_e$e.pt --json $R.jsonl >> $R.eval 2>&1; fi
done

#!/bin/bash
# usage: scut2.sh SEED NAME E FROM [env...]: a fresh default run (--n-cont 2) with a cut at every epoch start from epoch FROM, staged per epoch
S=$1; NAME=$2; E=$3; FROM=$4; shift 4
R=~/runs/${NAME}_s$S
cd ~/exp30e/gan
CUTS=$(python -c "print(','.join(str(468*k) for k in range($FROM - 1, 60)))")
for e in $(seq 1 $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  if [ $e -eq 1 ]; then args="--seed $S --n-cont 2 --out $R"; else args="--resume $R/ckpt.pt"; fi
  env "$@" CUT=$CUTS OMP_NUM_THREADS=1 python infogan.py $args --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt
  python qconf.py $R/ckpt_e$e.pt >> $R.q 2>&1
done

#!/bin/bash
# usage: tcut.sh SEED NAME E [env...]: resume ~/runs/bcut_sS/ckpt_e2.pt (no cut yet) into ~/runs/NAME_sS, a cut at every epoch start from 3, staged per epoch
S=$1; NAME=$2; E=$3; shift 3
R=~/runs/${NAME}_s$S
cd ~/exp30e/gan
CUTS=$(python -c "print(','.join(str(468*k) for k in range(2, 60)))")
for e in $(seq 3 $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  if [ $e -eq 3 ]; then args="--resume $HOME/runs/bcut_s$S/ckpt_e2.pt --out $R"; else args="--resume $R/ckpt.pt"; fi
  env "$@" CUT=$CUTS OMP_NUM_THREADS=1 python infogan.py $args --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt
  python qconf.py $R/ckpt_e$e.pt >> $R.q 2>&1
done

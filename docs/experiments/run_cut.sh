#!/bin/bash
# usage: run_cut.sh SEED NAME EPOCHS [env...]  (resumes ~/runs/balon_sSEED, the default at epoch 5)
S=$1; NAME=$2; E=$3; shift 3
R=~/runs/${NAME}_s$S
mkdir -p $R
cd ~/exp30d/gan
for e in $(seq 6 $E); do
  if [ $e -eq 6 ]; then src=~/runs/balon_s$S/ckpt.pt; out="--out $R"; else src=$R/ckpt.pt; out=""; fi
  env "$@" OMP_NUM_THREADS=1 python infogan.py --resume $src $out --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt
  python qconf.py $R/ckpt_e$e.pt >> $R.q 2>&1
done

#!/bin/bash
# Scratch: SEED EPOCHS...: ~/exp/wcand's infogan.py with OC=1 (IIC over-clustering head on the trunk) into ~/runs/oc_sSEED,
# in stages (resumes), keeping and evaluating ckpt_eE.pt after each stage E.
export OMP_NUM_THREADS=1 OC=1
S=$1; shift; R=~/runs/oc_s$S
cd ~/exp/${W:-wcand}
for E in "$@"; do
  [ -f $R/ckpt_e$E.pt ] && continue
  if [ -f $R/ckpt.pt ]; then python infogan.py --resume $R/ckpt.pt --epochs $E >> $R.log 2>&1
  else python infogan.py --seed $S --epochs $E --out $R > $R.log 2>&1; fi || exit 1
  cp $R/ckpt.pt $R/ckpt_e$E.pt
  python evaluate.py $R/ckpt_e$E.pt --json $R.e$E.jsonl > $R.e$E.txt 2>&1
done

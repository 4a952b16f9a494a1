#!/bin/bash
# Scratch queue: each arg "NAME SEED ENV=VAL..." runs ~/exp/wcand's infogan.py for 3 epochs into ~/runs/NAME_sSEED,
# then evaluates ckpt_e3 (same env) into ~/runs/NAME_sSEED.e3.jsonl
export OMP_NUM_THREADS=1
for job in "$@"; do
  set -- $job; N=$1; S=$2; shift 2
  R=~/runs/${N}_s$S
  [ -f $R.e3.jsonl ] && continue
  ( cd ~/exp/wcand && env "$@" python infogan.py --seed $S --epochs 3 --out $R > $R.log 2>&1 \
    && cp $R/ckpt.pt $R/ckpt_e3.pt \
    && env "$@" python evaluate.py $R/ckpt_e3.pt --json $R.e3.jsonl > $R.e3.txt 2>&1 )
done

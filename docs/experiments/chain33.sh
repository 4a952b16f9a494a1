#!/bin/bash
# usage: [ENV=...] chain33.sh NAME SEED STEPS... ; runs in ~/runs/33/NAME_sSEED, evaluates each stage
cd ~/exp33
name=$1; seed=$2; shift 2
R=~/runs/33/${name}_s$seed
export OMP_NUM_THREADS=1
for s in "$@"; do
  if [ -f $R/ckpt_$s.pt ]; then continue; fi
  if [ -f $R/ckpt.pt ]; then python infogan.py --resume $R/ckpt.pt --max-steps $s > $R/log_$s.txt 2>&1
  else mkdir -p $R; python infogan.py --seed $seed --max-steps $s --n-cont 2 --precision bf16 --out $R ${LCONT:+--lambda-cont $LCONT} > $R/log_$s.txt 2>&1; fi
  cp $R/ckpt.pt $R/ckpt_$s.pt
  python s33.py $R/ckpt_$s.pt >> $R/s33.jsonl 2>>$R/s33.err
done

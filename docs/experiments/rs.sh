#!/bin/bash
# usage: rs.sh NAME S TO_E [env...]: train ~/runs/NAME_sS from scratch, one epoch per stage; qc.py each epoch
R=~/runs/$1_s$2; S=$2; E=$3; shift 3
cd ~/exp30t
for e in $(seq 1 $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  if [ -f $R/ckpt.pt ]; then
    env "$@" OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --epochs $e >> $R.log 2>&1 || exit 1
  else
    env "$@" OMP_NUM_THREADS=1 python infogan.py --seed $S --epochs $e --out $R >> $R.log 2>&1 || exit 1
  fi
  cp $R/ckpt.pt $R/ckpt_e$e.pt.tmp && mv $R/ckpt_e$e.pt.tmp $R/ckpt_e$e.pt
  OMP_NUM_THREADS=1 python qc.py $R/ckpt_e$e.pt >> $R.q 2>&1
  if [ $((e % 5)) -eq 0 ]; then OMP_NUM_THREADS=1 python evaluate.py $R/ckpt_e$e.pt --json $R.jsonl >> $R.eval 2>&1; fi
done

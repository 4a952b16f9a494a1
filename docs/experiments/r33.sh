#!/bin/bash
# usage: r33.sh NAME S [env...]: ~/runs/st/NAME_sS to 936 then 2,808 steps (scratch tree ~/exp33), each stage scored by s33.py
R=~/runs/st/$1_s$2; S=$2; shift 2; mkdir -p ~/runs/st
cd ~/exp33
for m in 936 2808; do
  if [ -f $R/ckpt_$m.pt ]; then continue; fi
  if [ -f $R/ckpt.pt ]; then
    env "$@" OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --max-steps $m >> $R.log 2>&1 || exit 1
  else
    env "$@" OMP_NUM_THREADS=1 python infogan.py --seed $S --n-cont 2 --max-steps $m --out $R >> $R.log 2>&1 || exit 1
  fi
  cp $R/ckpt.pt $R/ckpt_$m.pt.tmp && mv $R/ckpt_$m.pt.tmp $R/ckpt_$m.pt
  OMP_NUM_THREADS=1 python s33.py $R/ckpt_$m.pt >> $R.s 2>&1
done

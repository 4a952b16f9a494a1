#!/bin/bash
# usage: rp.sh NAME S FROM_E TO_E [env...]: copy ~/runs/nc_sS/ckpt_eFROM_E.pt to ~/runs/NAME_sS and resume one epoch per stage
# (scratch tree ~/exp30p); Q scored each epoch (~/exp30h/qc.py), evaluate.py every 5th
R=~/runs/$1_s$2; S=$2; A=$3; E=$4; shift 4
mkdir -p $R; [ -f $R/ckpt.pt ] || cp ~/runs/nc_s$S/ckpt_e$A.pt $R/ckpt.pt
cd ~/exp30p
for e in $(seq $((A+1)) $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  env "$@" OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --epochs $e --data-dir data/mnist >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt.tmp && mv $R/ckpt_e$e.pt.tmp $R/ckpt_e$e.pt
  [ -f $R/prior.pt ] && cp $R/prior.pt $R/prior_e$e.pt
  OMP_NUM_THREADS=1 python ~/exp30h/qc.py $R/ckpt_e$e.pt >> $R.q 2>&1
  if [ $((e % 5)) -eq 0 ]; then OMP_NUM_THREADS=1 python evaluate.py $R/ckpt_e$e.pt --json $R.jsonl >> $R.eval 2>&1; fi
done

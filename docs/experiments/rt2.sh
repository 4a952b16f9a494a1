#!/bin/bash
# usage: rt2.sh NAME S FROM_RUN FROM_E TO_E [env...]: resume ~/runs/NAME_sS from ~/runs/FROM_RUN_sS/ckpt_eFROM_E.pt
R=~/runs/$1_s$2; S=$2; F=~/runs/$3_s$2/ckpt_e$4.pt; E0=$4; E=$5; shift 5
cd ~/exp30t
mkdir -p $R; [ -f $R/ckpt.pt ] || cp $F $R/ckpt.pt
for e in $(seq $((E0 + 1)) $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  env "$@" OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --epochs $e --out $R >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt.tmp && mv $R/ckpt_e$e.pt.tmp $R/ckpt_e$e.pt
  OMP_NUM_THREADS=1 python qc.py $R/ckpt_e$e.pt >> $R.q 2>&1
  if [ $((e % 5)) -eq 0 ]; then OMP_NUM_THREADS=1 python evaluate.py $R/ckpt_e$e.pt --json $R.jsonl >> $R.eval 2>&1; fi
done

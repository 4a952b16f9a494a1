#!/bin/bash
# usage: rpp.sh NAME S TO_E: the default run's epoch 10 (~/runs/nc_sS/ckpt_e10.pt) learns the prior from epoch 11,
# one --resume stage per epoch, evaluate.py every 5th. ~/lpcode: this tree with learned_prior.patch applied (the
# runs used a copy without prior_tv, otherwise the same but for comments), conv.py beside it. Rows: PYTHONPATH=. python table.py RUNS
R=~/runs/$1_s$2; S=$2; E=$3
mkdir -p $R; cd ~/lpcode
[ -f $R/ckpt.pt ] || python conv.py ~/runs/nc_s$S/ckpt_e10.pt $R/ckpt.pt
for e in $(seq 11 $E); do
  if [ -f $R/ckpt_e$e.pt ]; then continue; fi
  OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt.tmp && mv $R/ckpt_e$e.pt.tmp $R/ckpt_e$e.pt
  if [ $((e % 5)) -eq 0 ]; then OMP_NUM_THREADS=1 python evaluate.py $R/ckpt_e$e.pt --json $R.jsonl >> $R.eval 2>&1; fi
done

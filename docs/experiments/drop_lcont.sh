#!/bin/bash
# Runs on commit d7c6f53's views_and_balance.patch (applied to 3eadf61) with "lambda_cont" added to
# RESUMABLE in infogan.py, so that --resume may change it.
# usage: drop_lcont.sh RUNS SEED ; resumes RUNS/eqL1_sSEED/ckpt_2808.pt at λ_cont 0.1 into RUNS/eqDrop_sSEED to 4,680 steps
export OMP_NUM_THREADS=1 SPLIT=3
R=$1/eqDrop_s$2; mkdir -p $R
python infogan.py --resume $1/eqL1_s$2/ckpt_2808.pt --out $R --lambda-cont 0.1 --max-steps 4680 > $R/log_4680.txt 2>&1
cp $R/ckpt.pt $R/ckpt_4680.pt
python evaluate.py $R/ckpt_4680.pt

#!/bin/bash
# Scratch: the equivariant style views (equivariant.patch, EQ=1) at λ_cont 0.5, to epoch 6, then on to 10.
# usage: bash docs/experiments/eq_run.sh SEED   (in a copy of infogan.py with equivariant.patch applied; hence --data-dir)
S=$1; R=~/runs/eq_s$S
export EQ=1 OMP_NUM_THREADS=1
python infogan.py --seed $S --epochs 6 --lambda-cont 0.5 --out $R --data-dir /work/main/data/mnist > $R.log 2>&1
cp $R/ckpt.pt $R/ckpt_e6.pt
python infogan.py --resume $R/ckpt.pt --epochs 10 --data-dir /work/main/data/mnist >> $R.log 2>&1
cp $R/ckpt.pt $R/ckpt_e10.pt

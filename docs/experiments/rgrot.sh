#!/bin/bash
# Scratch: SS-GAN's G side of the quarter-turn loss (rot_g.patch on 376f7bb, weight ROTG in the environment).
# Usage: ROTG=0.2 bash docs/experiments/rgrot.sh NAME SEED EPOCHS   (into ~/runs/NAME_sSEED, or resumed there)
set -e
N=$1; S=$2; E=$3
R=~/runs/${N}_s$S
W=~/exp/wgrot
[ -d $W ] || { git clone -q "$(git rev-parse --show-toplevel)" $W && git -C $W checkout -q 376f7bb && git -C $W apply "$(dirname "$(realpath "$0")")/rot_g.patch"; }
cd $W
export OMP_NUM_THREADS=1
if [ -f $R/ckpt.pt ]; then python infogan.py --resume $R/ckpt.pt --epochs $E >> $R.log 2>&1
else python infogan.py --seed $S --epochs $E --out $R > $R.log 2>&1; fi
cp $R/ckpt.pt $R/ckpt_e$E.tmp && mv $R/ckpt_e$E.tmp $R/ckpt_e$E.pt

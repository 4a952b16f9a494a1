#!/bin/bash
# Scratch: NAME SEED EPOCHS [ENV=VAL ...]; runs infogan.py with ssl_trunk.patch (a checkout in ~/exp/wssl) into
# ~/runs/NAME_sSEED, or resumes it there to EPOCHS; keeps a copy of the checkpoint as ckpt_eEPOCHS.pt
N=$1; S=$2; E=$3; shift 3
R=~/runs/${N}_s$S
cd ~/exp/wssl
export OMP_NUM_THREADS=1 "$@"
if [ -f $R/ckpt.pt ]; then python infogan.py --resume $R/ckpt.pt --epochs $E >> $R.log 2>&1
else python infogan.py --seed $S --epochs $E --out $R > $R.log 2>&1; fi
cp $R/ckpt.pt $R/ckpt_e$E.pt

#!/bin/bash
# usage: rt.sh NAME S TO_E [env...]: resume ~/runs/NAME_sS from c50_sS's epoch 2, one epoch per stage; qc.py each epoch.
# ckpt_e2c.pt is ckpt_e2.pt with lambda_cut 1, cut_from 3, cut_every 0 written into its config (it predates those
# fields, which read_checkpoint then takes as 'before the cut', lambda_cut 0). The runs used this loop inline.
R=~/runs/$1_s$2; mkdir -p $R; [ -f $R/ckpt.pt ] || cp ~/runs/c50_s$2/ckpt_e2c.pt $R/ckpt.pt
exec "$(dirname "$0")"/rt2.sh "$1" "$2" c50 2 "${@:3}"

#!/bin/bash
# usage: cont_cut.sh RUNDIR FROM_EPOCH TO_EPOCH [env...]: resume, cut at every epoch start
R=$1; A=$2; E=$3; shift 3
cd ~/exp30d/gan
for e in $(seq $A $E); do
  env "$@" CUT=$(python -c "print(','.join(str(468*k) for k in range(5, 60)))") OMP_NUM_THREADS=1 python infogan.py --resume $R/ckpt.pt --epochs $e >> $R.log 2>&1 || exit 1
  cp $R/ckpt.pt $R/ckpt_e$e.pt
  python qconf.py $R/ckpt_e$e.pt >> $R.q 2>&1
done

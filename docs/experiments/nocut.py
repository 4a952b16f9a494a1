"""Scratch: a turned ten-epoch run's scratch-format checkpoint -> the landed format with λ_cut set (config
only; the stored cut stays). Then `python infogan.py --resume OUT --epochs 10` goes on with it.
Usage: python docs/experiments/nocut.py IN.pt OUT.pt LAMBDA_CUT"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from qvcut import landed  # noqa: E402

torch.save(landed(sys.argv[1], float(sys.argv[3])), sys.argv[2] + ".tmp")
os.replace(sys.argv[2] + ".tmp", sys.argv[2])

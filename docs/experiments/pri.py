"""Scratch: the learned prior π by digit (via evaluate's code->digit mapping) against MNIST's training shares."""

import glob
import json
import sys

import numpy as np
import torch

share = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]) / 60000
for run in sys.argv[1:]:
    with open(run + ".jsonl") as fh:
        ev = [json.loads(line) for line in fh]
    mp = {int(k): v for k, v in ev[-1]["mapping"].items()}
    for f in sorted(glob.glob(run + "/prior_e*.pt"), key=lambda f: int(f.split("_e")[-1][:-3])):
        pi = torch.load(f, weights_only=True)["theta"].softmax(0).numpy()
        by = np.zeros(10)
        [by.__setitem__(mp[c], pi[c]) for c in range(10)]
        r = np.corrcoef(by, share)[0, 1]
        print(
            f.split("runs/")[-1],
            "pi by digit",
            " ".join(f"{p:.3f}" for p in by),
            f"r with data {r:+.2f}",
            f"TV {0.5 * abs(by - share).sum():.4f} (uniform {0.5 * abs(0.1 - share).sum():.4f})",
        )

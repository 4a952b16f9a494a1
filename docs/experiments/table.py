"""Scratch: rows of the fifty-epoch table for runs with a learned prior: agreement, coverage, lowest
purity, q_accuracy, FID (from the run's evaluate.py JSON lines), test 7s in Q's 2-cluster, and π's
total variation from MNIST's training shares (G_ema's prior; evaluate.prior_tv)."""

import json
import sys
from pathlib import Path

import numpy as np
import torch

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
labels = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")[1]
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "test")
x = ig.to_tanh_range(x, "cpu")
for run in sys.argv[1:]:
    for line in Path(run + ".jsonl").read_text().splitlines():
        r = json.loads(line)
        G, D, cfg, _ = ig.load_checkpoint(r["ckpt"])
        with torch.no_grad():
            conf = ev.q_confusion(D, cfg, x, y)
        two = next(c for c, d in ev.hungarian(conf)[0].items() if d == 2)
        mapping = {int(c): d for c, d in r["mapping"].items()}
        pi = np.zeros(10)
        pi[[mapping[c] for c in range(10)]] = G.prior.detach().softmax(0).numpy()
        epoch = r["ckpt"].split("_e")[-1][:-3]
        print(
            f"{run.split('/')[-1]} e{epoch}: {r['agreement']:.4f}, {r['coverage']}/10, {min(r['purity']):.3f}, "
            f"{r['q_accuracy']:.3f}, {r['fid']:.2f}, {int(conf[two, 7])}, "
            f"TV {ev.prior_tv(G, cfg, mapping, labels):.3f}, π by digit {' '.join(f'{p:.3f}' for p in pi)}"
        )

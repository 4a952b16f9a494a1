"""Scratch measurement: cuts of D_ema's trunk features of the 60k training digits (infogan.spectral_cut,
started from Q's clusters), the graph's features taken from (plain) the upright digit, (turns) its four
quarter turns, each normalised, concatenated, (warps) the upright digit and 3 random warps, concatenated.
Hungarian accuracy against the labels, with Q's own and the stored cut's.
Usage: python docs/experiments/cutvar.py CKPT [plain,turns,warps]"""

import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path[:0] = [os.environ.get("IGPATH", "."), os.path.dirname(__file__)]
from qvcut import acc  # noqa: E402

import infogan as ig  # noqa: E402

_, D, cfg, ck = ig.load_checkpoint(sys.argv[1])
x, y = ig.load_mnist(cfg.data_dir, "train")
x, y = ig.to_tanh_range(x, "cpu"), np.asarray(y)
variants = sys.argv[2].split(",") if len(sys.argv) > 2 else ["plain", "turns", "warps"]
out = {"step": ck["step"], "stored cut": acc(ck["cut"].long().numpy(), y)}
gen = torch.Generator().manual_seed(0)


def feat(v):
    return torch.cat([D.features(v[i : i + 2000]) for i in range(0, len(v), 2000)]).float()  # (N, 1024)


with torch.no_grad(), ig.autocast(x.device, "bf16"):
    h0 = feat(x)
    q = torch.cat([D.q(h0[i : i + 2000]) for i in range(0, len(x), 2000)]).float()[:, :10].argmax(1)
    out["Q"] = acc(q.numpy(), y)
    for v in variants:
        t = time.time()
        if v == "plain":
            h = h0
        elif v == "turns":
            h = torch.cat([F.normalize(feat(torch.rot90(x, k, dims=(2, 3))), dim=1) for k in range(4)], 1)
        else:
            views = [F.normalize(feat(ig.warp(x, cfg, gen)), dim=1) for _ in range(3)]
            h = torch.cat([F.normalize(h0, dim=1), *views], 1)
        lab = ig.spectral_cut(h, q, 10, sim_dtype=torch.bfloat16)
        out[v] = acc(lab.numpy(), y) + f" {time.time() - t:.0f}s"
print(sys.argv[1], out, flush=True)

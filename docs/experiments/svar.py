"""Scratch: variants of the stroke cut (weight 2, four strokes averaged or summed, a 3-px stroke) on one checkpoint."""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else "/work/main")
import evaluate as ev
import infogan as ig

torch.set_num_threads(int(os.environ.get("NT", "1")))
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x = ig.to_tanh_range(x, "cpu")
y = np.asarray(y)
p = sys.argv[1]
G, D, cfg, st = ig.load_checkpoint(p)
D.eval()


def feats(xx):
    with torch.no_grad(), ig.autocast(torch.device("cpu"), "bf16"):
        h = torch.cat([D.features(xx[i : i + 2000]) for i in range(0, len(xx), 2000)])
        q = torch.cat([D.q(h[i : i + 2000]) for i in range(0, len(h), 2000)])
    return h.float(), ig.split_q(q.float(), cfg)[0][0].argmax(1)


def stroke(xx, seed, rows=(11, 16), thick=2):
    g = torch.Generator().manual_seed(seed)
    n = len(xx)
    out = xx.clone()
    r = torch.randint(rows[0], rows[1], (n,), generator=g)
    c0 = torch.randint(6, 11, (n,), generator=g)
    c1 = torch.randint(18, 23, (n,), generator=g)
    cols = torch.arange(28)
    for t in range(thick):
        rr = (r + t).clamp(max=27)
        mask = (cols[None] >= c0[:, None]) & (cols[None] <= c1[:, None])  # (n, 28)
        row = out[torch.arange(n), 0, rr]  # (n, 28)
        out[torch.arange(n), 0, rr] = torch.where(mask, torch.ones_like(row), row)
    return out


def score(lab, name):
    lab = np.asarray(lab)
    conf = np.zeros((10, 10), int)
    np.add.at(conf, (lab, y), 1)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    off = sorted((conf[inv[j], d], d, j) for j in range(10) for d in range(10) if d != j)[-3:]
    print(
        f"{p.split('runs/')[-1]} {name:26s} acc {acc:.4f}",
        f"7s-as-2 {conf[inv[2], 7]}",
        [(int(a), f"{d}s as {j}") for a, d, j in off],
        flush=True,
    )


h0, q0 = feats(x)
n0 = F.normalize(h0, dim=1)
hs = [F.normalize(feats(stroke(x, s))[0], dim=1) for s in range(4)]
ht = F.normalize(feats(stroke(x, 0, thick=3))[0], dim=1)
for name, h in [
    ("avg(x, stroke) w=1", n0 + hs[0]),
    ("w=2", n0 + 2 * hs[0]),
    ("mean of 4 strokes", n0 + sum(hs) / 4),
    ("x + 4 strokes summed", n0 + sum(hs)),
    ("3-px stroke", n0 + ht),
]:
    score(ig.spectral_cut(h, q0, 10, sim_dtype=torch.bfloat16).numpy(), name)

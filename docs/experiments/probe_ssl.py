"""Scratch (a measurement): a labelled linear probe on the 1024 trunk features of D and of D_ema from one
checkpoint, and Q's own clusters of the test digits (q_accuracy, with the largest confusion) and of the
training digits read from each (Hungarian accuracy). For runs of ssl_trunk.patch, in a checkout with the patch
applied and the run's SSL set, e.g. `SSL=rot python docs/experiments/probe_ssl.py ~/runs/rot_s0/ckpt_e3.pt`."""

import copy
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import infogan as ig  # noqa: E402

torch.manual_seed(0)
_, D_ema, cfg, ckpt = ig.load_checkpoint(sys.argv[1])
D = copy.deepcopy(D_ema)
D.load_state_dict(ckpt["D"])
D.eval()


def feats(model, split):
    x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, split)
    x = ig.to_tanh_range(x, "cpu")
    h, q = [], []
    with torch.no_grad():
        for i in range(0, len(x), 2000):
            f = model.features(x[i : i + 2000])  # (2000, 1024)
            h.append(f)
            q.append(model.q(f)[:, : cfg.cat[0]].argmax(1))
    return torch.cat(h), torch.cat(q).numpy(), torch.as_tensor(y).long()


def cluster_acc(pred, y):
    m = np.zeros((10, 10))
    np.add.at(m, (pred, y), 1)
    r, c = linear_sum_assignment(-m)
    conf = m[:, :].copy()
    conf[r, c] = 0  # off the matched cells: (cluster, digit) counts of misplaced digits
    i, j = np.unravel_index(conf.argmax(), conf.shape)
    home = {int(a): int(b) for a, b in zip(r, c)}
    return m[r, c].sum() / len(y), f"{int(conf.max())} {j}s as {home[i]}s"


for name, model in [("D", D), ("D_ema", D_ema)]:
    a, qtr, ytr = feats(model, "train")
    b, qte, yte = feats(model, "test")
    mu, sd = a.mean(0), a.std(0) + 1e-4
    a, b = (a - mu) / sd, (b - mu) / sd
    lin = torch.nn.Linear(1024, 10)
    opt = torch.optim.Adam(lin.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(20):
        for idx in torch.randperm(len(a)).split(256):
            opt.zero_grad()
            F.cross_entropy(lin(a[idx]), ytr[idx]).backward()
            opt.step()
    with torch.no_grad():
        probe = (lin(b).argmax(1) == yte).float().mean().item()
    (q_test, conf_te), (q_train, _) = cluster_acc(qte, yte.numpy()), cluster_acc(qtr, ytr.numpy())
    print(
        f"{sys.argv[1]} {name}: probe (test) {probe:.4f}, Q test {q_test:.4f} ({conf_te}), Q train {q_train:.4f}",
        flush=True,
    )

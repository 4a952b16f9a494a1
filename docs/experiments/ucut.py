"""Scratch: Q's cluster sizes vs digit shares, and cuts with relaxed size constraints, on a checkpoint's trunk."""

import math
import sys
import time

import numpy as np
import torch

sys.path.insert(0, "/work/main")
from scipy.sparse import csr_matrix, diags
from scipy.sparse.linalg import eigsh

import evaluate as ev
import infogan as ig

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x = ig.to_tanh_range(x, "cpu")
y = np.asarray(y)
p = sys.argv[1]
G, D, cfg, st = ig.load_checkpoint(p)
D.eval()
with torch.no_grad(), ig.autocast(torch.device("cpu"), "bf16"):
    h = torch.cat([D.features(x[i : i + 2000]) for i in range(0, len(x), 2000)])
    q = torch.cat([D.q(h[i : i + 2000]) for i in range(0, len(h), 2000)])
q_idx = ig.split_q(q.float(), cfg)[0][0].argmax(1)


def score(lab, name):
    lab = np.asarray(lab)
    conf = np.zeros((10, 10), int)
    np.add.at(conf, (lab, y), 1)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    sizes = [int((lab == inv[d]).sum()) for d in range(10)]
    off = sorted((conf[inv[j], d], d, j) for j in range(10) for d in range(10) if d != j)[-3:]
    print(
        f"{p.split('runs/')[-1]} {name:28s} acc {acc:.4f} sizes(by digit) {sizes}",
        [(int(a), f"{d}s as {j}") for a, d, j in off],
        flush=True,
    )


print("digit counts", np.bincount(y).tolist())
score(q_idx.numpy(), "Q")
# embedding as in spectral_cut
n, knn, n_eig = len(h), 10, 14
f = torch.nn.functional.normalize(h.float(), dim=1).to(torch.bfloat16)
nbr = torch.empty(n, knn, dtype=torch.long)
for i in range(0, n, 2000):
    s = (f[i : i + 2000] @ f.T).float()
    s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -2
    nbr[i : i + 2000] = s.topk(knn, dim=1).indices
w = csr_matrix(
    (np.ones(n * knn), (np.repeat(np.arange(n), knn), nbr.numpy().ravel())),
    shape=(n, n),
)
w = ((w + w.T) > 0).astype(np.float64)
d = diags(1 / np.sqrt(np.asarray(w.sum(1)).ravel()))
_, vecs = eigsh(
    d @ w @ d,
    k=n_eig,
    which="LA",
    tol=1e-6,
    v0=np.random.default_rng(0).standard_normal(n),
)
emb = torch.from_numpy(vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
k = 10


def cut(mode, a, eps=0.02, rounds=30):
    cent = torch.stack([emb[q_idx == j].mean(0) for j in range(k)])
    for _ in range(rounds):
        logits = -torch.cdist(emb, cent).square() / eps
        u, v = torch.zeros(n, dtype=emb.dtype), torch.zeros(k, dtype=emb.dtype)
        for _ in range(50):
            u = -math.log(n) - torch.logsumexp(logits + v, dim=1)
            if mode == "kl":  # unbalanced: columns' KL to 1/k weighed; a = rho/(rho+eps), 1 = balanced
                v = a * (-math.log(k) - torch.logsumexp(logits + u[:, None], dim=0))
            else:  # box: column mass kept within [lo, hi] = [1/(a k), a/k]
                col = torch.logsumexp(logits + u[:, None] + v, dim=0)
                tgt = col.clamp(math.log(1 / (a * k)), math.log(a / k))
                v = v + tgt - col
        group = (logits + v).argmax(1)
        cent = torch.stack([emb[group == j].mean(0) if (group == j).any() else cent[j] for j in range(k)])
    return group


for mode, a in [
    ("kl", 1.0),
    ("kl", 0.9),
    ("kl", 0.7),
    ("kl", 0.0),
    ("box", 1.1),
    ("box", 1.25),
    ("box", 1.5),
    ("box", 2.0),
]:
    t = time.time()
    g = cut(mode, a)
    score(g.numpy(), f"{mode} {a} ({time.time() - t:.0f}s)")

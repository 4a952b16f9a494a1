"""Scratch: over-cut then merge by graph connectivity. python ocut.py CKPT [TREE]"""

import math
import sys
import time

import numpy as np
import torch

sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else "/work/main")
from scipy.sparse import csr_matrix, diags
from scipy.sparse.linalg import eigsh

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x = ig.to_tanh_range(x, "cpu")
y = np.asarray(y)
p = sys.argv[1]
G, D, cfg, st = ig.load_checkpoint(p)
D.eval()
with torch.no_grad(), ig.autocast(torch.device("cpu"), "bf16"):
    h = torch.cat([D.features(x[i : i + 2000]) for i in range(0, len(x), 2000)])
    q = torch.cat([D.q(h[i : i + 2000]) for i in range(0, len(h), 2000)])
q_idx = ig.split_q(q.float(), cfg)[0][0].argmax(1).numpy()


def score(lab, name):
    lab = np.asarray(lab)
    conf = np.zeros((10, 10), int)
    np.add.at(conf, (lab, y), 1)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    off = sorted((conf[inv[j], d], d, j) for j in range(10) for d in range(10) if d != j)[-3:]
    print(
        f"{p.split('runs/')[-1]} {name:34s} acc {acc:.4f} {[(int(a), f'{d}s as {j}') for a, d, j in off]}",
        flush=True,
    )


score(q_idx, "Q")
score(
    ig.spectral_cut(h, torch.from_numpy(q_idx), 10, sim_dtype=torch.bfloat16).numpy(),
    "default cut",
)
n, knn = len(h), 10
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
w = ((w + w.T) > 0).astype(np.float64).tocsr()
deg = np.asarray(w.sum(1)).ravel()
d = diags(1 / np.sqrt(deg))
_, vecs = eigsh(
    d @ w @ d,
    k=40,
    which="LA",
    tol=1e-6,
    v0=np.random.default_rng(0).standard_normal(n),
)
vecs = vecs[:, ::-1].copy()  # leading first


def kmeans(emb, k, seed=0, iters=50):
    g = torch.Generator().manual_seed(seed)
    e = torch.from_numpy(emb)
    cent = e[torch.randperm(len(e), generator=g)[:k]].clone()
    for _ in range(iters):
        lab = torch.cdist(e, cent).argmin(1)
        cent = torch.stack([e[lab == j].mean(0) if (lab == j).any() else cent[j] for j in range(k)])
    return lab.numpy()


def merge(lab, k_out, rule):
    lab = lab.copy()
    ks = np.unique(lab)
    while len(ks) > k_out:
        onehot = csr_matrix((np.ones(n), (np.arange(n), lab)), shape=(n, lab.max() + 1))
        W = (onehot.T @ w @ onehot).toarray()  # edges between clusters
        vol = W.sum(1)
        best, pair = -1, None
        for i in ks:
            for j in ks:
                if i < j:
                    sc = W[i, j] / min(vol[i], vol[j]) if rule == "min" else W[i, j] / math.sqrt(vol[i] * vol[j])
                    if sc > best:
                        best, pair = sc, (i, j)
        lab[lab == pair[1]] = pair[0]
        ks = np.unique(lab)
    return np.searchsorted(ks, lab)


for n_eig, k_over in [(14, 10), (14, 20), (20, 20), (20, 30), (30, 30), (30, 50)]:
    emb = vecs[:, :n_eig] / np.linalg.norm(vecs[:, :n_eig], axis=1, keepdims=True)
    for seed in [0, 1]:
        t = time.time()
        lab = kmeans(emb, k_over, seed)
        for rule in ["min", "geo"] if k_over > 10 else ["-"]:
            out = merge(lab, 10, rule) if k_over > 10 else lab
            score(out, f"eig{n_eig} km{k_over} s{seed} {rule} ({time.time() - t:.0f}s)")

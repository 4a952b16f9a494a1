"""Scratch: the cut of a checkpoint's trunk with other neighbour counts k; Hungarian accuracy on the training labels."""

import sys
import time

import numpy as np
import torch

sys.path.insert(0, "/root/exp30h")
import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x = ig.to_tanh_range(x, "cpu")
y = np.asarray(y)
p, ks = sys.argv[1], [int(k) for k in sys.argv[2:]]
G, D, cfg, st = ig.load_checkpoint(p)
with torch.no_grad(), ig.autocast(torch.device("cpu"), "bf16"):
    h = torch.cat([D.features(x[i : i + 2000]) for i in range(0, len(x), 2000)])
    q = torch.cat([D.q(h[i : i + 2000]) for i in range(0, len(h), 2000)])
q_idx = ig.split_q(q.float(), cfg)[0][0].argmax(1)
for k in ks:
    t = time.time()
    cut = ig.spectral_cut(h, q_idx, 10, knn=k, sim_dtype=torch.bfloat16).numpy()
    conf = np.zeros((10, 10), int)
    np.add.at(conf, (cut, y), 1)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    off = sorted((conf[inv[j], d], d, j) for j in range(10) for d in range(10) if d != j)[-2:]
    print(
        p, "k", k, round(acc, 4), [(int(a), f"{d}s as {j}") for a, d, j in off], f"{time.time() - t:.0f}s", flush=True
    )

"""Scratch: Q's clusters and the plain cut of one checkpoint's trunk, on the training digits."""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else "/work/main")
import evaluate as ev
import infogan as ig

torch.set_num_threads(int(os.environ.get("NT", "1")))
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x, y = ig.to_tanh_range(x, "cpu"), np.asarray(y)
G, D, cfg, st = ig.load_checkpoint(sys.argv[1])
D.eval()
with torch.no_grad(), ig.autocast(torch.device("cpu"), "bf16"):
    h = torch.cat([D.features(x[i : i + 2000]) for i in range(0, len(x), 2000)]).float()
    q = ig.split_q(torch.cat([D.q(h[i : i + 2000]) for i in range(0, len(h), 2000)]).float(), cfg)[0][0].argmax(1)
for name, lab in (("Q", q.numpy()), ("cut", ig.spectral_cut(h, q, 10, sim_dtype=torch.bfloat16).numpy())):
    conf = np.zeros((10, 10), int)
    np.add.at(conf, (lab, y), 1)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    off = sorted((conf[inv[j], d], d, j) for j in range(10) for d in range(10) if d != j)[-3:]
    print(
        sys.argv[1].split("runs/")[-1],
        name,
        f"acc {acc:.4f} 7s-as-2 {conf[inv[2], 7]}",
        [(int(a), f"{d}s as {j}") for a, d, j in off],
        flush=True,
    )

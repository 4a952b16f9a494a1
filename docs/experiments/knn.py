"""Scratch: for each checkpoint, the share of 10 nearest trunk neighbours (cosine, unwarped training digits) that
share the digit, and the Hungarian accuracy of the stored cut against the training labels (labels only score)."""

import sys

import numpy as np
import torch

sys.path.insert(0, "/root/exp30h")
import torch.nn.functional as F

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x = ig.to_tanh_range(x, "cpu")
y = torch.as_tensor(y).long()
for p in sys.argv[1:]:
    G, D, cfg, st = ig.load_checkpoint(p)
    with torch.no_grad(), ig.autocast(torch.device("cpu"), "bf16"):
        h = torch.cat([D.features(x[i : i + 2000]) for i in range(0, len(x), 2000)])
    f = F.normalize(h.float(), dim=1).bfloat16()
    same = 0
    for i in range(0, len(f), 2000):
        s = (f[i : i + 2000] @ f.T).float()
        s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -2
        nb = s.topk(10, dim=1).indices
        same += (y[nb] == y[i : i + 2000, None]).sum().item()
    out = f"{p} knn10 {same / len(f) / 10:.4f}"
    cut = st.get("cut")
    if isinstance(cut, torch.Tensor) and len(cut):
        conf = np.zeros((10, 10), int)
        np.add.at(conf, (cut.numpy(), y.numpy()), 1)
        m, acc = ev.hungarian(conf)
        inv = {d: c for c, d in m.items()}
        out += f" cut {acc:.4f} 7s-in-2 {conf[inv[2], 7]}"
    print(out, flush=True)

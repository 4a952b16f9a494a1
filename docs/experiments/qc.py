"""Scratch: Q's q_accuracy and test 7s in its 2-cluster for each checkpoint, on the 10,000 test digits."""

import sys

import torch

sys.path.insert(0, "/root/exp30t")
import evaluate as ev  # noqa: E402
import infogan as ig  # noqa: E402

torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "test")
x = ig.to_tanh_range(x, "cpu")
for p in sys.argv[1:]:
    G, D, cfg, st = ig.load_checkpoint(p)
    D.eval()
    with torch.no_grad():
        conf = ev.q_confusion(D, cfg, x, y)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    print(p, "q", round(acc, 4), "7s-in-2", int(conf[inv[2], 7]), "largest", ev.q_report(conf)[1], flush=True)

"""Scratch: Q's confusion on the 10k test images, and the code figures at n=200 per code."""

import json
import sys

import numpy as np
import torch

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "test")
x = ig.to_tanh_range(x, "cpu")
clf = ev.load_classifier()
for path in sys.argv[1:]:
    G, D, cfg, ck = ig.load_checkpoint(path)
    with torch.no_grad():
        pred = torch.cat(
            [ig.split_q(D.q(D.features(x[i : i + 1000])), cfg)[0][0].argmax(1) for i in range(0, 10000, 1000)]
        ).numpy()
    conf = np.zeros((10, 10), np.int64)
    np.add.at(conf, (pred, y), 1)
    m, acc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    gc, _ = ev.code_confusion(G, cfg, clf, n=200)
    rep = ev.code_report(gc)
    off = sorted(((int(conf[c, d]), f"{d}->{m[c]}") for c in range(10) for d in range(10) if m[c] != d), reverse=True)[
        :4
    ]
    print(
        json.dumps(
            {
                "ckpt": path,
                "step": ck["step"],
                "q_acc": round(acc, 4),
                "7_in_2": int(conf[inv[2], 7]),
                "top_conf": off,
                "agree200": rep["agreement"],
                "cov": rep["coverage"],
                "minpur": min(rep["purity"]),
            }
        ),
        flush=True,
    )

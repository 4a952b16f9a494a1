"""Scratch: style-code r (slant/width/ink), quick agreement (n=200), q_accuracy for checkpoints."""

import json
import sys

import torch

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "test")
x = ig.to_tanh_range(x, "cpu")
clf = ev.load_classifier()
for path in sys.argv[1:]:
    G, D, cfg, ck = ig.load_checkpoint(path)
    eff = ev.cont_effects(G, cfg)
    conf = ev.q_confusion(D, cfg, x, y)
    m, qacc = ev.hungarian(conf)
    inv = {d: c for c, d in m.items()}
    top = ev.q_report(conf)
    rep = ev.code_report(ev.code_confusion(G, cfg, clf, n=200)[0])
    print(
        json.dumps(
            {
                "ckpt": path,
                "step": ck["step"],
                "c1": eff["c1"],
                "c2": eff["c2"],
                "style": ev.style_codes(eff),
                "agree200": rep["agreement"],
                "cov": rep["coverage"],
                "q_acc": round(qacc, 4),
                "7_in_2": int(conf[inv[2], 7]),
                "q_top": top[1] if isinstance(top, tuple) else top,
            }
        ),
        flush=True,
    )

"""Scratch measurement: purity (Hungarian accuracy on the 60,000 training digits; labels only to score)
of Q's clusters, of the cut, and of the cut with Q's confident labels put in, for D and D_ema.
Usage: python hyb.py CKPT..."""

import copy
import json
import sys

import numpy as np
import torch

sys.path.insert(0, ".")  # run from the repository root
import evaluate as ev  # noqa: E402
import infogan as ig  # noqa: E402


def acc(pred, y):
    conf = np.zeros((10, 10), np.int64)
    np.add.at(conf, (np.asarray(pred), y), 1)
    return round(ev.hungarian(conf)[1], 4)


x = y = None
for p in sys.argv[1:]:
    _, D_ema, cfg, ck = ig.load_checkpoint(p)
    D = copy.deepcopy(D_ema)
    D.load_state_dict(ck["D"])
    D.eval()
    if x is None:
        x, y = ig.load_mnist(cfg.data_dir, "train")
        x, y = ig.to_tanh_range(x, "cpu"), np.asarray(y)
    out = {"ckpt": p, "step": ck["step"], "saved cut": acc(ck["cut"].long().numpy(), y) if len(ck["cut"]) else None}
    for name, m in (("D", D), ("D_ema", D_ema)):
        with torch.no_grad(), ig.autocast(x.device, "bf16"):
            prob = torch.cat([m.q(m.features(x[i : i + 2000])) for i in range(0, len(x), 2000)])
        prob = prob.float()[:, :10].softmax(1)
        pmax, q = prob.max(1)
        cut, moved = ig.cut_labels(m, x, cfg, "bf16")
        r = {"Q": acc(q, y), "cut": acc(cut, y), "moved": round(moved, 4)}
        for tau in (0.9, 0.99, 0.999):
            conf = pmax > tau
            hyb = torch.where(conf, q, cut)
            r[f"hyb{tau}"] = acc(hyb, y)
            r[f"share{tau}"] = round(conf.float().mean().item(), 3)
            r[f"Qconf{tau}"] = acc(q[conf], y[conf.numpy()])
        agree = q == cut
        r["agree share"] = round(agree.float().mean().item(), 4)
        r["agree purity"] = acc(q[agree], y[agree.numpy()])
        out[name] = r
    print(json.dumps(out), flush=True)

"""Scratch measurement: on the 60k training digits, Hungarian accuracy of Q's argmax (from D and from D_ema)
against that of the cut stored in the checkpoint (the labels Q's head was trained toward that epoch).
Takes the turned ten-epoch runs' scratch-format checkpoints (d902267's SSL=rot) or landed ones.
Usage: python docs/experiments/qvcut.py CKPT..."""

import copy
import os
import sys

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, os.environ.get("IGPATH", "."))
import infogan as ig  # noqa: E402


def acc(pred, y):
    """Hungarian accuracy of cluster ids against labels, and the largest off-match cell."""
    m = np.zeros((10, 10))
    np.add.at(m, (np.asarray(pred), np.asarray(y)), 1)
    r, c = linear_sum_assignment(-m)
    conf = m.copy()
    conf[r, c] = 0
    i, j = np.unravel_index(conf.argmax(), conf.shape)
    return f"{m[r, c].sum() / len(y):.4f} ({int(conf.max())} {j}s as {dict(zip(r, c))[i]}s)"


def landed(path, lambda_cut=None):
    """A checkpoint dict in the landed format (R's weights as rot_head, lambda_rot 1), λ_cut changed if given."""
    ck = torch.load(path, weights_only=True)
    for key in ("D", "D_ema"):
        ck[key] = {k.replace("ssl_head.", "rot_head."): v for k, v in ck[key].items()}
    ck["config"] = {**ck["config"], "lambda_rot": 1.0}
    if lambda_cut is not None:
        ck["config"]["lambda_cut"] = lambda_cut
    return ck


if __name__ == "__main__":
    x = y = None
    for p in sys.argv[1:]:
        torch.save(landed(p), "/tmp/qvcut.pt")
        _, D_ema, cfg, ck = ig.load_checkpoint("/tmp/qvcut.pt")
        D = copy.deepcopy(D_ema)
        D.load_state_dict(ck["D"])
        D.eval()
        if x is None:
            x, y = ig.load_mnist(cfg.data_dir, "train")
            x, y = ig.to_tanh_range(x, "cpu"), np.asarray(y)
        out = {"step": ck["step"], "cut": acc(ck["cut"].long().numpy(), y)}
        with torch.no_grad(), ig.autocast(x.device, "bf16"):
            for name, m in (("D", D), ("D_ema", D_ema)):
                q = torch.cat([m.q(m.features(x[i : i + 2000])) for i in range(0, len(x), 2000)])
                q = q.float()[:, :10].argmax(1)
                out[name] = acc(q.numpy(), y)
                out[name + " agrees with cut"] = f"{(q == ck['cut'].long()).float().mean():.4f}"
        print(p, out, flush=True)

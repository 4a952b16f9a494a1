"""Scratch candidate: the cut's labels with Q's confident labels put in. At every cut, images where
Q (read from D_ema, or D) gives its argmax a probability above TAU take Q's label instead of the cut's.
SRC_CUT picks whose trunk the cut is made from. Goes on from a checkpoint exactly as --resume otherwise.
Usage: python hybrun.py IN.pt OUT_DIR EPOCHS TAU Q_SRC CUT_SRC   (Q_SRC, CUT_SRC: D or D_ema)"""

import sys
from dataclasses import replace

import torch

sys.path.insert(0, ".")  # run from the repository root
import infogan as ig  # noqa: E402

inp, out, epochs, tau, q_src, cut_src = sys.argv[1:7]
tau = float(tau)
models = {}
_build, _cut = ig.build_run, ig.cut_labels


def build_run(cfg, device, ckpt=None):
    r = _build(cfg, device, ckpt)
    models["D"], models["D_ema"] = r[2], r[3]
    return r


@torch.no_grad()
def cut_labels(D, data, cfg, precision, batch=2000):
    m = models[cut_src]
    labels, _ = _cut(m, data, cfg, precision, batch)
    qm = models[q_src]
    was = qm.training
    qm.eval()
    with ig.autocast(data.device, precision):
        prob = torch.cat([qm.q(qm.features(data[i : i + batch])) for i in range(0, len(data), batch)])
    qm.train(was)
    pmax, q = ig.split_q(prob.float(), cfg)[0][0].softmax(1).max(1)
    conf = pmax > tau
    hyb = torch.where(conf, q, labels)
    print(
        f"hybrid: {conf.float().mean():.1%} of the images take Q's label;",
        f"{(hyb != labels).float().mean():.2%} differ from the cut",
        flush=True,
    )
    return hyb, (hyb != q).float().mean().item()


ig.build_run, ig.cut_labels = build_run, cut_labels
cfg, ck = ig.read_checkpoint(inp)
ig.train(replace(ig.read_checkpoint(inp)[0], epochs=int(epochs)), out, ck, progress=False)

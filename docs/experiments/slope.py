"""Scratch: magnitude of each code's effect: slope of slant (shear/unit) and width (px/unit) over the sweep [-2, 2]."""

import sys

import torch

sys.path.insert(0, "/work/main")
import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
G, D, cfg, ck = ig.load_checkpoint(sys.argv[1])
vals = torch.linspace(-2, 2, 9)
nd = 200
for j in range(cfg.n_cont):
    g = torch.Generator().manual_seed(j)
    z, ci, cont = ig.sample_codes(nd, cfg, generator=g)
    z, ci, cont = (t.repeat_interleave(9, 0) for t in (z, ci, cont))
    cont[:, j] = vals.repeat(nd)
    img = ig.generate(G, ig.make_latent(z, ci, cont, cfg.cat)).cpu()
    c = cont[:, j].view(nd, 9)
    c = c - c.mean(1, keepdim=True)
    res = []
    for name, prop in (("slant", ev.slant(img)), ("width", ev.width(img))):
        p = prop.view(nd, 9)
        sd_between = p.mean(1).std().item()
        p = p - p.mean(1, keepdim=True)
        slope = float((p * c).sum() / (c * c).sum())
        r = float((p * c).sum() / ((p * p).sum().sqrt() * (c * c).sum().sqrt()))
        res.append(f"{name}: slope {slope:+.3f}/unit r {r:+.2f} (sd across draws {sd_between:.3f})")
    print(sys.argv[1].split("runs/")[-1], f"c{j + 1}", " | ".join(res))

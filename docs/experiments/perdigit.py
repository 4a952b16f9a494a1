"""Scratch: c1/c2's r with slant/width per digit code vs the data's within-digit slant-width correlation."""

import sys

import numpy as np
import torch

sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else "/work/main")
import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
G, D, cfg, ck = ig.load_checkpoint(sys.argv[1])
clf = ev.load_classifier()
conf = ev.code_confusion(G, cfg, clf, n=200)[0]
m, agree = ev.hungarian(conf)  # code -> digit
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")
x = ig.to_tanh_range(x[:20000], "cpu")
y = np.asarray(y[:20000])
sl, wd = ev.slant(x).numpy(), ev.width(x).numpy()


def r(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


vals = torch.linspace(-2, 2, 9)
nd = 100
rows = []
for code, digit in sorted(m.items(), key=lambda t: t[1]):
    out = [digit, round(r(sl[y == digit], wd[y == digit]), 2)]
    for j in range(cfg.n_cont):
        g = torch.Generator().manual_seed(j)
        z, ci, cont = ig.sample_codes(nd, cfg, generator=g)
        ci[:, 0] = code
        z, ci, cont = (t.repeat_interleave(9, 0) for t in (z, ci, cont))
        cont[:, j] = vals.repeat(nd)
        img = ig.generate(G, ig.make_latent(z, ci, cont, cfg.cat)).cpu()
        c = cont[:, j].view(nd, 9)
        c = c - c.mean(1, keepdim=True)
        for prop in (ev.slant(img), ev.width(img)):
            p = prop.view(nd, 9)
            p = p - p.mean(1, keepdim=True)
            out.append(
                round(
                    float((p * c).sum() / ((p * p).sum().sqrt() * (c * c).sum().sqrt())),
                    2,
                )
            )
    rows.append(out)
print(sys.argv[1], "agree", round(agree, 4))
print("digit data_r(slant,width) c1_slant c1_width c2_slant c2_width")
for row in rows:
    print(*row)
a = np.array(rows)
print(
    "corr over digits: data r vs c1 width r",
    round(r(a[:, 1], a[:, 3]), 2),
    "vs c2 slant r",
    round(r(a[:, 1], a[:, 4]), 2),
)

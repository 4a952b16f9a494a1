"""Scratch: how much a random shear of the real images (what D would see if only real images were sheared,
so G's target) dilutes MNIST's within-digit slant-width correlation, on 20,000 training digits."""

import numpy as np
import torch
import torch.nn.functional as F

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
x, y = ig.load_mnist(split="train")
x, y = ig.to_tanh_range(x[:20000], "cpu"), np.asarray(y[:20000])
g = torch.Generator().manual_seed(0)
for k in (0.0, 0.45, 0.6):
    s = (torch.rand(len(x), generator=g) * 2 - 1) * k  # x -> x + s·y
    one, zero = torch.ones_like(s), torch.zeros_like(s)
    theta = torch.stack([torch.stack([one, -s, zero], 1), torch.stack([zero, one, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    xs = F.grid_sample(x.float() + 1, grid, align_corners=False) - 1
    slant, width = ev.slant(xs).numpy(), ev.width(xs).numpy()
    r = [np.corrcoef(slant[y == d], width[y == d])[0, 1] for d in range(10)]
    print(f"shear ±{k}: slant sd {slant.std():.3f}, r(slant, width) by digit {np.round(r, 2)}")

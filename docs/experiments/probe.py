"""Diagnostic: how separable are the digits in D's trunk features? A supervised linear probe (labels
used here only, to measure) against Q's unsupervised clusters, on the same checkpoint."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

import evaluate as ev
import infogan as ig

torch.set_num_threads(1)
torch.manual_seed(0)
G, D, cfg, ck = ig.load_checkpoint(sys.argv[1])


def feats(split):
    x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, split)
    x = ig.to_tanh_range(x, "cpu")
    with torch.no_grad():
        h = torch.cat([D.features(x[i : i + 2000]) for i in range(0, len(x), 2000)])
    return h, torch.as_tensor(np.asarray(y)).long(), x


htr, ytr, _ = feats("train")
hte, yte, xte = feats("test")
mu, sd = htr.mean(0), htr.std(0) + 1e-6
htr, hte = (htr - mu) / sd, (hte - mu) / sd
W = torch.zeros(1024, 10, requires_grad=True)
b = torch.zeros(10, requires_grad=True)
opt = torch.optim.Adam([W, b], lr=1e-2)
for _ in range(300):
    idx = torch.randint(len(htr), (4096,))
    loss = F.cross_entropy(htr[idx] @ W + b, ytr[idx]) + 1e-4 * (W**2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
with torch.no_grad():
    pred = (hte @ W + b).argmax(1)
acc = (pred == yte).float().mean().item()
print(
    "linear probe test acc",
    round(acc, 4),
    "| 7 as 2:",
    int(((yte == 7) & (pred == 2)).sum()),
    "| 2 as 7:",
    int(((yte == 2) & (pred == 7)).sum()),
)
conf = ev.q_confusion(D, cfg, xte, yte.numpy())
m, qacc = ev.hungarian(conf)
print("Q q_accuracy", round(qacc, 4))

"""Scratch: labelled linear probes (a measurement, not a candidate) on D's conv map (6272) and FC features (1024)."""

import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, "/root/exp30t")
import infogan as ig  # noqa: E402

torch.manual_seed(0)
G, D, cfg, st = ig.load_checkpoint(sys.argv[1])
D.eval()


def feats(split):
    x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, split)
    x = ig.to_tanh_range(x, "cpu")
    conv, fc = [], []
    with torch.no_grad():
        for i in range(0, len(x), 2000):
            h = D.trunk[:6](x[i : i + 2000])  # (2000, 6272) after Flatten
            conv.append(h)
            fc.append(D.trunk[6:](h))  # (2000, 1024)
    return torch.cat(conv), torch.cat(fc), torch.as_tensor(y).long()


ctr, ftr, ytr = feats("train")
cte, fte, yte = feats("test")
for name, a, b in [("fc1024", ftr, fte), ("conv6272", ctr, cte)]:
    mu, sd = a.mean(0), a.std(0) + 1e-4
    a, b = (a - mu) / sd, (b - mu) / sd
    lin = torch.nn.Linear(a.shape[1], 10)
    opt = torch.optim.Adam(lin.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(8):
        for idx in torch.randperm(len(a)).split(256):
            opt.zero_grad()
            F.cross_entropy(lin(a[idx]), ytr[idx]).backward()
            opt.step()
    with torch.no_grad():
        pred = lin(b).argmax(1)
    acc = (pred == yte).float().mean().item()
    n72 = int(((yte == 7) & (pred == 2)).sum())
    print(sys.argv[1], name, "test acc", round(acc, 4), "7s as 2s", n72, flush=True)

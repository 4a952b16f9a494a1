# Scratch, the frozen-trunk testbed (feats.py at commit 6ca76a1): pieces of each cluster cut by a 2-way balance head (m = M2). usage: [M2=1] python splitmerge2.py FEATS.pt HEAD_SEED
"""Scratch: from a random head (7+2 basin), try moving k-means pieces of each cluster to another cluster,
scored by the hard-label balance objective over two warps of all training digits."""
import sys, math, torch, torch.nn as nn, torch.nn.functional as F, numpy as np
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev
torch.set_num_threads(2)
d = torch.load(sys.argv[1], weights_only=False)
tr, te, ytr, yte = d["tr"], d["te"], d["ytr"], d["yte"]; N = len(ytr)
seed, P = int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 4
torch.manual_seed(seed)
head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, 10))
opt = torch.optim.Adam(head.parameters(), 1e-3, betas=(0.5, 0.999)); bcfg = ig.Config(cat=(10,), n_cont=0)
for step in range(3000):
    idx = torch.randint(N, (512,)); va, vb = torch.randint(1, len(tr), (2,)).tolist()
    la, lb = head(torch.cat([tr[va][idx], tr[vb][idx]])).chunk(2)
    loss = ig.balance_term(la, lb, bcfg); opt.zero_grad(); loss.backward(); opt.step()
head.eval()
with torch.no_grad():
    lab = [head(t).argmax(1) for t in tr]  # hard labels per view
    labte = head(te).argmax(1)
Z = [F.normalize(t, dim=1) for t in tr]; Zte = F.normalize(te, dim=1)

def obj(labs, m=3.0):
    tot = 0; n = 0
    for a in range(1, len(labs)):
        for b in range(a + 1, len(labs)):
            j = torch.zeros(10, 10); j.index_put_((labs[a], labs[b]), torch.ones(N), accumulate=True)
            j = j / N; j = ((j + j.T) / 2).clamp_min(1e-12); mg = j.sum(1)
            tot += m * (mg * (mg * 10).log()).sum() - (j * (j.log() - mg[None].log())).sum(); n += 1
    return (tot / n).item()

def score(labt):
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (labt.numpy(), yte.numpy()), 1)
    mapping, acc = ev.hungarian(conf); inv = {v: k for k, v in mapping.items()}
    return acc, int(conf[inv[2], 7]) if 2 in inv else -1

base = obj(lab); print(f"seed {seed}: base objective {base:.4f}, test {score(labte)}", flush=True)
# oracle (labels: a measurement only): move the training 7s in the cluster holding most 2s to the cluster holding most 7s
c2 = torch.bincount(lab[0][ytr == 2], minlength=10).argmax(); c7 = torch.bincount(lab[0][ytr == 7], minlength=10).argmax()
orc = []
for v in range(len(tr)):
    l = lab[v].clone(); l[(l == c2) & (ytr == 7)] = c7; orc.append(l)
print(f"oracle move of {int(((lab[0] == c2) & (ytr == 7)).sum())} 7s: objective {obj(orc):.4f}", flush=True)
import os
best = []
c2cfg = ig.Config(cat=(2,), n_cont=0, bal_marginal=float(os.environ.get("M2", "1")))
for k in range(10):
    mem = torch.nonzero(lab[0] == k).squeeze(1)
    torch.manual_seed(100 + k)
    h2 = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, 2))
    o2 = torch.optim.Adam(h2.parameters(), 1e-3, betas=(0.5, 0.999))
    for step in range(800):
        idx = mem[torch.randint(len(mem), (256,))]; va, vb = torch.randint(1, len(tr), (2,)).tolist()
        la, lb = h2(torch.cat([tr[va][idx], tr[vb][idx]])).chunk(2)
        loss = ig.balance_term(la, lb, c2cfg); o2.zero_grad(); loss.backward(); o2.step()
    h2.eval()
    with torch.no_grad():
        pieces = [h2(t).argmax(1) for t in tr]; pte = h2(te).argmax(1)
    for p in range(2):
        for j in range(10):
            if j == k: continue
            new = []
            for v in range(len(tr)):
                l = lab[v].clone(); l[(l == k) & (pieces[v] == p)] = j; new.append(l)
            o = obj(new)
            lt = labte.clone(); lt[(labte == k) & (pte == p)] = j
            best.append((o, k, p, j, len(mem), int(((lab[0] == k) & (pieces[0] == p)).sum()), score(lt)))
best.sort()
print("best moves (any, even if not lower):")
for b in best[:6]:
    print(f"  objective {b[0]:.4f}: piece {b[2]} of cluster {b[1]} ({b[5]} of {b[4]}) -> cluster {b[3]}; test acc, 7s-in-2 {b[6]}", flush=True)

"""Scratch: a Q-like head on frozen trunk features (feats.py), first fitted to pseudo-labels from a
spectral cut of the features' kNN graph (k-means in the embedding started from the checkpoint Q's
clusters; no labels), then the balance term alone. Labels only score.
python pseudo.py FEATS.pt KNN.npz SUP_STEPS BAL_STEPS SEED [fresh|ckpt] [BS]"""
import sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from scipy.cluster.vq import kmeans2
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev
torch.set_num_threads(1)
d = torch.load(sys.argv[1], weights_only=False); z = np.load(sys.argv[2])
sup_steps, bal_steps, seed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
init = sys.argv[6] if len(sys.argv) > 6 else "fresh"; BS = int(sys.argv[7]) if len(sys.argv) > 7 else 512
tr, te, ytr, yte, cfg = d["tr"], d["te"], d["ytr"], d["yte"], d["cfg"]
idx, p, y = z["idx"], z["p"], z["y"]; N = len(y); ntr = 60000

def rep(pred, tag):
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (pred, yte.numpy()), 1)
    acc, _ = ev.q_report(conf); mapping = ev.hungarian(conf)[0]; inv = {v: k for k, v in mapping.items()}
    off = conf.copy()
    for c, dd in mapping.items(): off[c, dd] = 0
    big = sorted(((int(off[c, dd]), f"{dd}s as {mapping[c]}") for c in range(10) for dd in range(10) if off[c, dd] >= 30), reverse=True)
    print(f"{tag}: q_acc {acc:.4f} 7s-in-2 {conf[inv[2], 7]} {big}", flush=True)

k = 10
rows = np.repeat(np.arange(N), k)
W = sp.csr_matrix((np.ones(N * k), (rows, idx[:, :k].ravel())), shape=(N, N)); W = ((W + W.T) > 0).astype(np.float64)
deg = np.asarray(W.sum(1)).ravel(); Dm = sp.diags(1 / np.sqrt(deg))
vals, vecs = eigsh(Dm @ W @ Dm, k=10, which="LA", tol=1e-6)
emb = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
q = p.argmax(1)
_, lab = kmeans2(emb, np.stack([emb[q == c].mean(0) for c in range(10)]), minit="matrix", iter=50)
rep(q[ntr:], "checkpoint Q"); rep(lab[ntr:], "pseudo-labels (spectral from Q)")
pl = torch.as_tensor(lab[:ntr]).long()

torch.manual_seed(seed)
head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, 10))
if init == "ckpt":
    sd = {kk: v[:10] if kk == "3.weight" or kk == "3.bias" else v for kk, v in d["qhead"].items()}
    head.load_state_dict(sd)
opt = torch.optim.Adam(head.parameters(), 1e-3, betas=(0.5, 0.999))
bcfg = ig.Config(cat=(10,), n_cont=0)
Wv = len(tr)
def ev_(tag):
    head.eval()
    with torch.no_grad(): rep(head(te).argmax(1).numpy(), tag)
    head.train()
for step in range(sup_steps + bal_steps):
    i = torch.randint(ntr, (BS,)); va, vb = torch.randint(1, Wv, (2,)).tolist()
    if step < sup_steps:
        loss = F.cross_entropy(head(tr[va][i]), pl[i])
    else:
        la, lb = head(torch.cat([tr[va][i], tr[vb][i]])).chunk(2)
        loss = ig.balance_term(la, lb, bcfg)
    opt.zero_grad(); loss.backward(); opt.step()
    if step + 1 == sup_steps or (step + 1 - sup_steps) % 1000 == 0 and step >= sup_steps:
        ev_(f"{init} seed {seed} bs {BS} step {step + 1}")

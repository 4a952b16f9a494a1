"""Scratch: variants of the spectral cut of D's trunk kNN graph that need not copy Q's merges.
python cutlab.py CKPT  (labels only score)"""
import sys, time
import numpy as np, torch, scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev
torch.set_num_threads(1)
G, D, cfg, _ = ig.load_checkpoint(sys.argv[1]); D = D.float().eval()
xs, ys = [], []
for split in ("train", "test"):
    im, lb = ig.load_mnist(ig.DEFAULT_DATA_DIR, split)
    xs.append(ig.to_tanh_range(im, "cpu")); ys.append(np.asarray(lb))
x = torch.cat(xs); y = np.concatenate(ys); ntr = len(xs[0]); N = len(y)
t0 = time.time()
with torch.no_grad():
    h = torch.cat([D.features(x[i:i + 2000]) for i in range(0, N, 2000)])
    p = torch.cat([ig.split_q(D.q(h[i:i + 5000]), cfg)[0][0].softmax(1) for i in range(0, N, 5000)]).numpy()
q = p.argmax(1)
f = torch.nn.functional.normalize(h, dim=1); k = 10
idx = torch.empty(N, k, dtype=torch.long)
for i in range(0, N, 2000):
    s = f[i:i + 2000] @ f.T; s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -2
    idx[i:i + 2000] = s.topk(k, dim=1)[1]
idx = idx.numpy()
W = sp.csr_matrix((np.ones(N * k), (np.repeat(np.arange(N), k), idx.ravel())), shape=(N, N)); W = ((W + W.T) > 0).astype(np.float64)
Dm = sp.diags(1 / np.sqrt(np.asarray(W.sum(1)).ravel()))
vals, vecs = eigsh(Dm @ W @ Dm, k=20, which="LA", tol=1e-6)
order = np.argsort(-vals); vecs = vecs[:, order]
print(f"graph+eig {time.time() - t0:.0f} s", flush=True)

def score(lab, name):
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (lab[ntr:], y[ntr:]), 1)
    acc, largest = ev.q_report(conf); mapping = ev.hungarian(conf)[0]
    two = [c for c, d in mapping.items() if d == 2][0]
    sizes = np.bincount(lab, minlength=10)
    print(f"{name}: acc {acc:.4f}  7s in 2 {conf[two, 7]}  {largest}  sizes {sizes.min()}-{sizes.max()}  moved {(lab != q).mean():.3f}", flush=True)

def match_to_q(lab):  # relabel clusters so they overlap Q's codes most (no labels)
    ov = np.zeros((10, 10)); np.add.at(ov, (lab, q), 1)
    r, c = linear_sum_assignment(-ov); m = dict(zip(r, c)); return np.array([m[v] for v in lab])

def balanced(emb, cent, eps=0.05, it=30):
    for _ in range(it):
        d2 = ((emb ** 2).sum(1)[:, None] - 2 * emb @ cent.T + (cent ** 2).sum(1)[None])
        logK = -d2 / eps; u = np.zeros(N); v = np.zeros(10)
        for _ in range(50):  # Sinkhorn: rows sum 1/N, columns 1/10
            a = logK + v[None]; u = -np.log(N) - (a.max(1) + np.log(np.exp(a - a.max(1, keepdims=True)).sum(1)))
            b = logK + u[:, None]; v = -np.log(10) - (b.max(0) + np.log(np.exp(b - b.max(0, keepdims=True)).sum(0)))
        lab = (logK + v[None]).argmax(1)
        cent = np.stack([emb[lab == c].mean(0) if (lab == c).any() else cent[c] for c in range(10)])
    return lab

score(q, "Q")
for ne in (10, 14):
    emb = vecs[:, :ne] / np.linalg.norm(vecs[:, :ne], axis=1, keepdims=True)
    cq = np.stack([emb[q == c].mean(0) for c in range(10)])
    _, lab = kmeans2(emb, cq, minit="matrix", iter=50); score(lab, f"eig{ne} kmeans from Q")
    for eps in (0.02, 0.1):
        score(balanced(emb, cq, eps), f"eig{ne} balanced eps{eps} from Q")
    best = None
    for s in range(10):
        c, lab = kmeans2(emb, 10, minit="++", iter=50, seed=s)
        dist = ((emb - c[lab]) ** 2).sum()
        if best is None or dist < best[0]: best = (dist, lab, c)
    score(match_to_q(best[1]), f"eig{ne} kmeans best of 10 random, matched to Q")
    score(match_to_q(balanced(emb, best[2], 0.05)), f"eig{ne} balanced from best random, matched to Q")

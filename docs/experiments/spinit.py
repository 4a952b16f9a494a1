"""Scratch: k-means in the spectral embedding of the kNN graph, started from Q's clusters' centroids."""
import sys
import numpy as np, scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from scipy.cluster.vq import kmeans2
sys.path.insert(0, "/work/main"); sys.argv = sys.argv[:1] + sys.argv[1:]
import evaluate as ev
z = np.load(sys.argv[1]); idx, p, y = z["idx"], z["p"], z["y"]; ntr = 60000; N = len(y)
def score(pred, name):
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (pred[ntr:], y[ntr:]), 1)
    acc, _ = ev.q_report(conf); mapping = ev.hungarian(conf)[0]
    two = [c for c, d in mapping.items() if d == 2][0]
    off = conf.copy()
    for c, d in mapping.items(): off[c, d] = 0
    big = sorted(((int(off[c, d]), f"{d}s as {mapping[c]}") for c in range(10) for d in range(10) if off[c, d] >= 30), reverse=True)
    print(f"{name}: acc {acc:.4f}  7s in 2 {conf[two, 7]}  {big}", flush=True)
q = p.argmax(1); score(q, "Q")
for k in (10, 20):
    rows = np.repeat(np.arange(N), k)
    W = sp.csr_matrix((np.ones(N * k), (rows, idx[:, :k].ravel())), shape=(N, N)); W = ((W + W.T) > 0).astype(np.float64)
    deg = np.asarray(W.sum(1)).ravel(); Dm = sp.diags(1 / np.sqrt(deg)); A = Dm @ W @ Dm
    for ne in (10, 16, 24):
        vals, vecs = eigsh(A, k=ne, which="LA", tol=1e-6)
        emb = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        cent = np.stack([emb[q == c].mean(0) for c in range(10)])
        _, lab = kmeans2(emb, cent, minit="matrix", iter=50)
        score(lab, f"k={k} eig={ne} from Q")
        # soft: Q's probabilities as weights for centroids, one assignment step only
        cent2 = (p.T @ emb) / p.sum(0)[:, None]
        lab1 = ((emb[:, None, :] - cent2[None]) ** 2).sum(-1).argmin(1) if N * 10 * ne < 3e8 else None
        if lab1 is not None: score(lab1, f"k={k} eig={ne} one step from Q's soft centroids")

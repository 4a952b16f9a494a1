"""Scratch: label propagation of Q's soft assignments over the kNN graph of D's trunk features.
python lp.py CKPT OUT.npz  (caches features' kNN, Q's probabilities and labels)"""
import sys, os, time
import numpy as np, torch, scipy.sparse as sp
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev

ckpt, cache = sys.argv[1], sys.argv[2]
knn = 10
if not os.path.exists(cache):
    G, D, cfg, _ = ig.load_checkpoint(ckpt)
    xs, ys = [], []
    for split in ("train", "test"):
        im, lb = ig.load_mnist(ig.DEFAULT_DATA_DIR, split)
        xs.append(torch.as_tensor(im).float().div(127.5).sub(1).unsqueeze(1)); ys.append(np.asarray(lb))
    x = torch.cat(xs); y = np.concatenate(ys)
    with torch.no_grad():
        h = torch.cat([D.features(x[i:i + 2000]) for i in range(0, len(x), 2000)])
        p = torch.cat([ig.split_q(D.q(h[i:i + 5000]), cfg)[0][0].softmax(1) for i in range(0, len(h), 5000)]).numpy()
    f = torch.nn.functional.normalize(h, dim=1)
    idx = np.zeros((len(f), 30), np.int64)
    for i in range(0, len(f), 2000):
        s = f[i:i + 2000] @ f.T
        s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -float("inf")
        idx[i:i + 2000] = s.topk(30, dim=1)[1].numpy()
    np.savez(cache, idx=idx, p=p, y=y)
z = np.load(cache); idx, p, y = z["idx"], z["p"], z["y"]; ntr = 60000

def score(pred, name):
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (pred[ntr:], y[ntr:]), 1)
    acc, largest = ev.q_report(conf)
    mapping = ev.hungarian(conf)[0]
    two = [c for c, d in mapping.items() if d == 2][0]
    off = conf.copy()
    for c, d in mapping.items(): off[c, d] = 0
    big = sorted(((off[c, d], f"{d}s as {mapping[c]}") for c in range(10) for d in range(10) if off[c, d] >= 30), reverse=True)
    print(f"{name}: acc {acc:.4f}  7s in 2 {conf[two, 7]}  confusions {big}", flush=True)

score(p.argmax(1), "Q")
N = len(y)
for k in (5, 10, 20, 30):
    rows = np.repeat(np.arange(N), k)
    W = sp.csr_matrix((np.ones(N * k), (rows, idx[:, :k].ravel())), shape=(N, N))
    W = ((W + W.T) > 0).astype(np.float64)
    deg = np.asarray(W.sum(1)).ravel(); Dm = sp.diags(1 / np.sqrt(deg)); S = Dm @ W @ Dm
    for alpha in (0.9, 0.99, 0.999):
        F = p.copy()
        for it in range(200 if alpha < 0.999 else 1000):
            F = alpha * (S @ F) + (1 - alpha) * p
        score(F.argmax(1), f"k={k} alpha={alpha}")

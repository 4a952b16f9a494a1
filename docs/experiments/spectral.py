"""Scratch: does a kNN graph of D's trunk features, cut spectrally, put the crossed 7s with the 7s?
python spectral.py CKPT [K_NN]   (no labels used to cluster; labels only score)"""
import sys, time
import numpy as np, torch, scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from scipy.cluster.vq import kmeans2
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev

ckpt, knn = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
torch.manual_seed(0)
G, D, cfg, _ = ig.load_checkpoint(ckpt)
xs, ys = [], []
for split in ("train", "test"):
    im, lb = ig.load_mnist(ig.DEFAULT_DATA_DIR, split)
    xs.append(torch.as_tensor(im).float().div(127.5).sub(1).unsqueeze(1)); ys.append(np.asarray(lb))
x = torch.cat(xs); y = np.concatenate(ys); ntr = len(xs[0])
t0 = time.time()
with torch.no_grad():
    h = torch.cat([D.features(x[i:i + 2000]) for i in range(0, len(x), 2000)])
    qpred = torch.cat([ig.split_q(D.q(h[i:i + 5000]), cfg)[0][0].argmax(1) for i in range(0, len(h), 5000)]).numpy()
print("features", h.shape, round(time.time() - t0), "s", flush=True)

def score(pred, name):
    conf = np.zeros((10, 10), np.int64)
    np.add.at(conf, (pred[ntr:], y[ntr:]), 1)
    acc, largest = ev.q_report(conf)
    mapping = ev.hungarian(conf)[0]
    two = [c for c, d in mapping.items() if d == 2][0]
    print(f"{name}: test acc {acc:.4f}  7s in the 2-cluster {conf[two, 7]}  largest {largest}", flush=True)
    return conf

score(qpred, "Q")
crossed = np.where((y == 7) & (qpred == np.argmax(np.bincount(qpred[(y == 2)], minlength=10))))[0]
crossed_test = crossed[crossed >= ntr]
for feat_name, f in (("raw", h), ("cos", torch.nn.functional.normalize(h, dim=1))):
    t0 = time.time()
    idx = np.zeros((len(f), knn), np.int64); sims = np.zeros((len(f), knn), np.float32)
    sq = (f * f).sum(1)
    for i in range(0, len(f), 2000):
        s = f[i:i + 2000] @ f.T  # (b, N)
        if feat_name == "raw":
            s = 2 * s - sq[None, :]  # -dist^2 up to a row constant
        s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -float("inf")
        v, j = s.topk(knn, dim=1)
        idx[i:i + 2000], sims[i:i + 2000] = j.numpy(), v.numpy()
    print(feat_name, "knn", round(time.time() - t0), "s", flush=True)
    nb_lab = y[idx]
    print(f"  kNN label agreement: {np.mean(nb_lab == y[:, None]):.4f}; crossed test 7s (Q's 2-cluster, {len(crossed_test)}): "
          f"neighbours 7 {np.mean(nb_lab[crossed_test] == 7):.3f}, 2 {np.mean(nb_lab[crossed_test] == 2):.3f}")
    N = len(f)
    rows = np.repeat(np.arange(N), knn)
    W = sp.csr_matrix((np.ones(N * knn, np.float32), (rows, idx.ravel())), shape=(N, N))
    W = ((W + W.T) > 0).astype(np.float64)
    deg = np.asarray(W.sum(1)).ravel()
    Dm = sp.diags(1 / np.sqrt(deg))
    A = Dm @ W @ Dm
    t0 = time.time()
    vals, vecs = eigsh(A, k=10, which="LA", tol=1e-6)
    print("  eig", round(time.time() - t0), "s", np.round(vals, 4), flush=True)
    emb = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    best = None
    for seed in range(10):
        cent, lab = kmeans2(emb, 10, seed=seed, minit="++")
        inert = ((emb - cent[lab]) ** 2).sum()
        conf = np.zeros((10, 10), np.int64); np.add.at(conf, (lab[ntr:], y[ntr:]), 1)
        acc = ev.hungarian(conf)[1]
        print(f"  kmeans seed {seed}: inertia {inert:.1f} test acc {acc:.4f}", flush=True)
        if best is None or inert < best[0]:
            best = (inert, lab)
    score(best[1], f"  spectral ({feat_name}, k={knn}, lowest inertia)")

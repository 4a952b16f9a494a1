"""Scratch: cluster frozen trunk features with a fresh Q-like head under several objectives."""
import os, sys, math, torch, torch.nn as nn, torch.nn.functional as F, numpy as np
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev
torch.set_num_threads(int(os.environ.get('NT','2')))
d = torch.load(sys.argv[1], weights_only=False)
cfg = d["cfg"]; tr = d["tr"]; te, ytr, yte = d["te"], d["ytr"], d["yte"]
N = len(ytr)

def report(head, tag):
    head.eval()
    with torch.no_grad():
        pred = head(te).argmax(1).numpy()
    head.train()
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (pred, yte.numpy()), 1)
    acc, top = ev.q_report(conf)
    mapping, _ = ev.hungarian(conf)
    inv = {v: k for k, v in mapping.items()}
    s72 = int(conf[inv[2], 7]) if 2 in inv else -1
    print(f"{tag}: q_acc {acc:.4f} 7s-in-2 {s72} top {top['count']} {top['digit']}->{top['as']}", flush=True)
    return acc, s72

if sys.argv[2] == "knn":
    z = F.normalize(tr[0], dim=1); zt = F.normalize(te, dim=1)
    # Q's (checkpoint head) clusters of test
    qh = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, cfg.n_q)); qh.load_state_dict(d["qhead"]); qh.eval()
    with torch.no_grad(): qp = qh(te)[:, :10].argmax(1)
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (qp.numpy(), yte.numpy()), 1)
    mapping, acc = ev.hungarian(conf); inv = {v: k for k, v in mapping.items()}
    print("ckpt Q acc", acc)
    for k in (1, 5, 20, 50):
        sims = zt @ z.T
        idx = sims.topk(k, 1).indices
        lab = ytr[idx]
        maj = lab.mode(1).values
        sevens = yte == 7
        bad = sevens & (qp == inv[2])
        print(f"k={k}: kNN acc {(maj == yte).float().mean():.4f}; test 7s NN-label-7 share {(lab[sevens] == 7).float().mean():.3f}; "
              f"7s in Q's 2-cluster ({bad.sum()}): share of NN labelled 7 {(lab[bad] == 7).float().mean():.3f}, labelled 2 {(lab[bad] == 2).float().mean():.3f}")
    # train-train neighbours (for SCAN pairs): share of same label
    zz = z[:5000]; sims = zz @ z.T; sims[torch.arange(5000), torch.arange(5000)] = -2
    for k in (5, 20):
        idx = sims.topk(k, 1).indices
        print(f"train k={k} neighbour same-label {(ytr[idx] == ytr[:5000, None]).float().mean():.4f}")
    sys.exit()

obj = sys.argv[2]; steps = int(sys.argv[3]); seed = int(sys.argv[4]); m = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
torch.manual_seed(seed)
import os
BS = int(os.environ.get("BS", "128"))
if os.environ.get("LIN"):
    head = nn.Sequential(nn.BatchNorm1d(1024), nn.Linear(1024, 10))
else:
    head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, 10))
OVER = int(os.environ.get("OVER", "0"))
if OVER:
    over = nn.Linear(128, OVER)
    full = head
    class Both(nn.Module):
        def __init__(s):
            super().__init__(); s.h, s.o = head, over
        def forward(s, x):
            t = s.h[:3](x); return torch.cat([s.h[3](t), s.o(t)], 1)
    both = Both()
opt = torch.optim.Adam(list(head.parameters()) + (list(over.parameters()) if OVER else []), 1e-3, betas=(0.5, 0.999))
bcfg = ig.Config(cat=(10,), n_cont=0, bal_marginal=m)
nbr = None
if obj.startswith("scan"):
    kk = int(obj[4:] or 20)
    z = F.normalize(tr[0], dim=1); nbr = torch.empty(N, kk, dtype=torch.long)
    for i in range(0, N, 2000):
        s = z[i:i+2000] @ z.T; s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -2
        nbr[i:i+2000] = s.topk(kk, 1).indices
    print("neighbour same-label", (ytr[nbr] == ytr[:, None]).float().mean().item())

def sinkhorn(logits, eps=0.05, iters=3):
    L = (logits.float() / eps).T  # (K, B) log-domain
    K, B = L.shape
    for _ in range(iters):
        L = L - L.logsumexp(1, keepdim=True) - math.log(K)
        L = L - L.logsumexp(0, keepdim=True) - math.log(B)
    return (L + math.log(B)).exp().T

def balj(j, m=3.0):
    j = ((j + j.T) / 2).clamp_min(1e-12); mg = j.sum(1); K = len(j)
    return (m * (mg * (mg * K).log()).sum() - (j * (j.log() - mg[None].log())).sum()).item()

def merge(both):
    both.eval()
    with torch.no_grad():
        pa = both(tr[1])[:, 10:].softmax(1); pb = both(tr[2])[:, 10:].softmax(1)
        ten = both(tr[1])[:, :10].argmax(1)
        pt = both(te)[:, 10:].argmax(1)
    both.train()
    J = (pa.T @ pb / N).double()
    # start from the 10-way head's majority group of each over-cluster, then random restarts
    hard = pa.argmax(1)
    starts = [torch.tensor([int(ten[hard == o].mode().values) if (hard == o).any() else 0 for o in range(OVER)])]
    g = torch.Generator().manual_seed(0)
    starts += [torch.randint(10, (OVER,), generator=g) for _ in range(30)]
    best = None
    for a in starts:
        a = a.clone()
        A = F.one_hot(a, 10).double(); cur = balj(A.T @ J @ A)
        improved = True
        while improved:
            improved = False
            for o in range(OVER):
                for k in range(10):
                    if k == a[o]: continue
                    old = a[o].item(); a[o] = k; A = F.one_hot(a, 10).double(); v = balj(A.T @ J @ A)
                    if v < cur - 1e-9: cur = v; improved = True
                    else: a[o] = old
        if best is None or cur < best[0]: best = (cur, a.clone())
        p = a[pt].numpy(); conf = np.zeros((10, 10), np.int64); np.add.at(conf, (p, yte.numpy()), 1)
        mapping, acc = ev.hungarian(conf); inv = {v: k for k, v in mapping.items()}
        print(f"  merge start: bal {cur:.4f} acc {acc:.4f} 7s-in-2 {conf[inv[2], 7] if 2 in inv else -1}", flush=True)
    print("best merge bal", best[0])

W = len(tr)
for step in range(steps):
    idx = torch.randint(N, (BS,))
    va, vb = torch.randint(1, W, (2,)).tolist()
    xa = tr[va][idx]
    if nbr is not None:
        j = nbr[idx, torch.randint(nbr.shape[1], (BS,))]
        xb = tr[vb][j]
    else:
        xb = tr[vb][idx]
    if OVER:
        oa, ob = both(torch.cat([xa, xb])).chunk(2)
        la, lb = oa[:, :10], ob[:, :10]
    else:
        la, lb = head(torch.cat([xa, xb])).chunk(2)
    if obj in ("iic",) or obj.startswith("scan"):
        loss = ig.balance_term(la, lb, bcfg)
        if OVER:
            ocfg = ig.Config(cat=(OVER,), n_cont=0, bal_marginal=1.0)
            loss = loss + ig.balance_term(oa[:, 10:], ob[:, 10:], ocfg)
    elif obj == "anneal":  # deterministic annealing: an entropy bonus on each image's Q, decaying to 0
        T = float(os.environ.get("T0", "1.0")) * max(0.0, 1 - step / int(os.environ.get("RAMP", "3000")))
        ent = -(la.softmax(1) * la.log_softmax(1)).sum(1).mean() - (lb.softmax(1) * lb.log_softmax(1)).sum(1).mean()
        loss = ig.balance_term(la, lb, bcfg) - T * ent / 2
    elif obj == "supiic" and step < 1000:
        loss = F.cross_entropy(la, ytr[idx])
    elif obj == "supiic":
        loss = ig.balance_term(la, lb, bcfg)
    elif obj == "sup":  # labels: a measurement of the label partition's objective, never a candidate
        loss = F.cross_entropy(la, ytr[idx])
    elif obj == "sela":
        with torch.no_grad():
            qa, qb = sinkhorn(la.detach()), sinkhorn(lb.detach())
        loss = -(qa * lb.log_softmax(1)).sum(1).mean() - (qb * la.log_softmax(1)).sum(1).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if OVER and step + 1 == steps:
        merge(both)
    if (step + 1) % int(os.environ.get('REP', steps // 2)) == 0:
        head.eval()
        with torch.no_grad():
            pa = head(tr[1]).softmax(1); pb = head(tr[2]).softmax(1)
            j = pa.T @ pb / N; j = ((j + j.T) / 2).clamp_min(1e-12); mg = j.sum(1)
            kl = (mg * (mg * 10).log()).sum(); hc = -(j * (j.log() - mg[None].log())).sum()
            mi = (j * (j.log() - mg[:, None].log() - mg[None].log())).sum()
        head.train()
        report(head, f"{obj} m={m} seed {seed} step {step+1} full: kl {kl:.4f} H(c|c') {hc:.4f} I {mi:.4f} bal {m*kl+hc:.4f}")

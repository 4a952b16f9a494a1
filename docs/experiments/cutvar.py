"""Scratch: which features cut the real digits best? For a checkpoint: Q's own accuracy on the 60k train digits,
then each variant's cut (spectral_cut started from Q's argmax): Hungarian accuracy vs labels, train 7s in the 2-group."""
import sys, time, torch, numpy as np
import torch.nn.functional as F
sys.path.insert(0, "/root/exp30g/pv")
import infogan as ig
from scipy.optimize import linear_sum_assignment
torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train"); data = ig.to_tanh_range(x, "cpu"); y = torch.as_tensor(y).long()
def acc(l):
    m = np.zeros((10, 10)); np.add.at(m, (l.numpy(), y.numpy()), 1); r, c = linear_sum_assignment(-m)
    g2 = int(r[list(c).index(2)]); return round(m[r, c].sum() / len(l), 4), int(((l == g2) & (y == 7)).sum())
for p in sys.argv[1].split(","):
    ck = torch.load(p, weights_only=True); cfg = ig.Config(**ck["config"])
    G, D = ig.build_models(cfg); D.load_state_dict(ck["D"]); D.eval()
    B = 2000
    with torch.no_grad(), ig.autocast(data.device, "bf16"):
        h = torch.cat([D.features(data[i:i+B]) for i in range(0, 60000, B)]).float()
        qh = torch.cat([D.q_head[:3](h[i:i+B]) for i in range(0, 60000, B)]).float()
        ql = torch.cat([D.q_head(h[i:i+B]) for i in range(0, 60000, B)]).float()[:, :10]
        gen = torch.Generator().manual_seed(0)
        tta = h.clone()
        for _ in range(4):
            tta += torch.cat([D.features(ig.warp(data[i:i+B], cfg, gen)) for i in range(0, 60000, B)]).float()
    q = ql.argmax(1)
    print(p, "Q", acc(q), flush=True)
    variants = {"trunk": (h, 10, 14), "trunk_k20": (h, 20, 14), "trunk_e20": (h, 10, 20), "qhid": (qh, 10, 14),
                "tta5": (tta, 10, 14), "trunk+qhid": (torch.cat([F.normalize(h, dim=1), F.normalize(qh, dim=1)], 1), 10, 14)}
    for name in (sys.argv[2].split(",") if len(sys.argv) > 2 else variants):
        f, k, e = variants[name]; t = time.time()
        l = ig.spectral_cut(f, q, 10, knn=k, n_eig=e, sim_dtype=torch.bfloat16)
        print(" ", name, acc(l), f"{time.time()-t:.0f}s", flush=True)

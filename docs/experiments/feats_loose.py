"""Scratch: feats.py for checkpoints of scratch variants with extra heads: D's trunk and Q head only."""
import sys, torch
sys.path.insert(0, "/work/main")
import infogan as ig
torch.set_num_threads(2)
ck = torch.load(sys.argv[1], weights_only=True, map_location="cpu")
cfg = ig.Config(**{k: v for k, v in ck["config"].items()})
G, D = ig.build_models(cfg)
D.load_state_dict({k: v for k, v in ck["D"].items() if not k.startswith("over")}, strict=True)
D = D.float()  # train-mode BatchNorm, as feats.py
xtr, ytr = ig.load_mnist(cfg.data_dir, "train"); xte, yte = ig.load_mnist(cfg.data_dir, "test")
xtr, xte = ig.to_tanh_range(xtr, "cpu"), ig.to_tanh_range(xte, "cpu")
g = torch.Generator().manual_seed(0)
@torch.no_grad()
def f(x, w):
    return torch.cat([D.features(ig.warp(x[i:i+2000], cfg, g) if w else x[i:i+2000]) for i in range(0, len(x), 2000)])
res = dict(tr=[f(xtr, False)] + [f(xtr, True) for _ in range(4)], te=f(xte, False), ytr=torch.as_tensor(ytr), yte=torch.as_tensor(yte),
           qhead=D.q_head.state_dict(), cfg=cfg)
torch.save(res, sys.argv[2]); print("saved")

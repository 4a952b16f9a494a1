# Scratch, the frozen-trunk clustering testbed: D-trunk features of MNIST from a checkpoint.
# usage: python feats.py CKPT OUT.pt [WARPS]
"""Scratch: D-trunk features of MNIST (train unwarped + W warps, test unwarped) from a checkpoint."""
import sys, torch
sys.path.insert(0, "/work/main")
import infogan as ig
torch.set_num_threads(1)
ckpt_path, out, W = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 4
G, D, cfg, ck = ig.load_checkpoint(ckpt_path)
D = D.float()
xtr, ytr = ig.load_mnist(cfg.data_dir, "train"); xte, yte = ig.load_mnist(cfg.data_dir, "test")
xtr, xte = ig.to_tanh_range(xtr, "cpu"), ig.to_tanh_range(xte, "cpu")
g = torch.Generator().manual_seed(0)
@torch.no_grad()
def f(x, w):
    return torch.cat([D.features(ig.warp(x[i:i+2000], cfg, g) if w else x[i:i+2000]) for i in range(0, len(x), 2000)])
res = dict(tr=[f(xtr, False)] + [f(xtr, True) for _ in range(W)], te=f(xte, False), ytr=torch.as_tensor(ytr), yte=torch.as_tensor(yte),
           qhead=D.q_head.state_dict(), cfg=cfg)
torch.save(res, out)
print("saved", out)

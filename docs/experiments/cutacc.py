"""Scratch: how pure is the cut (Hungarian accuracy of its groups of the 60,000 training digits against
the labels, a measurement) when D reads them with its own BatchNorm statistics or with those of warped
real images? Also Q's own clusters of them. Usage: python cutacc.py CKPT"""
import sys, copy, time, numpy as np, torch, torch.nn as nn
sys.path.insert(0, "/work/main"); 
import infogan as ig, evaluate as ev
G, D, cfg, ck = ig.load_checkpoint(sys.argv[1])
x, y = ig.load_mnist(cfg.data_dir, "train"); data = ig.to_tanh_range(x, torch.device("cpu")); y = np.asarray(y)
@torch.no_grad()
def refreshed(D, n_batches=20, bs=256):
    D = copy.deepcopy(D)
    for m in D.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats(); m.momentum = None
    D.train(); g = torch.Generator().manual_seed(0)
    for _ in range(n_batches):
        D.q(D.features(ig.warp(data[torch.randint(len(data), (bs,), generator=g)], cfg, g)))
    return D.eval()
def acc(lab):
    lab = np.asarray(lab); conf = np.zeros((10, 10)); np.add.at(conf, (lab, y), 1)
    return round(ev.hungarian(conf)[1], 4)
for name, d in (("D", D), ("D_realBN", refreshed(D))):
    t = time.time(); lab, moved = ig.cut_labels(d, data, cfg, "fp32")
    d.eval()
    with torch.no_grad():
        q = torch.cat([d.q(d.features(data[i:i+2000])) for i in range(0, len(data), 2000)])
    qi = ig.split_q(q, cfg)[0][0].argmax(1)
    print(name, "cut acc", acc(lab), "Q acc (train)", acc(qi), "moved", round(moved, 4), round(time.time()-t), "s", flush=True)

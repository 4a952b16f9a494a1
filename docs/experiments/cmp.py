"""Scratch: the cut from Q's start vs the checkpoint's cut (prev start): agreement, train 7s in the 2-group."""
import sys, torch
sys.path.insert(0, "/root/exp30g/pv")
import infogan as ig
torch.set_num_threads(1)
prev_ck, ck = sys.argv[1], sys.argv[2]
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train"); data = ig.to_tanh_range(x, "cpu"); y = torch.as_tensor(y)
c = torch.load(prev_ck, weights_only=True); cfg = ig.Config(**c["config"])
G, D = ig.build_models(cfg); D.load_state_dict(c["D"])
lq, _ = ig.cut_labels(D, data, cfg, "bf16")
lp = torch.load(ck, weights_only=True)["cut"].long()
lo = c["cut"].long()
def sevens(l):
    g2 = torch.mode(l[y == 2]).values; return int(((l == g2) & (y == 7)).sum()), int(((l == g2)).sum())
def acc(l):
    from scipy.optimize import linear_sum_assignment
    import numpy as np
    m = np.zeros((10, 10)); np.add.at(m, (l.numpy(), y.numpy()), 1); r, cc = linear_sum_assignment(-m); return m[r, cc].sum() / len(l)
print("old cut", sevens(lo), round(acc(lo), 4), "| from Q", sevens(lq), round(acc(lq), 4), "| prev", sevens(lp), round(acc(lp), 4), "| Q-vs-prev agree", float((lq == lp).float().mean()))

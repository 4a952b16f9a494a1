# Scratch: spherical k-means on feats.py output. usage: python km.py FEATS.pt
import sys, torch, torch.nn.functional as F, numpy as np
sys.path.insert(0, "/work/main"); import evaluate as ev
torch.set_num_threads(1)
d = torch.load(sys.argv[1], weights_only=False)
z = F.normalize(d["tr"][0], dim=1); zt = F.normalize(d["te"], dim=1); yte = d["yte"]
for seed in range(6):
    g = torch.Generator().manual_seed(seed)
    c = z[torch.randperm(len(z), generator=g)[:10]].clone()
    for it in range(60):
        a = (z @ c.T).argmax(1)
        for k in range(10):
            if (a == k).any(): c[k] = F.normalize(z[a == k].mean(0), dim=0)
    inertia = (z @ c.T).max(1).values.mean().item()
    p = (zt @ c.T).argmax(1).numpy()
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (p, yte.numpy()), 1)
    mapping, acc = ev.hungarian(conf); inv = {v: k for k, v in mapping.items()}
    print(f"kmeans seed {seed}: mean cos {inertia:.4f} acc {acc:.4f} 7s-in-2 {conf[inv[2], 7]}", flush=True)

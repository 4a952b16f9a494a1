# Scratch: a head trained only by CE on G_ema fakes. usage: python fakes.py CKPT FEATS.pt
"""Scratch: a head trained only by CE on G_ema's (warped) fakes' trunk features; where do real 7s go?"""
import sys, torch, torch.nn as nn, torch.nn.functional as F, numpy as np
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev
torch.set_num_threads(1)
G, D, cfg, ck = ig.load_checkpoint(sys.argv[1]); G, D = G.float(), D.float()
d = torch.load(sys.argv[2], weights_only=False); te, yte = d["te"], d["yte"]
g = torch.Generator().manual_seed(1)
H, C = [], []
with torch.no_grad():
    for i in range(30):
        lat, cat, cont = ig.sample_latent(2000, cfg, generator=g)
        H.append(D.features(ig.warp(G(lat), cfg, g))); C.append(cat[:, 0])
    # the checkpoint's own head on the same fakes / real test
H, C = torch.cat(H), torch.cat(C)
def rep(head, tag):
    head.eval()
    with torch.no_grad(): p = head(te)[:, :10].argmax(1).numpy()
    head.train()
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (p, yte.numpy()), 1)
    mapping, acc = ev.hungarian(conf); inv = {v: k for k, v in mapping.items()}
    print(f"{tag}: q_acc {acc:.4f} 7s-in-2 {conf[inv[2], 7]} top {ev.q_report(conf)[1]}", flush=True)
rep(D.q_head, "checkpoint head")
for seed in range(3):
    torch.manual_seed(seed)
    head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, 10))
    opt = torch.optim.Adam(head.parameters(), 1e-3, betas=(0.5, 0.999))
    for step in range(3000):
        idx = torch.randint(len(C), (128,))
        loss = F.cross_entropy(head(H[idx]), C[idx]); opt.zero_grad(); loss.backward(); opt.step()
    rep(head, f"fake-CE head seed {seed} loss {loss.item():.3f}")

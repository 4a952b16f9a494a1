"""Scratch: D's trunk and Q's head trained by the balance term alone (no GAN), two warps of real digits;
q_accuracy on the 10,000 test digits every REP steps. Does a trunk trained for clustering escape 7+2?"""
import os, sys, time, torch, numpy as np
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev
torch.set_num_threads(1)
seed, steps = int(sys.argv[1]), int(sys.argv[2])
REP, LR, BS = int(os.environ.get("REP", "1000")), float(os.environ.get("LR", "2e-4")), int(os.environ.get("BS", "128"))
torch.manual_seed(seed)
cfg = ig.Config(n_cont=0, rotate=float(os.environ.get("ROT", "20")), zoom=float(os.environ.get("ZOOM", "0.2")), shift=int(os.environ.get("SHIFT", "2")))
G, D = ig.build_models(cfg); del G
opt = torch.optim.Adam([*D.trunk.parameters(), *D.q_head.parameters()], lr=LR, betas=(0.5, 0.999))
xtr, _ = ig.load_mnist(cfg.data_dir, "train"); xte, yte = ig.load_mnist(cfg.data_dir, "test")
xtr, xte = ig.to_tanh_range(xtr, "cpu"), ig.to_tanh_range(xte, "cpu")
gen = torch.Generator().manual_seed(seed)
t0 = time.time()
for step in range(1, steps + 1):
    idx = torch.randint(len(xtr), (BS,), generator=gen)
    x = xtr[idx]
    with torch.autocast("cpu", torch.bfloat16):
        qa, qb = D.q(D.features(torch.cat([ig.warp(x, cfg, gen), ig.warp(x, cfg, gen)]))).chunk(2)
    loss = ig.balance_term(qa, qb, cfg)
    opt.zero_grad(); loss.backward(); opt.step()
    if step % REP == 0:
        D.eval()
        with torch.no_grad():
            conf = ev.q_confusion(D, cfg, xte, yte)
        D.train()
        m, acc = ev.hungarian(conf); inv = {d: c for c, d in m.items()}
        print(f"seed {seed} step {step} loss {loss.item():.3f} q_acc {acc:.4f} 7s-in-2 {int(conf[inv[2], 7])} "
              f"top {ev.q_report(conf)} {time.time() - t0:.0f}s", flush=True)

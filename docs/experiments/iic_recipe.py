"""Scratch: D's trunk and Q-like heads trained by IIC's MNIST recipe alone (no GAN): tf1 = 20-px
crop (random or centre) resized, tf2 = rotation +-25 deg (p 0.5), random crop of 16/20/24 px resized,
brightness/contrast jitter 0.4; REPS tf2 views per tf1 view; SUB 10-way sub-heads; an OVER-way
over-clustering head alternated (10-way for 2*ALT steps, OVER-way for ALT); loss m*KL + H(c|c')
(M=1: IIC's ln K - I). Scored on test digits through tf3 (centre 20-px crop resized) and raw."""
import os, sys, time, math, torch, numpy as np, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import infogan as ig, evaluate as ev
torch.set_num_threads(int(os.environ.get("NT", "1")))
seed, steps = int(sys.argv[1]), int(sys.argv[2])
E = lambda k, d: type(d)(os.environ.get(k, d))
REP, LR, BS, REPS, SUB, OVER, ALT, M = E("REP", 250), E("LR", 1e-4), E("BS", 128), E("REPS", 5), E("SUB", 5), E("OVER", 50), E("ALT", 100), E("M", 1.0)
VIEWS = E("VIEWS", "iic")
ROT0 = E("ROT0", 0)  # steps without rotation first (ours views)
torch.manual_seed(seed)
cfg = ig.Config(n_cont=0)
G, D = ig.build_models(cfg); del G
head = lambda k: nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, k))
heads_b = nn.ModuleList([head(10) for _ in range(SUB)])
head_a = nn.ModuleList([head(OVER) for _ in range(SUB)]) if OVER else None
params = [*D.trunk.parameters(), *heads_b.parameters(), *(head_a.parameters() if OVER else [])]
opt = torch.optim.Adam(params, lr=LR)
xtr, _ = ig.load_mnist(cfg.data_dir, "train"); xte, yte = ig.load_mnist(cfg.data_dir, "test")
xtr, xte = ig.to_tanh_range(xtr, "cpu"), ig.to_tanh_range(xte, "cpu")
gen = torch.Generator().manual_seed(seed)

def crop_view(x, sizes, rot, centre_p, jitter):
    """Crop of a size from `sizes` px at a random place (or the centre with prob centre_p), resized to 28,
    after a rotation by up to `rot` deg with prob 0.5; brightness/contrast jitter 0.4 if `jitter`."""
    B = len(x)
    u = torch.rand(B, 6, generator=gen)
    s = torch.tensor(sizes, dtype=torch.float32)[torch.randint(len(sizes), (B,), generator=gen)]
    off = 28 - s  # room for the crop's corner
    ox, oy = u[:, 0] * off, u[:, 1] * off
    centre = u[:, 2] < centre_p
    ox, oy = torch.where(centre, off / 2, ox), torch.where(centre, off / 2, oy)
    cx, cy = (ox + s / 2) / 14 - 1, (oy + s / 2) / 14 - 1  # crop centre, normalised
    ang = torch.where(u[:, 3] < 0.5, (u[:, 4] * 2 - 1) * math.radians(rot), torch.zeros(B))
    k = s / 28
    cos, sin = torch.cos(ang), torch.sin(ang)
    # output (crop) coords -> input: rotate the crop's sampling grid about its centre
    theta = torch.stack([torch.stack([k * cos, -k * sin, cx], 1), torch.stack([k * sin, k * cos, cy], 1)], 1)
    grid = F.affine_grid(theta, [B, 1, 28, 28], align_corners=False)
    y = F.grid_sample(x + 1, grid, align_corners=False) / 2  # [0, 1]
    if jitter:
        b = 1 + (torch.rand(B, 1, 1, 1, generator=gen) * 2 - 1) * 0.4
        c = 1 + (torch.rand(B, 1, 1, 1, generator=gen) * 2 - 1) * 0.4
        y = (y * b).clamp(0, 1)
        m = y.mean((1, 2, 3), keepdim=True)
        y = ((y - m) * c + m).clamp(0, 1)
    return y * 2 - 1

def views(x):
    if VIEWS == "iic":
        v1 = crop_view(x, [20], 0, 0.5, False)
        v2 = crop_view(x.repeat(REPS, 1, 1, 1), [16, 20, 24], 25, 0.0, True)
    elif VIEWS == "mix":  # ours, but half the pairs (both views) without rotation
        c0 = ig.replace(cfg, rotate=0.0)
        flat = (torch.rand(len(x), generator=gen) < 0.5)[:, None, None, None]
        v1 = torch.where(flat, ig.warp(x, c0, gen), ig.warp(x, cfg, gen))
        xr, fr = x.repeat(REPS, 1, 1, 1), flat.repeat(REPS, 1, 1, 1)
        v2 = torch.where(fr, ig.warp(xr, c0, gen), ig.warp(xr, cfg, gen))
    else:  # ours: two of infogan.warp
        c = ig.replace(cfg, rotate=0.0) if step <= ROT0 else cfg
        v1 = ig.warp(x, c, gen)
        v2 = ig.warp(x.repeat(REPS, 1, 1, 1), c, gen)
    return v1, v2

def loss_fn(la, lb):
    pa, pb = la.softmax(1), lb.softmax(1)
    K = pa.shape[1]
    joint = pa.T @ pb / len(pa)
    joint = ((joint + joint.T) / 2).clamp_min(1e-12)
    marg = joint.sum(1)
    kl = (marg * (marg * K).log()).sum()
    hc = -(joint * (joint.log() - marg[None, :].log())).sum()
    return M * kl + hc

tf3 = lambda x: crop_view(x, [20], 0, 1.0, False) if VIEWS == "iic" else x
t0 = time.time()
for step in range(1, steps + 1):
    if step == steps: torch.save({'D': D.state_dict(), 'heads_b': heads_b.state_dict()}, f'trunk_{VIEWS}_s{seed}.pt')
    idx = torch.randint(len(xtr), (BS,), generator=gen)
    v1, v2 = views(xtr[idx])
    h = D.features(torch.cat([v1, v2]))
    h1, h2 = h[:BS].repeat(REPS, 1), h[BS:]
    use_a = OVER and (step - 1) % (3 * ALT) >= 2 * ALT
    hs = head_a if use_a else heads_b
    losses = [loss_fn(hd(torch.cat([h1, h2]))[: len(h1)], hd(torch.cat([h1, h2]))[len(h1):]) for hd in hs]
    loss = sum(losses) / len(losses)
    opt.zero_grad(); loss.backward(); opt.step()
    if step % REP == 0:
        D.eval(); heads_b.eval()
        out = []
        with torch.no_grad():
            for name, xs in (("tf3", tf3(xte)), ("raw", xte)):
                f = torch.cat([D.features(xs[i:i + 2000]) for i in range(0, len(xs), 2000)])
                for j, hd in enumerate(heads_b):
                    p = hd(f).argmax(1).numpy()
                    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (p, yte.numpy() if torch.is_tensor(yte) else yte), 1)
                    mp, acc = ev.hungarian(conf); inv = {d: c for c, d in mp.items()}
                    r = ev.q_report(conf)["largest"] if isinstance(ev.q_report(conf), dict) else ev.q_report(conf)
                    lg = ev.q_report(conf)[1]
                    out.append(f"{name}{j} {acc:.4f}/{int(conf[inv[2], 7])}/{lg['count']}x{lg['digit']}as{lg['as']}")
        D.train(); heads_b.train()
        print(f"seed {seed} step {step} loss {loss.item():.3f} " + " ".join(out) + f" {time.time() - t0:.0f}s", flush=True)

"""Scratch: does a running average of D's weights (trunk + Q's head) give purer Q clusters on real test
digits than D itself? Trains the default run (the hook does not touch training's RNG) and scores Q
every `every` steps: raw D (its own BN statistics), raw D with BN refreshed on warped real images, and
D_ema at several decays (BN refreshed the same way)."""
import copy, json, sys, time
from pathlib import Path
import torch, torch.nn as nn
sys.path.insert(0, "/work/main")
import infogan as ig, evaluate as ev

seed, epochs, every = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = Path(sys.argv[4])
decays = (0.99,)  # 0.999 lagged the cuts; an average restarted on resume needs a short horizon
cfg = ig.Config(seed=seed, epochs=epochs)
x_test, y_test = ig.load_mnist(cfg.data_dir, "test")
x_test = ig.to_tanh_range(x_test, torch.device("cpu"))
x_train = ig.to_tanh_range(ig.load_mnist(cfg.data_dir, "train")[0], torch.device("cpu"))
emas = {}

@torch.no_grad()
def refreshed(D, n_batches=20, bs=256):
    D = copy.deepcopy(D)
    bns = [m for m in D.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats(); m.momentum = None
    D.train()
    g = torch.Generator().manual_seed(0)
    for _ in range(n_batches):
        x = x_train[torch.randint(len(x_train), (bs,), generator=g)]
        D.q(D.features(ig.warp(x, cfg, g)))
    return D.eval()

@torch.no_grad()
def score(D):
    was = D.training; D.eval()
    acc, big = ev.q_report(ev.q_confusion(D, cfg, x_test, y_test))
    D.train(was)
    return acc, f"{big['count']} {big['digit']}s as {big['as']}s"

def hook(step, G, D, G_ema):
    with torch.no_grad():
        for b in decays:
            if b not in emas:
                emas[b] = copy.deepcopy(D)
            else:
                torch._foreach_lerp_(list(emas[b].parameters()), list(D.parameters()), 1 - b)
    if step % every == 0:
        t = time.time()
        row = {"step": step, "raw": score(D), "raw_bn": score(refreshed(D))}
        for b in decays:
            row[f"ema{b}"] = score(refreshed(emas[b]))
        row["s"] = round(time.time() - t, 1)
        with open(out / "qema.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

out.mkdir(parents=True, exist_ok=True)
ckpt = None
if (out / "ckpt.pt").exists():  # resume: the averages restart from D here (β 0.99: ~100 steps to forget)
    from dataclasses import replace
    cfg, ckpt = ig.read_checkpoint(out / "ckpt.pt")
    cfg = replace(cfg, epochs=epochs)
ig.train(cfg, out, ckpt=ckpt, hook=hook, progress=False)

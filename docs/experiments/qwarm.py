"""Scratch: Q's clustering of the 10k test digits right after the IIC warm-up (before any GAN step)."""
import json, sys
import numpy as np, torch
import infogan as ig, evaluate as ev
torch.set_num_threads(1)
x, y = ig.load_mnist(ig.DEFAULT_DATA_DIR, "test"); x = ig.to_tanh_range(x, "cpu")
cfg = ig.Config()
for path in sys.argv[1:]:
    D = ig.Discriminator(cfg.n_q); D.load_state_dict(torch.load(path, weights_only=True)["D"]); D.eval()
    with torch.no_grad():
        pred = torch.cat([ig.split_q(D.q(D.features(x[i:i+1000])), cfg)[0][0].argmax(1) for i in range(0, 10000, 1000)]).numpy()
    conf = np.zeros((10, 10), np.int64); np.add.at(conf, (pred, y), 1)
    m, acc = ev.hungarian(conf); inv = {d: c for c, d in m.items()}
    off = sorted(((int(conf[c, d]), f"{d}->{m[c]}") for c in range(10) for d in range(10) if m[c] != d), reverse=True)[:4]
    print(json.dumps({"warmD": path, "q_acc": round(acc, 4), "7_in_2": int(conf[inv[2], 7]), "top_conf": off}))

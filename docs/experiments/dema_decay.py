"""Scratch measurement: Q read from running averages of D at other decays than ema_d = 0.99. Goes on with a
turned run from a checkpoint (training exactly as `--resume`: D_ema is never trained on), keeping extra
averages of D (each started from the checkpoint's D_ema), then scores `q_accuracy` of each at the end as
evaluate.py does (real-image BatchNorm statistics, the test digits).
Usage: python docs/experiments/dema_decay.py IN.pt OUT_DIR EPOCHS [0.99,0.995,0.998,0.999]"""

import copy
import json
import os
import sys
from dataclasses import replace

import torch

sys.path[:0] = [os.environ.get("IGPATH", "."), os.path.dirname(__file__)]
from qvcut import landed  # noqa: E402

import evaluate as ev  # noqa: E402
import infogan as ig  # noqa: E402

TMP = os.path.join(sys.argv[2] + ".in.pt")
torch.save(landed(sys.argv[1]), TMP)
cfg, ck = ig.read_checkpoint(TMP)
cfg = replace(cfg, epochs=int(sys.argv[3]))
decays = [float(d) for d in (sys.argv[4] if len(sys.argv) > 4 else "0.99,0.995,0.998,0.999").split(",")]
_, D_ema0, _, _ = ig.load_checkpoint(TMP)
avgs = {d: copy.deepcopy(D_ema0).train() for d in decays}


def hook(step, G, D, G_ema):
    for d, avg in avgs.items():
        ig.ema_update(avg, D, d, step)


ig.train(cfg, sys.argv[2], ck, hook=hook, progress=False)
data = ig.to_tanh_range(ig.load_mnist(cfg.data_dir, "train")[0], "cpu")
x_test, y_test = ig.load_mnist(cfg.data_dir, "test")
x_test = ig.to_tanh_range(x_test, "cpu")
_, D_saved, _, _ = ig.load_checkpoint(os.path.join(sys.argv[2], "ckpt.pt"))
out = {"saved D_ema": ev.q_report(ev.q_confusion(D_saved, cfg, x_test, y_test))}
with torch.no_grad():
    for d, avg in avgs.items():
        out[d] = ev.q_report(ev.q_confusion(ig.refresh_bn_real(avg, data, cfg), cfg, x_test, y_test))
print(json.dumps({str(k): v for k, v in out.items()}), flush=True)

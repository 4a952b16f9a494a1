"""Scratch: a product checkpoint from the scratch run's epoch-E checkpoint, with the cut the scratch made at the
start of epoch E (from epoch E-1's D): SRC_DIR E OUT"""
import sys, torch
sys.path.insert(0, "/root/exp30g/pv")
import infogan as ig
torch.set_num_threads(1)
src, e, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
prev = torch.load(f"{src}/ckpt_e{e-1}.pt", weights_only=True)
cfg = ig.Config(**{**prev["config"], **ig.BEFORE_CUT, "lambda_cut": 1.0})
G, D = ig.build_models(cfg)
D.load_state_dict(prev["D"])
data = ig.to_tanh_range(ig.load_mnist(ig.DEFAULT_DATA_DIR, "train")[0], "cpu")
labels, moved = ig.cut_labels(D, data, cfg, "bf16")
print("moved", moved)
ck = torch.load(f"{src}/ckpt_e{e}.pt", weights_only=True)
ck["config"] = {**ck["config"], **ig.BEFORE_CUT, "lambda_cut": 1.0}
ck["cut"] = labels.to(torch.int16)
ck["format"] = ig.CKPT_FORMAT
import os; os.makedirs(out, exist_ok=True)
torch.save(ck, f"{out}/ckpt.pt")

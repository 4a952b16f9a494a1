"""Scratch: the product's cut_labels against the measured scratch spectral_cut on one checkpoint."""
import sys, importlib.util, time, torch
torch.set_num_threads(1)
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m
prod = load("prod", "/work/main/infogan.py")
scr = load("scr", "/root/exp30f/gan/infogan.py")
ck = torch.load(sys.argv[1], weights_only=True)
cfg = prod.Config(**ck["config"])
_, D = prod.build_models(cfg); D.load_state_dict(ck["D"]); D.train()
data = prod.to_tanh_range(prod.load_mnist(prod.DEFAULT_DATA_DIR, "train")[0], "cpu")
t = time.perf_counter(); a, moved = prod.cut_labels(D, data, cfg, "bf16"); print("prod", time.perf_counter() - t, moved)
scfg = scr.Config(**ck["config"])
b = scr.spectral_cut(D, data, scfg)
print("agree", (a == b).float().mean().item(), a.bincount().tolist(), b.bincount().tolist())

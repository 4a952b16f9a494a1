"""Tests of infogan.py: networks, codes, losses, checkpoints, resume, determinism, CLI errors."""
import copy
import gzip
import hashlib
import json
import math
import os
import signal
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

import infogan as ig
from conftest import ROOT

BASE = dict(n_noise=62, noise="normal", noise_scale=1.0, cat=[10], n_cont=2, learn_std=False, img_size=28, channels=1)
CONFIGS = {
    "paper": BASE,
    "no_cont": {**BASE, "n_cont": 0},
    "two_cats": {**BASE, "cat": [10, 10]},
    "learn_std": {**BASE, "n_cont": 3, "learn_std": True},
    "no_cat": {**BASE, "cat": []},
}


@pytest.mark.parametrize("name", CONFIGS)
def test_network_shapes(name):
    cfg = CONFIGS[name]
    G, D = ig.build_models(cfg)
    latent, cat_idx, cont = ig.sample_latent(8, cfg)
    assert latent.shape == (8, cfg["n_noise"] + sum(cfg["cat"]) + cfg["n_cont"])
    x = G(latent)
    assert x.shape == (8, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1  # tanh range
    logit, q = D(x)
    assert logit.shape == (8,)
    assert q.shape == (8, ig.q_dim(cfg))
    cat_logits, mu, log_std = ig.split_q(q, cfg)
    assert [t.shape[1] for t in cat_logits] == cfg["cat"]
    assert mu.shape == log_std.shape == (8, cfg["n_cont"])


def test_image_size_is_a_parameter():
    G = ig.Generator(20, img_size=32, channels=3)
    D = ig.Discriminator(5, img_size=32, channels=3)
    x = G(torch.randn(4, 20))
    assert x.shape == (4, 3, 32, 32)
    assert D(x)[1].shape == (4, 5)


@pytest.mark.parametrize("cats", [[10], [10, 10], [3]])
def test_categorical_info_loss_at_init_is_ln_k(cats):
    """A fresh Q knows nothing, so its cross-entropy is about H(c) = Σ ln K: MI estimate ≈ 0."""
    torch.manual_seed(0)
    cfg = {**BASE, "cat": cats}
    G, D = ig.build_models(cfg)
    latent, cat_idx, cont = ig.sample_latent(512, cfg)
    ce, nll = ig.info_terms(D(G(latent))[1], cat_idx, cont, cfg)
    assert ce.item() == pytest.approx(ig.entropy_cat(cfg), abs=0.1 * len(cats))
    # fixed σ = 1: NLL = ½ ln 2π + E[(c-μ)²]/2 per code; E[(c-μ)²] ≥ Var(c) = 1/3 for c ~ U(-1, 1)
    # when μ ignores c, and a fresh head's small random μ adds only a little to it
    floor = cfg["n_cont"] * (0.5 * math.log(2 * math.pi) + 1 / 6)
    assert floor - 0.05 < nll.item() < floor + 0.25 * cfg["n_cont"]


def test_info_terms_reward_a_correct_q():
    cfg = BASE
    cat_idx = torch.tensor([[3], [7]])
    cont = torch.tensor([[0.5, -0.5], [0.1, 0.2]])
    perfect = torch.cat([torch.nn.functional.one_hot(cat_idx[:, 0], 10) * 50.0, cont], 1)
    ce, nll = ig.info_terms(perfect, cat_idx, cont, cfg)
    assert ce.item() < 1e-6
    assert nll.item() == pytest.approx(2 * 0.5 * math.log(2 * math.pi))


def test_balance_term_is_kl_of_q_mean_posterior_from_the_prior():
    cfg = {**BASE, "cat": [10, 4], "bal_entropy": 0.0, "bal_marginal": 1.0}
    eye = lambda k: torch.eye(k).repeat(2, 1) * 50.0  # noqa: E731  confident, each value twice
    even = torch.cat([eye(10), eye(4).repeat(5, 1)[:20], torch.zeros(20, 2)], 1)  # (20, 16)
    assert ig.balance_term(even, cfg).item() < 1e-6  # Q's mean posterior is P(c) for both codes
    one = even.clone()
    one[:, :10] = 0
    one[:, 3] = 50.0  # every real image sent to value 3 of the first code
    assert ig.balance_term(one, cfg).item() == pytest.approx(math.log(10), abs=1e-4)
    two = even.clone()
    two[:, :10] = torch.eye(10)[list(range(5)) * 4] * 50.0  # values 0-4 get 2/10 of the images each
    assert ig.balance_term(two, cfg).item() == pytest.approx(math.log(2), abs=1e-4)


def test_balance_entropy_part_penalises_hedging_not_confident_even_posteriors():
    cfg = {**BASE, "cat": [10, 4], "bal_entropy": 1.0, "bal_marginal": 1.0}
    eye = lambda k: torch.eye(k).repeat(2, 1) * 50.0  # noqa: E731  confident, each value twice
    even = torch.cat([eye(10), eye(4).repeat(5, 1)[:20], torch.zeros(20, 2)], 1)  # (20, 16)
    assert ig.balance_term(even, cfg).item() < 1e-6  # ln K - I_Q(c; x) = 0: confident and even
    flat = torch.zeros(20, 16)  # Q says "uniform" for every image: even shares, but no information
    assert ig.balance_term(flat, cfg).item() == pytest.approx(math.log(10) + math.log(4), abs=1e-4)
    assert ig.balance_term(flat, {**cfg, "bal_entropy": 0.0}).item() < 1e-6  # the KL alone misses it
    hedge = even.clone()  # every image split half/half between two values of the first code
    hedge[:, :10] = (torch.eye(10)[list(range(10)) * 2] + torch.eye(10)[[(i + 1) % 10 for i in range(10)] * 2]) * 50.0
    assert ig.balance_term(hedge, cfg).item() == pytest.approx(math.log(2), abs=1e-4)
    assert ig.balance_term(hedge, {**cfg, "bal_entropy": 0.5}).item() == pytest.approx(0.5 * math.log(2), abs=1e-4)


def test_balance_pairs_is_ln_k_minus_mutual_information_of_two_warps():
    cfg = {**BASE, "cat": [10], "bal_entropy": 0.0, "bal_marginal": 1.0}
    conf = torch.cat([torch.eye(10).repeat(3, 1) * 50.0, torch.zeros(30, 2)], 1)  # (30, 12) confident, even
    assert ig.balance_term(conf, cfg, conf).item() < 1e-5  # both warps agree: I(c; c') = ln K
    flat = torch.zeros(30, 12)
    assert ig.balance_term(flat, cfg, flat).item() == pytest.approx(math.log(10), abs=1e-4)  # I = 0
    # the second warp always lands one value up: c' = c + 1, so the symmetrised joint is spread
    # over the pairs (c, c ± 1) and I(c; c') = ln 10 - ln 2
    shifted = torch.cat([torch.eye(10)[[(i + 1) % 10 for i in range(10)] * 3] * 50.0, torch.zeros(30, 2)], 1)
    assert ig.balance_term(conf, cfg, shifted).item() == pytest.approx(math.log(2), abs=1e-4)
    assert ig.balance_term(conf, cfg).item() < 1e-5  # without a pair: the one-warp KL, also 0 here


def test_balance_marginal_weight_scales_only_the_uneven_share_part():
    cfg = {**BASE, "cat": [10], "bal_entropy": 0.0, "bal_marginal": 3.0}
    # both warps agree, but values 0-4 get 2/10 of the images each: H(c | c') = 0, KL = ln 2
    two = torch.cat([torch.eye(10)[list(range(5)) * 6] * 50.0, torch.zeros(30, 2)], 1)
    assert ig.balance_term(two, cfg, two).item() == pytest.approx(3 * math.log(2), abs=1e-4)
    assert ig.balance_term(two, cfg).item() == pytest.approx(3 * math.log(2), abs=1e-4)  # one warp: 3 · KL
    # even shares, but the second warp lands one value up: KL = 0, H(c | c') = ln 2, unscaled
    conf = torch.cat([torch.eye(10).repeat(3, 1) * 50.0, torch.zeros(30, 2)], 1)
    shifted = torch.cat([torch.eye(10)[[(i + 1) % 10 for i in range(10)] * 3] * 50.0, torch.zeros(30, 2)], 1)
    assert ig.balance_term(conf, cfg, shifted).item() == pytest.approx(math.log(2), abs=1e-4)


def one_step_with_and_without_balance(cfg):
    """One train_step from the same state with λ_bal = 0 and 1: {λ: (bal, G state, D state)}."""
    x = ig.to_tanh_range(ig.load_mnist(split="test")[0][:64], "cpu")
    after = {}
    for lam in (0.0, 1.0):
        torch.manual_seed(0)
        G, D = ig.build_models(cfg)
        opt_g, opt_d = ig.make_optimizers(G, D, cfg)
        out = ig.train_step(G, D, opt_g, opt_d, x, {**cfg, "lambda_bal": lam}, torch.Generator().manual_seed(1))
        after[lam] = (out["bal"].item(), G.state_dict(), D.state_dict())
    assert after[0.0][0] == 0.0 and after[1.0][0] > 0.0
    return after


def test_balance_term_trains_only_the_q_head():
    """One step from the same state with λ_bal = 0 and 1: G, the trunk and the D head move the same."""
    cfg = ig.default_config(precision="fp32", bal_pairs=False)
    (_, g0, d0), (_, g1, d1) = one_step_with_and_without_balance(cfg).values()
    assert all(torch.equal(g0[k], g1[k]) for k in g0)
    assert all(torch.equal(d0[k], d1[k]) for k in d0 if not k.startswith("q_head."))
    assert not torch.equal(d0["q_head.0.weight"], d1["q_head.0.weight"])


def test_balance_pairs_trains_only_the_q_head():
    """--bal-pairs adds a second pass of real images through the trunk; its gradient still reaches only
    Q's head (weights compared: that pass also moves the trunk's BatchNorm running statistics). No
    warps, so that pass draws no random numbers and both sides warp the fakes of the G step alike."""
    cfg = ig.default_config(precision="fp32", bal_pairs=True, augment=0, rotate=0.0, zoom=0.0)
    (_, g0, d0), (_, g1, d1) = one_step_with_and_without_balance(cfg).values()
    weights = [k for k, _ in ig.build_models(cfg)[1].named_parameters()]
    assert all(torch.equal(g0[k], g1[k]) for k in g0)
    assert all(torch.equal(d0[k], d1[k]) for k in weights if not k.startswith("q_head."))
    assert not torch.equal(d0["q_head.0.weight"], d1["q_head.0.weight"])


def test_sample_latent_values_and_reproducibility():
    cfg = {**BASE, "cat": [10, 4], "n_cont": 3}
    latent, cat_idx, cont = ig.sample_latent(4000, cfg, generator=torch.Generator().manual_seed(1))
    z, oh1, oh2, c = torch.split(latent, [62, 10, 4, 3], dim=1)
    assert torch.equal(oh1.argmax(1), cat_idx[:, 0]) and torch.equal(oh2.argmax(1), cat_idx[:, 1])
    assert torch.equal(oh1.sum(1), torch.ones(4000)) and torch.equal(oh2.sum(1), torch.ones(4000))
    assert set(cat_idx[:, 0].tolist()) == set(range(10)) and set(cat_idx[:, 1].tolist()) == set(range(4))
    assert torch.equal(c, cont) and cont.min() >= -1 and cont.max() <= 1
    assert cont.min() < -0.99 and cont.max() > 0.99  # uniform over the whole range
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02
    again, _, _ = ig.sample_latent(4000, cfg, generator=torch.Generator().manual_seed(1))
    other, _, _ = ig.sample_latent(4000, cfg, generator=torch.Generator().manual_seed(2))
    assert torch.equal(latent, again) and not torch.equal(latent, other)


def test_noise_prior_and_scale():
    cfg = {**BASE, "noise": "uniform", "noise_scale": 0.5}
    z, _, _ = ig.sample_codes(5000, cfg, generator=torch.Generator().manual_seed(0))
    assert z.min() >= -0.5 and z.max() <= 0.5 and z.min() < -0.49 and z.max() > 0.49
    z, _, _ = ig.sample_codes(5000, {**BASE, "noise_scale": 0.1}, generator=torch.Generator().manual_seed(0))
    assert abs(z.std().item() - 0.1) < 0.002


def test_translate_shifts_each_image_within_range():
    x = torch.full((64, 1, 28, 28), -1.0)
    x[:, :, 14, 14] = 1.0  # one lit pixel in the middle
    y = ig.translate(x, 2, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and torch.equal(ig.translate(x, 0), x)
    lit = (y[:, 0] == 1.0).nonzero()[:, 1:]  # (64, 2) row, column of each image's pixel
    assert len(lit) == 64 and (lit - 14).abs().max() <= 2
    assert len({tuple(p) for p in lit.tolist()}) > 10  # images get their own shifts
    assert ((y == 1.0) | (y == -1.0)).all()  # background fill, nothing interpolated


def test_warp_rotates_and_zooms_within_range_and_keeps_the_background():
    x = torch.full((200, 1, 28, 28), -1.0)
    x[:, :, 4:24, 13:15] = 1.0  # a vertical bar, 20 pixels long, through the centre
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(ig.warp(x[:4], 0, 0, 0, g), x[:4], atol=1e-5)  # no warp: the same images
    y = ig.warp(x, 0, 30, 0, g)  # rotation only
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert torch.allclose(y[:, :, :3], torch.full_like(y[:, :, :3], -1.0))  # corners stay background
    ink = (y + 1).sum((1, 2, 3)) / (x + 1).sum((1, 2, 3))
    assert ((ink - 1).abs() < 0.1).all()  # a rotation moves the bar, it does not add or remove ink
    # the bar's angle from the vertical, from second moments: within 30 degrees, and spread over the range
    w = (y[:, 0] + 1) / 2  # (200, 28, 28) weights
    r, c = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    m = lambda f: (w * f).sum((1, 2)) / w.sum((1, 2))  # noqa: E731
    dr, dc = r - m(r)[:, None, None], c - m(c)[:, None, None]
    angle = torch.rad2deg(0.5 * torch.atan2(2 * m(dr * dc), m(dr * dr) - m(dc * dc))).abs()
    assert angle.max() < 31 and angle.max() > 25 and angle.min() < 5
    z = ig.warp(x, 0, 0, 0.2, g)  # zoom only: bar length scales by 0.8..1.2
    length = ((z[:, 0, :, 13:15] > 0).any(2)).sum(1).float()
    assert length.min() >= 15 and length.max() <= 25 and length.max() - length.min() >= 5
    x.requires_grad_(True)
    ig.warp(x, 2, 15, 0.1, g).sum().backward()  # G learns through the warp
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_vendored_mnist_matches_published_checksums():
    md5 = {"train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
           "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
           "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
           "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637"}
    for name, digest in md5.items():
        with gzip.open(ig.DEFAULT_DATA_DIR / name) as f:
            assert hashlib.md5(f.read()).hexdigest() == digest, name
    x, y = ig.load_mnist(split="train")
    assert x.shape == (60000, 28, 28) and y.shape == (60000,) and set(y.tolist()) == set(range(10))
    assert ig.load_mnist(split="test")[0].shape == (10000, 28, 28)


# -----------------------------------------------------------------------------
# The command line, on a 96-image data set (3 steps per epoch at batch 32)


def run(args, tiny_data, catch=False):
    """Invoke the CLI in-process on the tiny data set; returns click's Result."""
    res = CliRunner().invoke(ig.main, [*args, "--batch-size", "32", "--data-dir", str(tiny_data),
                                       "--log-every", "1", "--device", "cpu"])
    if not catch:
        assert res.exit_code == 0, res.output
    return res


def weights(path):
    return torch.load(path, weights_only=True)


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cli_trains_and_writes_run_directory(tiny_data, tmp_path):
    out = tmp_path / "run"
    res = run(["--max-steps", "5", "--out", str(out)], tiny_data)
    assert "done at step 5" in res.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["cat"] == [10] and cfg["n_cont"] == 2 and cfg["lr_g"] == 1e-3 and cfg["lr_d"] == 2e-4
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4, 5]
    assert {"loss_d", "loss_g", "info", "mi", "img_per_s"} <= lines[0].keys()
    assert all(math.isfinite(r["loss_d"]) for r in lines)
    # step 3 ends epoch 1 and step 5 ends training: one grid each, 10 rows of 10
    pngs = sorted(p.name for p in (out / "samples").glob("*.png"))
    assert pngs == ["step_0000003.png", "step_0000005.png"]
    from PIL import Image
    assert Image.open(out / "samples" / pngs[0]).size == (10 * 30 + 2, 10 * 30 + 2)
    ckpt = weights(out / "ckpt.pt")  # weights_only=True: plain tensors and Python types only
    assert ckpt["step"] == 5 and ckpt["config"]["cat"] == [10]
    assert not (out / "ckpt.pt.tmp").exists()


def test_checkpoint_rebuilds_identical_generator(tiny_data, tmp_path):
    out = tmp_path / "run"
    run(["--max-steps", "2", "--out", str(out), "--cat", "10,4", "--n-cont", "1", "--n-noise", "16"], tiny_data)
    G, D, cfg, ckpt = ig.load_checkpoint(out / "ckpt.pt")
    assert cfg["cat"] == [10, 4] and cfg["n_cont"] == 1 and cfg["n_noise"] == 16
    assert same_state(G.state_dict(), ckpt["G_ema"])  # the weight average by default
    assert not same_state(G.state_dict(), ckpt["G"])
    assert same_state(ig.load_checkpoint(out / "ckpt.pt", ema=False)[0].state_dict(), ckpt["G"])
    G2, _ = ig.build_models(cfg)
    G2.load_state_dict(weights(out / "ckpt.pt")["G_ema"])
    latent, _, _ = ig.sample_latent(6, cfg, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(G(latent), G2.eval()(latent))
    run(["--max-steps", "2", "--out", str(tmp_path / "plain"), "--ema", "0"], tiny_data)
    assert "G_ema" not in weights(tmp_path / "plain" / "ckpt.pt")  # --ema 0: G is what load_checkpoint gives


def test_ema_averages_weights_and_forgets_the_initial_ones():
    torch.manual_seed(0)
    G, _ = ig.build_models(ig.default_config())
    E = copy.deepcopy(G)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    before = [p.clone() for p in E.parameters()]
    ig.ema_update(E, G, 0.999, step=0)  # β = min(0.999, 1/10): moves 90% of the way at step 0
    for b, e, p in zip(before, E.parameters(), G.parameters()):
        assert torch.allclose(e, 0.1 * b + 0.9 * p, atol=1e-6)
    ig.ema_update(E, G, 0.5, step=10_000)  # β = decay late in a run
    for b, e, p in zip(before, E.parameters(), G.parameters()):
        assert torch.allclose(e, 0.05 * b + 0.95 * p, atol=1e-6)


def test_refresh_bn_gives_statistics_of_the_current_weights():
    cfg = ig.default_config()
    torch.manual_seed(0)
    G, _ = ig.build_models(cfg)
    bn = G.fc[1]
    ig.refresh_bn(G, cfg, n_batches=4, batch=64)
    assert not G.training and bn.momentum == 0.1
    mean1 = bn.running_mean.clone()
    g = torch.Generator().manual_seed(0)
    latent = torch.cat([ig.sample_latent(64, cfg, generator=g)[0] for _ in range(4)])  # the same 4 draws
    with torch.no_grad():  # the running mean is the mean of the first layer's output over those draws
        assert torch.allclose(mean1, G.fc[0](latent).mean(0), atol=1e-5)
    ig.refresh_bn(G, cfg, n_batches=4, batch=64)
    assert torch.equal(bn.running_mean, mean1)  # a function of the weights alone: the same again
    with torch.no_grad():
        G.fc[0].bias.add_(3.0)
    ig.refresh_bn(G, cfg, n_batches=4, batch=64)
    assert torch.allclose(bn.running_mean, mean1 + 3.0, atol=1e-4)


def test_same_seed_same_weights_other_seed_differs(tiny_data, tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        run(["--max-steps", "4", "--seed", str(seed), "--out", str(tmp_path / name)], tiny_data)
    a, b, c = (weights(tmp_path / n / "ckpt.pt") for n in "abc")
    assert same_state(a["G"], b["G"]) and same_state(a["D"], b["D"])
    assert not same_state(a["G"], c["G"])


@pytest.mark.parametrize("decay", ["none", "linear"])
def test_resume_is_exact_across_an_epoch_boundary(tiny_data, tmp_path, decay):
    opts = ["--epochs", "3", "--lr-decay", decay]
    run([*opts, "--max-steps", "7", "--out", str(tmp_path / "full")], tiny_data)
    run([*opts, "--max-steps", "4", "--out", str(tmp_path / "part")], tiny_data)
    res = run(["--resume", str(tmp_path / "part" / "ckpt.pt"), "--max-steps", "7"], tiny_data)
    assert "training steps 4..7" in res.output
    full, part = weights(tmp_path / "full" / "ckpt.pt"), weights(tmp_path / "part" / "ckpt.pt")
    assert part["step"] == full["step"] == 7
    for key in ("G", "G_ema", "D"):
        assert same_state(full[key], part[key]), key
    assert torch.equal(full["latent_rng"], part["latent_rng"])


def test_ctrl_c_saves_a_resumable_checkpoint(tiny_data, tmp_path, monkeypatch):
    """SIGINT during step 2 stops after it, saves, and says how to resume; resuming matches a straight run."""
    real_step = ig.train_step

    def step_then_interrupt(*a, **k):
        out = real_step(*a, **k)
        if a[2].state_dict()["state"][0]["step"].item() == 2:  # the second G step
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(ig, "train_step", step_then_interrupt)
    res = run(["--max-steps", "5", "--out", str(tmp_path / "int")], tiny_data, catch=True)
    assert res.exit_code == 1
    assert "interrupted at step 2; checkpoint saved. Resume with: python infogan.py --resume" in res.output
    assert "Traceback" not in res.output
    assert weights(tmp_path / "int" / "ckpt.pt")["step"] == 2
    monkeypatch.setattr(ig, "train_step", real_step)
    run(["--resume", str(tmp_path / "int" / "ckpt.pt")], tiny_data)
    run(["--max-steps", "5", "--out", str(tmp_path / "straight")], tiny_data)
    assert same_state(weights(tmp_path / "int" / "ckpt.pt")["G"], weights(tmp_path / "straight" / "ckpt.pt")["G"])


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tiny_data, tmp_path, monkeypatch):
    real_step = ig.train_step
    calls = []

    def nan_at_step_5(*a, **k):
        out = real_step(*a, **k)
        calls.append(1)
        if len(calls) == 5:
            out["loss_d"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(ig, "train_step", nan_at_step_5)
    out = tmp_path / "nan"
    res = run(["--max-steps", "9", "--out", str(out)], tiny_data, catch=True)
    assert res.exit_code == 1
    assert "non-finite loss near step 5" in res.output and "Traceback" not in res.output
    assert weights(out / "ckpt.pt")["step"] == 3  # the end of epoch 1, the last good one


@pytest.mark.parametrize("args, message", [
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "cuda:7"], "device 'cuda:7'"),
    (["--batch-size", "0"], "Invalid value for '--batch-size'"),
    (["--n-noise", "-3"], "Invalid value for '--n-noise'"),
    (["--cat", "10,x"], "is not a comma-separated list of integers"),
    (["--cat", "10,1"], "at least 2 values"),
    (["--batch-size", "500"], "larger than the dataset"),
])
def test_bad_options_give_one_line_errors(tiny_data, tmp_path, args, message):
    res = CliRunner().invoke(ig.main, ["--max-steps", "1", "--out", str(tmp_path / "r"),
                                       "--data-dir", str(tiny_data), *args])
    assert res.exit_code != 0
    assert message in res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output  # one line


def test_bad_data_dirs(tiny_data, tmp_path):
    res = CliRunner().invoke(ig.main, ["--max-steps", "1", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "nope")])
    assert res.exit_code == 1 and f"data directory {tmp_path / 'nope'} does not exist" in res.output
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in tiny_data.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    corrupt = bad / "train-images-idx3-ubyte.gz"
    corrupt.write_bytes(corrupt.read_bytes()[:500])  # truncated gzip stream
    res = CliRunner().invoke(ig.main, ["--max-steps", "1", "--out", str(tmp_path / "r"), "--data-dir", str(bad)])
    assert res.exit_code == 1 and f"cannot read {corrupt}" in res.output
    with gzip.open(corrupt, "wb") as f:
        f.write(b"\x00\x00\x08\x03" + (96).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 100)
    res = CliRunner().invoke(ig.main, ["--max-steps", "1", "--out", str(tmp_path / "r"), "--data-dir", str(bad)])
    assert res.exit_code == 1 and f"{corrupt} is truncated or corrupt" in res.output


def test_resume_errors(tiny_data, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    res = run(["--resume", str(junk)], tiny_data, catch=True)
    assert res.exit_code == 1 and "is not an InfoGAN checkpoint" in res.output
    torch.save({"weights": torch.zeros(2)}, junk)
    res = run(["--resume", str(junk)], tiny_data, catch=True)
    assert res.exit_code == 1 and "is not an InfoGAN checkpoint" in res.output
    res = run(["--resume", str(tmp_path / "missing.pt")], tiny_data, catch=True)
    assert res.exit_code == 1 and "does not exist" in res.output
    run(["--max-steps", "1", "--out", str(tmp_path / "r")], tiny_data)
    res = run(["--resume", str(tmp_path / "r" / "ckpt.pt"), "--n-cont", "3"], tiny_data, catch=True)
    assert res.exit_code == 1 and "--n-cont cannot change on resume (checkpoint has 2)" in res.output
    res = run(["--max-steps", "1", "--out", str(tmp_path / "r")], tiny_data, catch=True)
    assert res.exit_code == 1 and "already holds a run" in res.output
    assert weights(tmp_path / "r" / "ckpt.pt")["step"] == 1  # the refused run left it alone


def test_checkpoint_without_newer_options_loads_with_their_old_values(tiny_data, tmp_path):
    run(["--max-steps", "1", "--out", str(tmp_path / "r")], tiny_data)
    ckpt = weights(tmp_path / "r" / "ckpt.pt")
    for key in ig.LEGACY_CONFIG:
        del ckpt["config"][key]
    torch.save(ckpt, tmp_path / "old.pt")
    _, _, cfg, _ = ig.load_checkpoint(tmp_path / "old.pt")
    assert {k: cfg[k] for k in ig.LEGACY_CONFIG} == ig.LEGACY_CONFIG


def test_missing_data_without_network_is_one_line(tmp_path, monkeypatch):
    import torchvision.datasets

    def no_network(*a, **k):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://example/, got:\n<urlopen error>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", no_network)
    res = CliRunner().invoke(ig.main, ["--max-steps", "1", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path)])
    assert res.exit_code == 1 and res.output.count("\n") == 1
    assert "no MNIST IDX files in" in res.output and "download failed (Error downloading train-images-idx3-ubyte.gz)" in res.output


def test_script_runs_as_a_program_and_import_has_no_side_effects(tiny_data, tmp_path):
    """The real script for two steps in a fresh process; bad input there exits 1 with one line, no traceback."""
    cmd = [sys.executable, str(ROOT / "infogan.py"), "--batch-size", "32", "--data-dir", str(tiny_data), "--device", "cpu"]
    ok = subprocess.run([*cmd, "--max-steps", "2", "--out", str(tmp_path / "r")], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "r" / "ckpt.pt").exists()
    bad = subprocess.run([*cmd, "--resume", str(tmp_path / "r" / "config.json")], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "is not an InfoGAN checkpoint" in bad.stderr
    imp = subprocess.run([sys.executable, "-c", "import infogan"], capture_output=True, text=True, cwd=ROOT)
    assert imp.returncode == 0 and imp.stdout == "" and imp.stderr == ""

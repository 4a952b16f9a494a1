"""Tests of infogan.py: networks, codes, losses, warps, checkpoints, resume, determinism, CLI errors."""

import copy
import gzip
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import infogan as ig
from conftest import ROOT, train_cli, write_idx

CONFIGS = {  # config, G's input width (62 noise + one-hots + continuous), Q's outputs
    "paper": (ig.Config(), 74, 12),
    "no_cont": (ig.Config(n_cont=0), 72, 10),
    "two_cats": (ig.Config(cat=(10, 10)), 84, 22),
    "learn_std": (ig.Config(n_cont=3, learn_std=True), 75, 16),  # a mean and a log σ per code
    "no_cat": (ig.Config(cat=()), 64, 2),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_network_shapes(name):
    cfg, n_latent, n_q = CONFIGS[name]
    G, D = ig.build_models(cfg)
    latent, cat_idx, cont = ig.sample_latent(8, cfg)
    assert latent.shape == (8, n_latent) and cfg.n_latent == n_latent and cfg.n_q == n_q
    x = G(latent)
    assert x.shape == (8, 1, 28, 28) and x.min() >= -1 and x.max() <= 1  # tanh range
    logit, q = D(x)
    assert logit.shape == (8,) and q.shape == (8, cfg.n_q)
    cat_logits, mu, log_std = ig.split_q(q, cfg)
    assert [t.shape[1] for t in cat_logits] == list(cfg.cat)
    assert mu.shape == log_std.shape == (8, cfg.n_cont)
    assert torch.equal(D.logit(D.features(x)), logit) and torch.equal(D.q(D.features(x)), q)


@pytest.mark.parametrize("cats", [(10,), (10, 10), (3,)])
def test_categorical_info_loss_at_init_is_ln_k(cats):
    """A fresh Q knows nothing, so its cross-entropy is about H(c) = Σ ln K: the MI estimate is ≈ 0."""
    torch.manual_seed(0)
    cfg = ig.Config(cat=cats)
    G, D = ig.build_models(cfg)
    latent, cat_idx, cont = ig.sample_latent(512, cfg)
    ce, nll = ig.info_terms(D(G(latent))[1], cat_idx, cont, cfg)
    assert ce.item() == pytest.approx(ig.entropy_cat(cfg), abs=0.1 * len(cats))
    # σ = 1: NLL = ½ ln 2π + E[(c - μ)²] / 2 per code, and E[(c - μ)²] ≥ Var(c) = 1/3 when μ ignores c
    floor = cfg.n_cont * (0.5 * math.log(2 * math.pi) + 1 / 6)
    assert floor - 0.05 < nll.item() < floor + 0.25 * cfg.n_cont


def test_info_terms_reward_a_correct_q():
    cfg = ig.Config()
    cat_idx, cont = torch.tensor([[3], [7]]), torch.tensor([[0.5, -0.5], [0.1, 0.2]])
    perfect = torch.cat([F.one_hot(cat_idx[:, 0], 10) * 50.0, cont], 1)
    ce, nll = ig.info_terms(perfect, cat_idx, cont, cfg)
    assert ce.item() < 1e-6 and nll.item() == pytest.approx(2 * 0.5 * math.log(2 * math.pi))
    learnt = torch.cat([perfect, torch.full((2, 2), math.log(0.5))], 1)  # σ = 0.5: NLL falls by 2 ln 2
    ce, nll2 = ig.info_terms(learnt, cat_idx, cont, ig.Config(learn_std=True))
    assert nll2.item() == pytest.approx(nll.item() - 2 * math.log(2))


def codes(values, k=10):
    """Confident Q outputs (len(values), k + 2) that put each image on the given code value."""
    return torch.cat([torch.eye(k)[values] * 50.0, torch.zeros(len(values), 2)], 1)


def test_balance_term_values():
    cfg = ig.Config(bal_marginal=1.0)
    even = codes(list(range(10)) * 3)
    assert ig.balance_term(even, even, cfg).item() < 1e-5  # even and both warps agree: I(c; c') = ln K
    flat = torch.zeros(30, 12)  # Q says "uniform" for every image: no information
    assert ig.balance_term(flat, flat, cfg).item() == pytest.approx(math.log(10), abs=1e-4)
    # the second warp always lands one value up: the symmetrised joint spreads over (c, c ± 1)
    up = codes([(i + 1) % 10 for i in range(10)] * 3)
    assert ig.balance_term(even, up, cfg).item() == pytest.approx(math.log(2), abs=1e-4)
    # m weighs only the uneven-share part: values 0-4 get 2/10 of the images each, KL = ln 2
    half = codes(list(range(5)) * 6)
    assert ig.balance_term(half, half, cfg).item() == pytest.approx(math.log(2), abs=1e-4)
    assert ig.balance_term(half, half, ig.Config(bal_marginal=3.0)).item() == pytest.approx(3 * math.log(2), abs=1e-4)
    assert ig.balance_term(even, up, ig.Config(bal_marginal=3.0)).item() == pytest.approx(math.log(2), abs=1e-4)
    two = ig.Config(cat=(10, 4), bal_marginal=1.0)  # summed over codes: the second one all on value 0
    q = torch.cat([even[:, :10], torch.eye(4)[[0] * 30] * 50.0, torch.zeros(30, 2)], 1)
    assert ig.balance_term(q, q, two).item() == pytest.approx(math.log(4), abs=1e-4)


def one_step(n, **settings):
    """(losses, G, D, D's state before) after one fp32 step on n test digits from seeded weights, warps off."""
    x = ig.to_tanh_range(ig.load_mnist(split="test")[0][:n], "cpu")
    cfg = ig.Config(precision="fp32", shift=0, rotate=0.0, zoom=0.0, **settings)
    torch.manual_seed(0)
    G, D = ig.build_models(cfg)
    start = copy.deepcopy(D.state_dict())
    opt_g, opt_d = ig.make_optimizers(G, D, cfg)
    return ig.train_step(G, D, opt_g, opt_d, x, cfg, torch.Generator().manual_seed(1)), G, D, start


def test_balance_term_trains_only_q_head():
    """One step from the same state with λ_bal = 0 and 1: G, the trunk and D's head move the same,
    Q's head does not (the real features are detached). Warps off, so both draw the same numbers."""
    after = {}
    for lam in (0.0, 1.0):
        losses, G, D, _ = one_step(64, lambda_bal=lam)
        after[lam] = (losses["bal"].item(), G.state_dict(), dict(D.named_parameters()))
    (b0, g0, d0), (b1, g1, d1) = after.values()
    assert b0 == 0.0 and b1 > 0.0
    assert all(torch.equal(g0[k], g1[k]) for k in g0)
    assert all(torch.equal(d0[k], d1[k]) for k in d0 if not k.startswith("q_head."))
    assert not torch.equal(d0["q_head.0.weight"], d1["q_head.0.weight"])


def test_turn_gives_quarter_turns_and_four_make_a_whole_one():
    x = torch.arange(2 * 9.0).view(2, 1, 3, 3)  # two images: [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and + 9
    k = torch.tensor([1, 3])
    once = ig.turn(x, k)
    assert once[0, 0].tolist() == [[2, 5, 8], [1, 4, 7], [0, 3, 6]]  # a quarter turn counter-clockwise
    assert once[1, 0].tolist() == [[15, 12, 9], [16, 13, 10], [17, 14, 11]]  # three: a quarter turn clockwise
    assert torch.equal(ig.turn(once, 4 - k), x) and torch.equal(ig.turn(x, torch.zeros(2, dtype=torch.long)), x)


def test_the_rotation_loss_trains_the_trunk_and_r_in_d_s_step():
    """One step from the same weights with λ_rot = 0 and 1 (warps off, no pool, so the only extra draw is
    k, after the latents): the real/fake head gets the same gradient and moves the same, the trunk moves
    differently, and R, which only the rotation loss trains, leaves its start. Without it D has no R."""
    after = {}
    for lam in (0.0, 1.0):
        losses, _, D, start = one_step(32, lambda_rot=lam)
        after[lam] = (losses["rot"].item(), D)
    (r0, d0), (r1, d1) = after.values()
    assert d0.rot_head is None and r0 == 0.0 and 0.5 < r1 < 3.0  # ln 4 = 1.39 for a guess
    assert torch.equal(d0.d_head.weight, d1.d_head.weight) and not torch.equal(d0.trunk[0].weight, d1.trunk[0].weight)
    assert not torch.equal(d1.rot_head.weight, start["rot_head.weight"])


def test_the_balance_term_reads_bal_batches_of_real_images_from_the_pool(monkeypatch):
    """With a pool, the term sees the step's batch and bal_batches - 1 batches more, drawn from the pool
    (here a pool of blank images, which Q reads as one code); without a pool or at 1, the batch alone."""
    seen, real_term = [], ig.balance_term
    monkeypatch.setattr(ig, "balance_term", lambda a, b, cfg: seen.append((a, b)) or real_term(a, b, cfg))
    x = ig.to_tanh_range(ig.load_mnist(split="test")[0][:16], "cpu")
    blank = -torch.ones(5, 1, 28, 28)
    for bal_batches, pool in ((4, blank), (4, None), (1, blank), (3, x)):
        cfg = ig.Config(precision="fp32", bal_batches=bal_batches)
        torch.manual_seed(0)
        G, D = ig.build_models(cfg)
        opt_g, opt_d = ig.make_optimizers(G, D, cfg)
        ig.train_step(G, D, opt_g, opt_d, x, cfg, torch.Generator().manual_seed(1), pool=pool)
    assert [a.shape[0] for a, _ in seen] == [64, 16, 16, 48] and all(a.shape == b.shape for a, b in seen)
    more = seen[0][0][16:].softmax(1)  # Q's codes for the blank images: one image, warped 48 ways
    assert (more - more.mean(0)).abs().max() < 0.1 < (seen[0][0][:16].softmax(1) - more.mean(0)).abs().max()


def test_a_training_step_never_waits_for_the_device():
    """The step and the weight average run on the meta device, which has shapes but no values: any read
    of a value on the host (.item(), bool(t), .cpu(), a branch on a tensor) would raise here, and on a
    GPU would be a per-step sync that stalls it. The loop reads the losses only when it logs."""
    cfg = ig.Config(precision="fp32")
    G, D = ig.build_models(cfg, "meta")
    G_ema = copy.deepcopy(G)
    opt_g = torch.optim.Adam([*G.parameters(), *D.q_parameters()])  # plain Adam: fused has no meta kernel
    opt_d = torch.optim.Adam(D.d_parameters())
    x, y_cut = torch.empty(16, 1, 28, 28, device="meta"), torch.empty(16, dtype=torch.long, device="meta")
    pool = torch.empty(100, 1, 28, 28, device="meta")  # the balance term's further batches come from it
    losses = ig.train_step(G, D, opt_g, opt_d, x, cfg, y_cut=y_cut, pool=pool)
    ig.ema_update(G_ema, G, cfg.ema, step=0)
    assert sorted(losses) == ["bal", "ce", "cut", "info", "loss_d", "loss_g", "nll", "rot"]
    assert all(v.device.type == "meta" and v.shape == () for v in losses.values())


def test_spectral_cut_finds_the_groups_behind_a_noisy_q_and_keeps_its_numbering():
    """Four separate blobs; Q numbers them 2, 0, 3, 1 but puts 40% of the first blob with the second's
    code (as Q puts crossed 7s with the 2s) and a quarter of all points on a random code."""
    g = torch.Generator().manual_seed(0)
    truth = torch.arange(4).repeat_interleave(60)  # (240,)
    h = (torch.randn(4, 16, generator=g) * 4)[truth] + torch.randn(240, 16, generator=g)
    code = torch.tensor([2, 0, 3, 1])
    q = code[truth].clone()
    q[:24] = code[1]
    wrong = torch.rand(240, generator=g) < 0.25
    q[wrong] = torch.randint(0, 4, (int(wrong.sum()),), generator=g)
    groups = ig.spectral_cut(h, q, 4)
    assert torch.equal(groups, code[truth])
    assert torch.equal(ig.spectral_cut(h, q, 4), groups)  # deterministic (ARPACK's start is seeded)


def test_cuts_come_every_epoch_from_cut_from_to_10_then_every_cut_every_th_if_any():
    assert [e for e in range(1, 51) if ig.cut_due(e, ig.Config())] == [3, 4, 5, 6, 7, 8, 9, 10]
    every_5th = ig.Config(cut_every=5)  # checkpoints from before the default was 0 go on with theirs
    assert [e for e in range(1, 31) if ig.cut_due(e, every_5th)] == [3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30]
    assert [e for e in range(1, 16) if ig.cut_due(e, ig.Config(cut_from=8, cut_every=2))] == [8, 9, 10, 12, 14]
    assert not any(ig.cut_due(e, cfg) for e in range(1, 31) for cfg in (ig.Config(lambda_cut=0), ig.Config(cat=())))


def test_sample_latent_values_and_reproducibility():
    cfg = ig.Config(cat=(10, 4), n_cont=3)
    latent, cat_idx, cont = ig.sample_latent(4000, cfg, generator=torch.Generator().manual_seed(1))
    z, oh1, oh2, c = torch.split(latent, [62, 10, 4, 3], dim=1)
    assert torch.equal(oh1.argmax(1), cat_idx[:, 0]) and torch.equal(oh2.argmax(1), cat_idx[:, 1])
    assert torch.equal(oh1.sum(1), torch.ones(4000)) and torch.equal(oh2.sum(1), torch.ones(4000))
    assert set(cat_idx[:, 0].tolist()) == set(range(10)) and set(cat_idx[:, 1].tolist()) == set(range(4))
    assert torch.equal(c, cont) and cont.min() >= -1 and cont.max() <= 1 and cont.min() < -0.99 and cont.max() > 0.99
    assert z.min() >= -0.5 and z.max() <= 0.5 and z.min() < -0.49 and z.max() > 0.49  # 0.5 · Unif(-1, 1)
    again, _, _ = ig.sample_latent(4000, cfg, generator=torch.Generator().manual_seed(1))
    other, _, _ = ig.sample_latent(4000, cfg, generator=torch.Generator().manual_seed(2))
    assert torch.equal(latent, again) and not torch.equal(latent, other)


def test_warp_rotates_zooms_and_shifts_within_range():
    x = torch.full((200, 1, 28, 28), -1.0)
    x[:, :, 4:24, 13:15] = 1.0  # a vertical bar, 20 pixels long, through the centre
    g = torch.Generator().manual_seed(0)
    assert ig.warp(x, ig.Config(shift=0, rotate=0, zoom=0), g) is x  # warps off: the images themselves
    y = ig.warp(x, ig.Config(shift=0, rotate=30, zoom=0), g)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert torch.allclose(y[:, :, :3], torch.full_like(y[:, :, :3], -1.0))  # the border stays background
    assert (((y + 1).sum((1, 2, 3)) / (x + 1).sum((1, 2, 3)) - 1).abs() < 0.1).all()  # ink is kept
    w = (y[:, 0] + 1) / 2  # the bar's angle from the vertical, from second moments
    r, c = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    m = lambda f: (w * f).sum((1, 2)) / w.sum((1, 2))
    dr, dc = r - m(r)[:, None, None], c - m(c)[:, None, None]
    angle = torch.rad2deg(0.5 * torch.atan2(2 * m(dr * dc), m(dr * dr) - m(dc * dc))).abs()
    assert 25 < angle.max() < 31 and angle.min() < 5
    z = ig.warp(x, ig.Config(shift=0, rotate=0, zoom=0.2), g)  # the bar's length scales by 0.8..1.2
    length = (z[:, 0, :, 13:15] > 0).any(2).sum(1).float()
    assert length.min() >= 15 and length.max() <= 25 and length.max() - length.min() >= 5
    s = ig.warp(x, ig.Config(shift=2, rotate=0, zoom=0), g)  # the bar's centre moves by up to 2 pixels
    centre = lambda t: ((t[:, 0] + 1) * c).sum((1, 2)) / (t[:, 0] + 1).sum((1, 2))
    assert (centre(s) - centre(x)).abs().max() <= 2.01 and (centre(s) - centre(x)).abs().max() > 1.5
    x.requires_grad_(True)
    ig.warp(x, ig.Config(), g).sum().backward()  # G learns through the warp
    assert x.grad.abs().sum() > 0


def test_grid_layout_gaps_and_grey_levels():
    """Image k sits in row k // nrow, column k % nrow, inside 2-pixel white gaps; values are clamped
    to [-1, 1] and map -1 to black, 1 to white. An unfilled cell of the last row stays white."""
    x = torch.linspace(-2, 2, 5).view(5, 1, 1, 1).expand(5, 1, 3, 4)  # 5 flat images, 3 x 4 pixels
    g = ig.grid_array(x, nrow=2)
    assert g.shape == (3 * 5 + 2, 2 * 6 + 2) and g.dtype == np.uint8
    cell = np.zeros(g.shape, dtype=bool)
    for k, level in enumerate([0, 0, 128, 255, 255]):
        top, left = 2 + (k // 2) * 5, 2 + (k % 2) * 6
        assert (g[top : top + 3, left : left + 4] == level).all(), k
        cell[top : top + 3, left : left + 4] = True
    assert (g[~cell] == 255).all()
    assert ig.grid_array(x[:1], nrow=10).shape == (7, 8)  # fewer images than nrow: as many columns as images


def test_vendored_mnist_matches_published_checksums():
    md5 = {
        "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
    }
    for name, digest in md5.items():
        with gzip.open(ig.DEFAULT_DATA_DIR / name) as f:
            assert hashlib.md5(f.read()).hexdigest() == digest, name
    x, y = ig.load_mnist(split="train")
    assert x.shape == (60000, 28, 28) and y.shape == (60000,) and set(y.tolist()) == set(range(10))


def test_ema_averages_weights_and_forgets_the_initial_ones():
    torch.manual_seed(0)
    G, _ = ig.build_models(ig.Config())
    E = copy.deepcopy(G)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    before = [p.clone() for p in E.parameters()]
    ig.ema_update(E, G, 0.999, step=0)  # β = min(0.999, 1/10): 90% of the way at step 0
    for b, e, p in zip(before, E.parameters(), G.parameters()):
        assert torch.allclose(e, 0.1 * b + 0.9 * p, atol=1e-6)
    ig.ema_update(E, G, 0.5, step=10_000)  # β = the decay late in a run
    for b, e, p in zip(before, E.parameters(), G.parameters()):
        assert torch.allclose(e, 0.05 * b + 0.95 * p, atol=1e-6)


def test_refresh_bn_gives_statistics_of_the_current_weights():
    cfg = ig.Config()
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
        G.fc[0].bias.add_(3.0)
    ig.refresh_bn(G, cfg, n_batches=4, batch=64)
    assert torch.allclose(bn.running_mean, mean1 + 3.0, atol=1e-4)


def test_refresh_bn_real_reads_real_images_and_only_the_weights_and_data():
    cfg = ig.Config()
    torch.manual_seed(0)
    _, D = ig.build_models(cfg)
    data = ig.to_tanh_range(ig.load_mnist(split="test")[0][:512], torch.device("cpu"))
    bn, q_bn = D.trunk[3], D.q_head[1]
    before = torch.random.get_rng_state()
    stats = lambda: [t.clone() for m in (bn, q_bn) for t in (m.running_mean, m.running_var)]  # noqa: E731
    ig.refresh_bn_real(D, data, cfg, n_batches=3, batch=32)
    assert not D.training and bn.momentum == q_bn.momentum == 0.1  # the trunk's and Q's head's BatchNorm
    first = stats()
    ig.refresh_bn_real(D, data, cfg, n_batches=3, batch=32)
    assert all(torch.equal(a, b) for a, b in zip(first, stats()))  # its own RNG: the same draws again
    assert torch.equal(torch.random.get_rng_state(), before)
    with torch.no_grad():
        D.trunk[2].bias.add_(2.0)  # the convolution under the trunk's BatchNorm: its mean moves by 2
    ig.refresh_bn_real(D, data, cfg, n_batches=3, batch=32)
    assert torch.allclose(bn.running_mean, first[0] + 2.0, atol=1e-4) and torch.allclose(
        bn.running_var, first[1], rtol=1e-4
    )
    ig.refresh_bn_real(D, -data, cfg, n_batches=3, batch=32)  # other images, other statistics
    assert not torch.allclose(bn.running_mean, first[0] + 2.0, atol=1e-2)


# -----------------------------------------------------------------------------
# The command line, on a 24-image data set (3 steps per epoch at batch 8)


def weights(path):
    return torch.load(path, weights_only=True)


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def straight(tiny_data, tmp_path_factory):
    """A 4-step run at the defaults, uninterrupted (read-only): what resumed runs must equal."""
    out = tmp_path_factory.mktemp("straight")
    res = train_cli(tiny_data, "--max-steps", 4, "--out", out)
    assert res.exit_code == 0 and "done at step 4" in res.output
    return out / "ckpt.pt"


def test_run_directory_and_checkpoint_round_trip(tiny_ckpt):
    """The 4-step run of --cat 10,3 (conftest.py): its metrics, grids and files, and its checkpoint."""
    out = tiny_ckpt.parent
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4]
    assert {"loss_d", "loss_g", "info", "ce", "nll", "bal", "mi", "img_per_s"} <= lines[0].keys()
    # step 3 ends epoch 1 and step 4 ends training: one grid each, rows = the 10 values of code 1
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000003.png", "step_0000004.png"]
    from PIL import Image

    assert Image.open(out / "samples" / "step_0000004.png").size == (10 * 30 + 2, 10 * 30 + 2)
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []
    G, D, cfg, ckpt = ig.load_checkpoint(out / "ckpt.pt")
    assert cfg == ig.Config(**json.loads((out / "config.json").read_text()))  # the config round-trips
    assert cfg.cat == (10, 3) and cfg.n_cont == 2 and cfg.batch_size == 8 and ckpt["step"] == 4
    assert same_state(G.state_dict(), ckpt["G_ema"]) and not same_state(G.state_dict(), ckpt["G"])
    assert same_state(ig.load_checkpoint(out / "ckpt.pt", ema=False)[0].state_dict(), ckpt["G"])
    assert same_state(D.state_dict(), ckpt["D_ema"]) and not same_state(ckpt["D_ema"], ckpt["D"])  # Q of D_ema
    G2, _ = ig.build_models(cfg)
    G2.load_state_dict(weights(out / "ckpt.pt")["G_ema"])
    latent, _, _ = ig.sample_latent(6, cfg, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(G(latent), G2.eval()(latent))


def test_resume_is_exact_across_an_epoch_boundary_and_seeds_matter(tiny_data, straight, tmp_path):
    assert train_cli(tiny_data, "--max-steps", 2, "--out", tmp_path / "part").exit_code == 0
    g0, g0_again, g1 = (ig.build_run(ig.Config(seed=s), torch.device("cpu"))[0].state_dict() for s in (0, 0, 1))
    assert same_state(g0, g0_again) and not same_state(g0, g1)  # initial weights: the seed's and only the seed's
    with open(tmp_path / "part" / "metrics.jsonl", "a") as f:  # as if killed after logging past its checkpoint
        f.write('{"step": 3, "loss_d": 9}\n{"step": 4, "loss_d": 9}\n{"step": 5, "lo')
    res = train_cli(tiny_data, "--resume", tmp_path / "part" / "ckpt.pt", "--max-steps", 4)
    assert res.exit_code == 0 and "steps 2..4" in res.output
    full, part = weights(straight), weights(tmp_path / "part" / "ckpt.pt")
    assert part["step"] == full["step"] == 4
    # no generator state (bytes that only a generator of the same device type can take back): the latents
    # are a function of (seed, step), so a checkpoint trained on CUDA resumes on a CPU
    tensors = [t for key in ("G", "G_ema", "D", "D_ema") for t in full[key].values()]
    tensors += [t for key in ("opt_g", "opt_d") for d in full[key]["state"].values() for t in d.values()]
    assert all(t.is_floating_point() or t.dtype == torch.long for t in tensors)
    keys = {"G", "G_ema", "D", "D_ema", "opt_g", "opt_d"}
    assert set(full) == {"format", "config", "step", "train_seconds", "cut", *keys}
    for key in keys:
        flat = lambda sd: {f"{k}.{j}": v for k, d in sd["state"].items() for j, v in d.items()} if "state" in sd else sd
        assert same_state(flat(full[key]), flat(part[key])), key
    metrics = [json.loads(line) for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in metrics] == [1, 2, 3, 4] and metrics[2]["loss_d"] != 9  # each step once


def test_a_resume_after_a_cut_goes_on_with_the_checkpoint_s_labels(tiny_data, tmp_path):
    """Cuts from epoch 2 (step 3 of 3-step epochs): a run stopped at step 4 and resumed to 5 takes the
    cut's labels from its checkpoint, not from a new cut, and ends where a straight run does."""
    cfg = ig.Config(batch_size=8, data_dir=str(tiny_data), device="cpu", log_every=1, cut_from=2, max_steps=5)
    said = []
    ig.train(cfg, tmp_path / "straight", echo=said.append, progress=False)
    assert [line for line in said if line.startswith("cut")] == [said[4]]  # after step 3's log line
    assert said[4].startswith("cut at the start of epoch 2: ")
    ig.train(replace(cfg, max_steps=4), tmp_path / "part", echo=lambda *a, **k: None, progress=False)
    res = train_cli(tiny_data, "--resume", tmp_path / "part" / "ckpt.pt", "--max-steps", 5)
    assert res.exit_code == 0 and "cut at" not in res.output
    full, part = weights(tmp_path / "straight" / "ckpt.pt"), weights(tmp_path / "part" / "ckpt.pt")
    assert full["cut"].dtype == torch.int16 and full["cut"].shape == (24,) and torch.equal(full["cut"], part["cut"])
    assert same_state(full["G"], part["G"]) and same_state(full["D"], part["D"])


def test_a_checkpoint_from_before_the_cut_d_ema_and_r_resumes_as_it_was_trained_and_reads_q_from_d(
    tiny_data, tiny_ckpt, tmp_path
):
    old = weights(tiny_ckpt)
    del old["cut"], old["D_ema"]
    for key in ig.ADDED_LATER:
        del old["config"][key]
    old["D"] = {k: v for k, v in old["D"].items() if not k.startswith("rot_head.")}  # no R then: its two
    group = old["opt_d"]["param_groups"][0]  # tensors are the last of D's parameters, in Adam's state too
    for i in group["params"][-2:]:
        del old["opt_d"]["state"][i]
    group["params"] = group["params"][:-2]
    torch.save(old, tmp_path / "ckpt.pt")
    cfg = ig.read_checkpoint(tmp_path / "ckpt.pt")[0]
    assert cfg.lambda_cut == 0 and cfg.bal_batches == 1 and cfg.lambda_rot == 0  # as such a run was trained
    assert same_state(ig.load_checkpoint(tmp_path / "ckpt.pt")[1].state_dict(), old["D"])  # Q of D, as it was
    res = train_cli(tiny_data, "--resume", tmp_path / "ckpt.pt", "--max-steps", 5)
    assert res.exit_code == 0 and "done at step 5" in res.output
    assert "D_ema" in weights(tmp_path / "ckpt.pt")  # the average starts from D


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_saves_a_resumable_checkpoint(tiny_data, straight, tmp_path, monkeypatch, sig):
    """The signal during step 2 stops after it, saves, and prints a (shell-quoted) command that
    resumes; for Ctrl-C, resuming gives the weights of a straight run."""
    real_step = ig.train_step

    def step_then_signal(*a, **k):
        out = real_step(*a, **k)
        if a[2].state_dict()["state"][0]["step"].item() == 2:  # the second G step
            os.kill(os.getpid(), sig)
        return out

    monkeypatch.setattr(ig, "train_step", step_then_signal)
    run = tmp_path / "my run"
    res = train_cli(tiny_data, "--max-steps", 4, "--out", run)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.splitlines()[-1] == (
        f"Error: interrupted at step 2; checkpoint saved. Resume with: python infogan.py --resume '{run}/ckpt.pt'"
    )
    assert weights(run / "ckpt.pt")["step"] == 2
    if sig == signal.SIGTERM:
        return
    monkeypatch.setattr(ig, "train_step", real_step)
    assert train_cli(tiny_data, "--resume", run / "ckpt.pt").exit_code == 0  # to the stored --max-steps 4
    assert same_state(weights(run / "ckpt.pt")["G"], weights(straight)["G"])


def test_all_finite_finds_one_bad_value_anywhere():
    w = torch.randn(7, 5, 3)
    assert ig.all_finite(w) and ig.all_finite(torch.empty(0))
    for bad in (math.nan, math.inf, -math.inf):
        for at in ((0, 0, 0), (3, 2, 1), (6, 4, 2)):
            v = w.clone()
            v[at] = bad
            assert not ig.all_finite(v)


@pytest.mark.parametrize(
    "what, step, message",
    [
        ("loss", 4, "non-finite loss by step 4"),
        ("weights", 4, "G has non-finite weights at step 4"),
        ("statistics", 4, "G has non-finite weights at step 4"),  # a BatchNorm buffer, not a parameter
        ("loss", 2, "non-finite loss by step 2"),  # before the first save: no half run is left behind
    ],
)
def test_non_finite_training_keeps_the_last_good_checkpoint(tiny_data, tmp_path, monkeypatch, what, step, message):
    """A NaN loss (read at the next log line, every step here) or a NaN weight (checked before every
    save; step 4 is the last) stops the run with one line, and the checkpoint of step 3 (the end of
    epoch 1) stays as it was."""
    real_step = ig.train_step

    def nan_at(G, *a, **k):
        out = real_step(G, *a, **k)
        if a[1].state_dict()["state"][0]["step"].item() == step:
            if what == "loss":
                out["loss_d"] = torch.tensor(float("nan"))
            elif what == "weights":
                with torch.no_grad():
                    next(G.parameters())[0, 0] = float("nan")
            else:
                G.fc[1].running_var[0] = float("inf")
        return out

    monkeypatch.setattr(ig, "train_step", nan_at)
    res = train_cli(tiny_data, "--max-steps", 4, "--out", tmp_path / "nan")
    assert res.exit_code == 1 and "Traceback" not in res.output
    last = res.output.splitlines()[-1]
    assert last.startswith(f"Error: {message};") and "try lower rates" in last
    if step > 3:
        assert weights(tmp_path / "nan" / "ckpt.pt")["step"] == 3
    else:
        assert not (tmp_path / "nan").exists()


def test_a_full_disk_is_one_line_and_leaves_what_was_there(tiny_data, tiny_ckpt, tmp_path, monkeypatch):
    run = tmp_path / "full"
    run.mkdir()
    (run / "metrics.jsonl").symlink_to("/dev/full")  # every write to it fails with ENOSPC
    res = train_cli(tiny_data, "--max-steps", 2, "--out", run)
    assert (
        res.exit_code == 1 and res.output.splitlines()[-1] == f"Error: cannot write to {run}: No space left on device"
    )
    assert not run.exists()  # it saved nothing, so nothing of it is left
    # a checkpoint save that fails keeps the old file and leaves no temp file
    old = tmp_path / "keep" / "ckpt.pt"
    old.parent.mkdir()
    old.write_bytes(b"the last good checkpoint")

    def half_written(obj, f):
        ig.Path(f).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ig.torch, "save", half_written)
    with pytest.raises(ig.click.ClickException, match="cannot write .*ckpt.pt: No space left on device"):
        ig.save_checkpoint(old, {})
    assert old.read_bytes() == b"the last good checkpoint" and sorted(p.name for p in old.parent.iterdir()) == [
        "ckpt.pt"
    ]


def test_a_save_cut_short_by_a_kill_is_cleaned_up_by_the_next_run(tmp_path):
    orphan = tmp_path / f".ckpt.pt.{os.getpid() + 1}.tmp"
    orphan.write_bytes(b"half a checkpoint")
    ig.lock_run_dir(tmp_path).close()
    assert not orphan.exists()


def test_import_has_no_side_effects_and_bad_input_exits_1_in_a_real_process(tmp_path):
    """A fresh process imports the three scripts (they must print nothing), then runs infogan.py's
    command on bad input: exit 1, one line on stderr, no traceback, no run directory. (The training
    itself runs in-process above; sample.py and evaluate.py run as programs in their own tests.)"""
    code = "import infogan, evaluate, sample; print('imported', flush=True); infogan.main(['--resume', 'missing.pt'])"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert res.stdout == "imported\n" and res.returncode == 1
    assert res.stderr == "Error: checkpoint missing.pt does not exist\n" and not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def bad_files(tiny_data, tiny_ckpt, tmp_path_factory):
    """Bad checkpoints (not a zip; no marker; ours but with a config of another version, no weights, or
    one crafted field), another run's directory, and data (a flipped byte; a label of 200)."""
    d = tmp_path_factory.mktemp("bad")
    (d / "junk.pt").write_bytes(b"not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, d / "nomark.pt")
    torch.save({"format": ig.CKPT_FORMAT, "config": {**asdict(ig.Config()), "noise": "normal"}}, d / "oldcfg.pt")
    torch.save({"format": ig.CKPT_FORMAT, "config": asdict(ig.Config(batch_size=8)), "step": 0, "train_seconds": 0.0},
               d / "noweights.pt")  # fmt: skip
    good = torch.load(tiny_ckpt, weights_only=True)  # crafted from a real checkpoint, one field wrong each
    torch.save({**good, "config": {**good["config"], "cat": ["x"]}}, d / "catx.pt")
    torch.save({**good, "config": {**good["config"], "batch_size": 1}}, d / "batch1.pt")
    torch.save({**good, "config": {**good["config"], "bal_batches": 0}}, d / "bal0.pt")
    torch.save({**good, "step": "abc"}, d / "stepabc.pt")
    torch.save({**good, "G_ema": {k: v.half() if v.is_floating_point() else v for k, v in good["G_ema"].items()}},
               d / "fp16.pt")  # fmt: skip
    (d / "other").mkdir()
    (d / "other" / "config.json").write_text("{}")  # another run that died before its first save
    images, labels = ig.load_mnist(tiny_data, "train")
    (d / "label200").mkdir()
    write_idx(d / "label200" / "train-images-idx3-ubyte.gz", images, 0x803)
    write_idx(d / "label200" / "train-labels-idx1-ubyte.gz", np.where(labels == 3, 200, labels), 0x801)
    (d / "flipped").mkdir()
    for f in tiny_data.iterdir():
        data = bytearray(f.read_bytes())
        if "train-images" in f.name:
            data[len(data) // 2] ^= 0xFF  # one flipped byte
        (d / "flipped" / f.name).write_bytes(bytes(data))
    return d


@pytest.mark.parametrize("args, message", [
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "cuda:7"], "device 'cuda:7' is not here"),
    (["--batch-size", "1"], "Invalid value for '--batch-size': 1 is not in the range x>=2"),
    (["--batch-size", "500"], "--batch-size 500 is larger than the data set (24 images)"),
    (["--lr-g", "0"], "Invalid value for '--lr-g'"),
    (["--lambda-rot", "-1"], "Invalid value for '--lambda-rot'"),
    (["--lr-g", "nan"], "Invalid value for '--lr-g': 'nan' is not a finite number"),
    (["--seed", "100000000000000000"], "Invalid value for '--seed'"),
    (["--precision", "fp8"], "Invalid value for '--precision'"),
    (["--data-dir", "{tmp}/nope"], "data directory {tmp}/nope does not exist"),
    (["--data-dir", "{tmp}"], "cannot read {tmp}/train-images-idx3-ubyte.gz"),
    (["--data-dir", "{tmp}/flipped"], "cannot read {tmp}/flipped/train-images-idx3-ubyte.gz"),
    (["--out", "{tmp}/junk.pt/r", "--batch-size", "8"], "cannot write the run directory {tmp}/junk.pt/r"),
    (["--resume", "{tmp}/missing.pt"], "checkpoint {tmp}/missing.pt does not exist"),
    (["--resume", "{tmp}/junk.pt"], "{tmp}/junk.pt is not an InfoGAN checkpoint (torch.load failed"),
    (["--resume", "{tmp}/nomark.pt"], "{tmp}/nomark.pt is not an InfoGAN checkpoint of this version"),
    (["--resume", "{tmp}/oldcfg.pt"], "{tmp}/oldcfg.pt: its config does not match this version of infogan.py"),
    (["--resume", "{tmp}/noweights.pt"], "the checkpoint's weights do not fit its config"),
    (["--resume", "{ckpt}", "--n-cont", "3"], "--n-cont cannot change on resume (the checkpoint has 2)"),
    (["--resume", "{ckpt}", "--cat", "10"], "--cat cannot change on resume (the checkpoint has (10, 3))"),
    (["--out", "{run}"], "{run} already holds a run; use --resume {run}/ckpt.pt or another --out"),
    (["--out", ""], "--out needs a directory name"),
    (["--cat", "10,0"], "each categorical code needs at least 2 values"),
    (["--cat", "10,,10"], "'10,,10' is not a comma-separated list of integers"),
    (["--cat", "99999999999"], "at most 10 codes of at most 1000 values each"),
    (["--n-cont", "100000000000"], "Invalid value for '--n-cont'"),
    (["--lr-g", "1e38"], "bad setting: lr_g 1e+38 is outside 1e-12..1000.0"),
    (["--data-dir", "{tmp}/label200"], "{tmp}/label200: train labels hold 200; digits are 0..9"),
    (["--resume", "{tmp}/catx.pt"], "{tmp}/catx.pt: its config is invalid (cat ['x'] is not a list of integers)"),
    (["--resume", "{tmp}/batch1.pt"], "{tmp}/batch1.pt: its config is invalid (batch_size 1 is outside 2..60000)"),
    (["--resume", "{tmp}/bal0.pt"], "{tmp}/bal0.pt: its config is invalid (bal_batches 0 is outside 1..100)"),
    (["--resume", "{tmp}/stepabc.pt"], "its config is invalid (step is 'abc', not a count of steps)"),
    (["--resume", "{tmp}/fp16.pt"], "the checkpoint's weights are unusable (fc.0.weight is torch.float16"),
    (["--resume", "{ckpt}", "--out", "{tmp}/other"], "{tmp}/other already holds another run"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exits_non_zero(tiny_data, tiny_ckpt, bad_files, tmp_path, args, message):
    fill = lambda t: t.format(tmp=bad_files, ckpt=tiny_ckpt, run=tiny_ckpt.parent)
    before = tiny_ckpt.stat().st_mtime_ns
    data = [] if "--data-dir" in args else ["--data-dir", str(tiny_data)]
    res = CliRunner().invoke(ig.main, [*map(fill, args), *data, "--max-steps", "1", "--out", str(tmp_path / "r")]
                             if "--out" not in args else [*map(fill, args), *data])  # fmt: skip
    assert res.exit_code != 0 and res.output.startswith("Error: ") and res.output.count("\n") == 1, res.output
    assert fill(message) in res.output
    assert not (tmp_path / "r").exists() and tiny_ckpt.stat().st_mtime_ns == before  # nothing written or left


def test_a_run_directory_belongs_to_one_run(tiny_data, tiny_ckpt, tmp_path, monkeypatch):
    """A second writer is refused while a run holds the directory; --resume does not write into
    another run's directory; a fresh run does not append to a dead run's metrics; default names
    of runs started in the same second differ."""
    busy = tmp_path / "busy"
    held = ig.lock_run_dir(busy)  # as a running training process holds it
    res = train_cli(tiny_data, "--max-steps", 1, "--out", busy)
    assert res.exit_code == 1 and res.output.splitlines()[-1] == f"Error: another run is writing to {busy}"
    held.close()  # the lock goes with the process (here: with the file)
    (busy / "metrics.jsonl").write_text('{"step": 7}\n{"step": 8}\n')  # a run killed before its first save
    assert train_cli(tiny_data, "--max-steps", 1, "--out", busy).exit_code == 0
    assert [json.loads(line)["step"] for line in (busy / "metrics.jsonl").read_text().splitlines()] == [1]
    before = (busy / "ckpt.pt").stat().st_mtime_ns
    res = train_cli(tiny_data, "--resume", tiny_ckpt, "--out", busy, "--max-steps", 4)
    assert (
        res.exit_code == 1
        and res.output == f"Error: {busy} already holds another run; resume into an empty directory\n"
    )
    assert (busy / "ckpt.pt").stat().st_mtime_ns == before
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ig.time, "strftime", lambda fmt: "20260101-000000")
    first, second = ig.new_run_dir(), ig.new_run_dir()  # made at once: the second start cannot take it
    assert first == ig.Path("runs/20260101-000000") and second == ig.Path("runs/20260101-000000-2")
    assert first.is_dir() and second.is_dir()
    res = CliRunner().invoke(ig.main, ["--max-steps", "1", "--data-dir", str(tmp_path / "nowhere")])
    assert res.exit_code == 1 and sorted(p.name for p in (tmp_path / "runs").iterdir()) == [first.name, second.name]


@pytest.mark.parametrize(
    "bf16, amx, speedup, auto",
    [(False, False, 2.0, "fp32"), (True, True, 0.5, "bf16"), (True, False, 1.86, "bf16"), (True, False, 0.78, "fp32")],
)
def test_auto_precision_on_cpu_follows_the_instructions_then_the_clock(monkeypatch, bf16, amx, speedup, auto):
    monkeypatch.setattr(ig, "cpu_features", lambda: (bf16, amx))
    monkeypatch.setattr(ig, "cpu_bf16_speedup", lambda: speedup)
    cpu = torch.device("cpu")
    precision, why = ig.resolve_precision(cpu, "auto")
    assert precision == auto and why.startswith("auto: ")
    assert (f"{speedup:.2f}x" in why) == (bf16 and not amx)  # the clock decides only between the two
    assert ig.resolve_precision(cpu, "fp32") == ("fp32", "--precision fp32")


def test_cpu_flags_are_read_from_the_first_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert ig.cpu_flags(info) == {"fpu", "avx2", "avx512f"}
    info.write_text("processor\t: 0\n")
    assert ig.cpu_flags(info) is None and ig.cpu_flags(tmp_path / "missing") is None


def test_a_cpu_whose_flags_lack_bf16_instructions_has_no_bf16(monkeypatch):
    monkeypatch.setattr(ig, "cpu_flags", lambda: {"avx2", "avx512f", "avx512bw"})  # AVX-512, no AVX512-BF16
    assert ig.cpu_features()[0] is False
    assert ig.resolve_precision(torch.device("cpu"), "auto") == ("fp32", "auto: this CPU has no bf16 instructions")


def test_cpu_bf16_speedup_is_a_positive_ratio_and_leaves_the_rng_alone():
    before = torch.random.get_rng_state()
    assert 0 < ig.cpu_bf16_speedup.__wrapped__(batch=8, rounds=1) < 100
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("capability, auto", [((9, 0), "bf16"), ((8, 0), "bf16"), ((7, 5), "fp32")])
def test_auto_precision_on_cuda_is_bf16_where_native(monkeypatch, capability, auto):
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda dev=None: asked.append(dev) or capability)
    dev = torch.device("cuda:1")
    precision, why = ig.resolve_precision(dev, "auto")
    assert precision == auto and f"{capability[0]}.{capability[1]}" in why and asked == [dev]


def test_an_explicit_precision_that_auto_would_not_pick_warns(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setattr(ig, "cpu_features", lambda: (True, False))
    monkeypatch.setattr(ig, "cpu_bf16_speedup", lambda: 0.78)
    losses = {k: torch.zeros(()) for k in ("loss_d", "loss_g", "info", "ce", "nll", "bal")}
    monkeypatch.setattr(ig, "train_step", lambda *a, **k: losses)  # no real step: only the start is tested
    res = train_cli(tiny_data, "--max-steps", 1, "--out", tmp_path / "r", "--precision", "bf16")
    assert res.exit_code == 0 and "warning: bf16 is the slower path here; auto picks fp32" in res.output
    res = train_cli(tiny_data, "--max-steps", 1, "--out", tmp_path / "r2", "--precision", "auto")
    assert res.exit_code == 0 and "warning" not in res.output
    assert "fp32 (auto: the step measured 0.78x as fast in bf16 here)" in res.output


# -----------------------------------------------------------------------------
# Other devices, with the device queries faked (no GPU here)


def test_mps_without_a_grid_sample_backward_stops_at_once_naming_device_cpu(monkeypatch, tiny_data, tmp_path):
    ig.check_warp_backward(torch.device("cpu"))  # the real kernel: no error
    missing = NotImplementedError("Could not run 'aten::grid_sampler_2d_backward' with arguments from 'MPS'")
    monkeypatch.setattr(ig.F, "grid_sample", lambda *a, **k: (_ for _ in ()).throw(missing))
    with pytest.raises(ig.click.ClickException, match=r"grid_sample's backward failed .*; use --device cpu$"):
        ig.check_warp_backward(torch.device("cpu"))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    args = ["--max-steps", "1", "--out", str(tmp_path / "r"), "--data-dir", str(tiny_data), "--batch-size", "8"]
    res = CliRunner().invoke(ig.main, args)  # auto picks the (fake) MPS
    assert res.exit_code == 1 and res.output.count("\n") == 1 and res.output.endswith("use --device cpu\n")
    assert not (tmp_path / "r").exists()  # stopped before the run directory was made


def test_a_cuda_saved_checkpoint_loads_on_a_cpu_only_machine(tiny_ckpt, tmp_path, monkeypatch):
    state = torch.load(tiny_ckpt, weights_only=True)
    with monkeypatch.context() as m:  # what torch.save writes for tensors that live on cuda:0
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        ig.save_checkpoint(tmp_path / "ckpt.pt", state)
    with pytest.raises(RuntimeError, match="CUDA"):  # the tags are real: a plain load wants a GPU
        torch.load(tmp_path / "ckpt.pt", weights_only=True)
    G, _, cfg, _ = ig.load_checkpoint(tmp_path / "ckpt.pt")
    assert next(G.parameters()).device.type == "cpu" and cfg.cat == (10, 3)


def test_throughput_timing_waits_for_the_cuda_queue(monkeypatch):
    sys.path.insert(0, str(ig.HERE / "benchmarks"))
    import throughput

    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda dev=None: calls.append(("sync", dev)))
    dev = torch.device("cuda:1")
    throughput.timed(lambda: calls.append("step"), 2, dev)
    assert calls == [("sync", dev), "step", "step", ("sync", dev)]


def test_the_prepared_device_check_runs_end_to_end_on_a_cpu(tiny_data, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import device_check

    out, run = tmp_path / "check", tmp_path / "run"
    args = ["--device", "cpu", "--epochs", 100, "--max-steps", 6, "--batch-size", 8, "--data-dir", tiny_data]
    res = CliRunner().invoke(
        device_check.main, [*map(str, [out, *args, "--run-dir", run]), "--precision", "fp32", "--quick"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sync_free"]["ok"] and {line["precision"] for line in summary["throughput"]} >= {"fp32"}
    train = summary["train"]  # stopped by SIGTERM at its first log line (step 1), saved, resumed to the end
    assert train["sigterm_stopped_it"] and 1 <= train["stopped_at_step"] < 6 and train["final_step"] == 6
    assert summary["evaluate"]["step"] == 6 and summary["evaluate_rc"] == summary["sample_rc"] == 0
    log = (out / "train.log").read_text()  # the resume trained on the tiny data too (3 steps an epoch)
    assert log.count("3 steps/epoch") == 2 and "7500 steps/epoch" not in log
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["eval.jsonl", "grid.png", "summary.json", "throughput.jsonl", "train.log"]
    )

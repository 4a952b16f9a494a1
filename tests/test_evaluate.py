"""Tests of evaluate.py: matching, Frechet distance, slant, the shipped classifier, the CLI."""

import functools
import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import evaluate as ev
import infogan as ig
from conftest import script, train_cli


def test_hungarian_perfect_permuted_and_known_imperfect():
    perm = np.random.default_rng(0).permutation(10)
    conf = np.eye(10, dtype=int)[perm] * 100  # code i always draws digit perm^-1... a permutation
    mapping, acc = ev.hungarian(conf)
    assert acc == 1.0
    assert all(conf[c, d] == 100 for c, d in mapping.items())
    # greedy (take the largest cell first) would pair 0->0 and 1->1 for 5 matches; the best is 8 of 13
    mapping, acc = ev.hungarian([[5, 4], [4, 0]])
    assert mapping == {0: 1, 1: 0} and acc == pytest.approx(8 / 13)
    # fewer codes than digits: each code gets its own digit, unused digits are left out
    mapping, acc = ev.hungarian([[6, 4, 0], [5, 0, 5]])
    assert mapping == {0: 0, 1: 2} and acc == pytest.approx(11 / 20)


def test_code_report_flags_merged_digits():
    conf = np.eye(10, dtype=int) * 90 + 1
    conf[7] = 0
    conf[7, 4] = 91  # code 7 draws 4s, like code 4: digit 7 is lost
    rep = ev.code_report(conf)
    assert rep["coverage"] == 9
    assert rep["merged"] == ["codes 4, 7 all draw mostly digit 4", "no code draws mostly digit 7"]
    assert rep["purity"][7] == 1.0 and rep["purity"][0] == pytest.approx(91 / 100)
    assert rep["majority"] == [0, 1, 2, 3, 4, 5, 6, 4, 8, 9]
    assert rep["agreement"] < 0.91


def test_q_report_names_the_largest_confusion():
    perm = np.random.default_rng(1).permutation(10)  # code perm[d] holds digit d
    conf = np.zeros((10, 10), int)
    conf[perm, np.arange(10)] = 100
    conf[perm[2], 7], conf[perm[7], 7] = 30, 70  # 30 of the 100 7s sit in the 2s' code
    conf[perm[9], 4], conf[perm[4], 4] = 10, 90
    accuracy, largest = ev.q_report(conf)
    assert accuracy == 0.96 and largest == {"digit": 7, "as": 2, "count": 30, "of": 100}
    # two codes for ten digits: the images of a digit matched to no code count as confusions too
    accuracy, largest = ev.q_report([[50, 40, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 10, 0, 0, 0, 0, 0, 0, 0]])
    assert accuracy == 0.6 and largest == {"digit": 1, "as": 0, "count": 40, "of": 40}


def test_frechet_distance_zero_for_same_set_and_grows_with_shift():
    f = np.random.default_rng(0).normal(size=(2000, 16))
    assert abs(ev.frechet_distance(f, f)) < 1e-6
    d1, d2 = ev.frechet_distance(f, f + 0.5), ev.frechet_distance(f, f + 1.0)
    assert d1 == pytest.approx(16 * 0.25, rel=1e-3) and d2 == pytest.approx(16 * 1.0, rel=1e-3)
    assert 0 < d1 < d2


def shear(x, k):
    """Shift each row of (N, 1, 28, 28) images by k pixels per row above the centre (top goes right for k > 0)."""
    out = torch.full_like(x, -1.0)
    for r in range(28):
        s = int(round(k * (14 - r)))
        src = x[..., r, max(0, -s) : 28 - max(0, s)]
        out[..., r, max(0, s) : max(0, s) + src.shape[-1]] = src
    return out


def test_slant_sign_on_sheared_digits():
    images, labels = ig.load_mnist(split="test")
    x = ig.to_tanh_range(images[labels == 1][:200], "cpu")  # 1s: slant is easy to see
    base = ev.slant(x)
    right, left = ev.slant(shear(x, 0.3)), ev.slant(shear(x, -0.3))
    assert (right > base).float().mean() > 0.95 and (left < base).float().mean() > 0.95
    upright = torch.full((1, 1, 28, 28), -1.0)
    upright[..., 4:24, 13:15] = 1.0  # a vertical bar
    assert abs(ev.slant(upright).item()) < 1e-6
    assert ev.slant(shear(upright, 0.5)).item() == pytest.approx(0.5, abs=0.1)


def stretch(x, a, b=1.0):
    """Scale (N, 1, 28, 28) images by a horizontally and b vertically about the image centre (bilinear)."""
    theta = torch.tensor([[1 / a, 0.0, 0.0], [0.0, 1 / b, 0.0]]).expand(len(x), 2, 3)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x + 1, grid, align_corners=False) - 1  # padding is background


def test_width_grows_with_horizontal_stretch_and_ignores_shear_and_height():
    images, labels = ig.load_mnist(split="test")
    x = ig.to_tanh_range(images[labels == 0][:200], "cpu")  # 0s: round, so no stretch pushes ink off the edge
    widths = torch.stack([ev.width(stretch(x, a)) for a in (0.7, 0.85, 1.0, 1.15)])  # (4, 200)
    assert (widths.diff(dim=0) > 0).all()  # monotone in the stretch, on every digit
    assert widths[-1].div(widths[0]).median().item() == pytest.approx(1.15 / 0.7, rel=0.05)  # and in proportion
    for k in (-0.3, 0.3):
        sheared = shear(x, k)
        assert (ev.width(sheared) / widths[2] - 1).abs().median() < 0.03  # width barely moves...
        assert (ev.slant(sheared) - ev.slant(x)).median().item() == pytest.approx(k, abs=0.1)  # ...slant does
    taller = stretch(x, 1.0, 1.15)  # more ink, same width (ink alone would fail this)
    assert (ev.width(taller) / widths[2] - 1).abs().median() < 0.03 and (ev.ink(taller) > ev.ink(x)).all()


def shear_stretch(x, k, a):
    """Images (N, 1, 28, 28) stretched across by a (N,), then sheared by k (N,) pixels per pixel of
    height: upright images come out with slant k whatever a, and width a times theirs."""
    zero = torch.zeros_like(k)
    theta = torch.stack([torch.stack([1 / a, k / a, zero], 1), torch.stack([zero, zero + 1, zero], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x + 1, grid, align_corners=False) - 1  # padding is background


class ShearStretch(torch.nn.Module):
    """A stand-in G whose codes are known: it draws one of 100 upright 0s (picked by the noise), with
    slant 0.15 c1 and width e^(0.1 c2) times the 0's."""

    def __init__(self, zeros):
        super().__init__()
        self.zeros = shear_stretch(zeros, -ev.slant(zeros), torch.ones(len(zeros)))  # (100, 1, 28, 28) upright

    def forward(self, latent):
        pick = ((latent[:, 0] + 0.5) * 99.99).long().clamp(0, 99)  # z ~ 0.5 U(-1, 1)
        return shear_stretch(self.zeros[pick], 0.15 * latent[:, -2], torch.exp(0.1 * latent[:, -1]))


def test_the_style_sweeps_find_a_known_slant_code_and_width_code():
    images, labels = ig.load_mnist(split="test")
    G, cfg = ShearStretch(ig.to_tanh_range(images[labels == 0][:100], "cpu")), ig.Config(n_cont=2)
    assert ev.slant(G.zeros).abs().max() < 1e-4  # upright, so a stretch leaves slant as it is
    effects = ev.cont_effects(G, cfg, n_draws=40)
    assert effects["c1"]["slant"] > 0.99 and abs(effects["c1"]["width"]) < 0.1
    assert effects["c2"]["width"] > 0.95 and abs(effects["c2"]["slant"]) < 0.1
    assert ev.style_codes(effects) == {"slant": "c1", "width": "c2"}
    assert ev.cont_effects(G, cfg, n_draws=40, codes=[1]) == {"c2": effects["c2"]}  # one code alone: the same r


def test_style_codes_need_one_attribute_each_and_two_codes():
    r = lambda s, w: {"slant": s, "width": w, "ink": 0.5}  # noqa: E731
    assert ev.style_codes({"c1": r(0.1, -0.85), "c2": r(-0.95, 0.2)}) == {"slant": "c2", "width": "c1"}
    assert ev.style_codes({"c1": r(0.8, -0.93), "c2": r(-0.95, 0.28)}) == {"slant": "c2"}  # c1 turns both
    assert ev.style_codes({"c1": r(0.95, 0.1), "c2": r(-0.97, 0.0)}) == {"slant": "c1"}  # slant twice
    assert ev.style_codes({"c1": r(0.95, 0.85)}) == {}
    words = ev.describe_cont({"c1": r(0.8, -0.93), "c2": r(-0.95, 0.28)})
    assert words == [
        "c1 controls width (r = -0.93), slant (r = 0.80), ink (r = 0.50)",
        "c2 controls slant (r = -0.95), ink (r = 0.50)",
        "style codes: slant = c2; no code turns width alone",
    ]
    assert ev.describe_cont({"c1": r(0.1, -0.85), "c2": r(-0.95, 0.2)})[-1] == "style codes: slant = c2, width = c1"
    assert ev.describe_cont({}) == []  # no continuous codes, no style line


def test_ink_grows_with_stroke_width():
    thin, thick = torch.full((1, 1, 28, 28), -1.0), torch.full((1, 1, 28, 28), -1.0)
    thin[..., 4:24, 13:14] = 1.0
    thick[..., 4:24, 12:16] = 1.0
    assert ev.ink(thick).item() == pytest.approx(4 * ev.ink(thin).item())


def test_shipped_classifier_scores_at_least_99_2_on_test_images():
    """On every fourth test image (2,500; 99.54% on all 10,000, 99.64% on these)."""
    assert ev.test_accuracy(ev.load_classifier(), every=4) >= 0.992


def test_to_classifier_input_maps_tanh_range():
    x = torch.tensor([-1.0, 0.0, 1.0])
    # [-1, 1] -> [0, 1], then MNIST's mean 0.1307 and standard deviation 0.3081
    assert torch.allclose(ev.to_classifier_input(x), torch.tensor([-0.42421, 1.19864, 2.82149]), atol=1e-4)


# -----------------------------------------------------------------------------
# The command line, on the tiny checkpoint and data set


def test_every_figure_on_the_tiny_checkpoint(tiny_data, tiny_ckpt):
    G, D, cfg, _ = ig.load_checkpoint(tiny_ckpt)
    res = ev.evaluate(G, D, cfg, ev.load_classifier(), n=20, data_dir=tiny_data, n_fid=500)
    assert len(res["purity"]) == 10 and 1 <= res["coverage"] <= 10 and 0 < res["q_accuracy"] <= 1
    qc = res["q_confusion"]  # the digit's count of test images, in one line of the summary
    assert qc["of"] == (ig.load_mnist(tiny_data, "test")[1] == qc["digit"]).sum() >= qc["count"]
    line = f"Q's largest confusion: {qc['count']} of {qc['of']} test {qc['digit']}s with the {qc['as']}s"
    assert line in ev.summary(res)
    assert sorted(res["mapping"]) == [str(i) for i in range(10)] and len(set(res["mapping"].values())) == 10
    assert set(res["cont"]) == {"c1", "c2"} and set(res["cont"]["c1"]) == {"slant", "width", "ink"}
    assert res["fid"] > 10 * res["fid_floor"] > 0  # 3 steps of training are far from the data
    again = ev.evaluate(G, D, cfg, ev.load_classifier(), n=20, data_dir=tiny_data, full=False)
    assert again.items() <= res.items()  # seeded: the same agreement figures again


def test_q_is_read_from_d_ema_where_the_checkpoint_has_one(tiny_data, tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "evaluate", functools.partial(ev.evaluate, n_fid=500))  # FID of 500 images, not 10k
    old = torch.load(tiny_ckpt, weights_only=True)
    del old["D_ema"]  # a checkpoint from before D_ema
    torch.save(old, tmp_path / "old.pt")
    lines = {}
    for name, ckpt in (("new", tiny_ckpt), ("old", tmp_path / "old.pt")):
        res = CliRunner().invoke(ev.main, [str(ckpt), "--n", "20", "--device", "cpu", "--data-dir", str(tiny_data)])
        assert res.exit_code == 0, res.output
        lines[name] = json.loads(res.output.splitlines()[-1])
    assert lines["new"]["q_from"] == "D_ema" and lines["old"]["q_from"] == "D"
    assert lines["new"]["agreement"] == lines["old"]["agreement"]  # the same G_ema
    assert "q_accuracy" in lines["old"] and "(Q of D; paper: 0.95)" in res.output


def test_evaluate_script_end_to_end(tiny_data, tiny_ckpt, tmp_path):
    """The real script in a fresh process: summary, JSON line appended to --json, gate, no side files."""
    args = [tiny_ckpt, "--n", 20, "--quick", "--device", "cpu"]
    res = script("evaluate.py", *args, "--json", tmp_path / "r.jsonl")
    assert res.returncode == 0, res.stderr
    line = json.loads(res.stdout.strip().splitlines()[-1])
    assert json.loads((tmp_path / "r.jsonl").read_text()) == line
    assert line["generator"] == "G_ema" and line["step"] == 4 and line["n"] == 20 and "fid" not in line
    assert res.stdout.startswith(f"agreement {line['agreement']:.4f}, coverage {line['coverage']}/10 digits\n")
    assert list(tiny_ckpt.parent.glob("*.json")) == [tiny_ckpt.parent / "config.json"]  # no side files
    gate = CliRunner().invoke(ev.main, [*map(str, args), "--min-agreement", "0.99"])  # one-line reason, after JSON
    assert gate.exit_code == 1 and json.loads(gate.output.splitlines()[-2])["agreement"] == line["agreement"]
    assert gate.output.splitlines()[-1] == f"Error: agreement {line['agreement']:.4f} is below --min-agreement 0.99"
    raw = CliRunner().invoke(ev.main, [*map(str, args), "--raw-g"])
    assert raw.exit_code == 0 and json.loads(raw.output.splitlines()[-1])["generator"] == "G"


def test_no_argument_picks_the_latest_run(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(ev.main, ["--quick", "--n", "10"])
    assert res.exit_code == 1 and "no run to evaluate" in res.output
    for name in ("old", "new"):
        (tmp_path / "runs" / name).mkdir(parents=True)
    (tmp_path / "runs" / "old" / "ckpt.pt").write_text("an older run: picking it would fail")
    os.utime(tmp_path / "runs" / "old" / "ckpt.pt", (1, 1))
    os.symlink(tiny_ckpt, tmp_path / "runs" / "new" / "ckpt.pt")  # written after it
    res = CliRunner().invoke(ev.main, ["--quick", "--n", "10", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("evaluating runs/new/ckpt.pt (the most recent run under runs/)")


def test_digit_codes_match_every_digit_to_its_own_code(tiny_ckpt):
    G, _, cfg, _ = ig.load_checkpoint(tiny_ckpt)
    codes = ev.digit_codes(G, cfg, ev.load_classifier(), n=20)
    assert sorted(codes) == list(range(10)) and sorted(codes.values()) == list(range(10))


@pytest.mark.parametrize("args, message", [
    (["{tmp}/junk.pt"], "{tmp}/junk.pt is not an InfoGAN checkpoint"),
    (["{ckpt}", "--classifier", "{tmp}/none.pt"], "make them with: python weights/train_classifier.py"),
    (["{ckpt}", "--classifier", "{tmp}/junk.pt"], "{tmp}/junk.pt does not hold the classifier's weights"),
    (["{ckpt}", "--json", "{tmp}/no/such/dir/r.jsonl"], "its directory does not exist or is not writable"),
    (["{ckpt}", "--n", "5"], "Invalid value for '--n'"),
    (["{ckpt}", "--min-agreement", "nan"], "'nan' is not a finite number"),
    (["{ckpt}", "--device", "tpu"], "unknown device 'tpu'"),
    (["{nocat}"], "this checkpoint has no categorical code to match to digits (trained with --cat 0)"),
    (["{ckpt}", "--n", "100000000000"], "Invalid value for '--n'"),
    (["{ckpt}", "--json", "{ckpt}"], "--json {ckpt}: that is the checkpoint"),
    (["{ckpt}", "--json", "/dev/full"], "--json /dev/full: not a regular file"),
])  # fmt: skip
def test_cli_errors(tiny_data, tiny_ckpt, tmp_path, args, message):
    (tmp_path / "junk.pt").write_text("hello")
    nocat = tmp_path / "nocat" / "ckpt.pt"
    if "{nocat}" in args:
        assert train_cli(tiny_data, "--max-steps", 1, "--out", nocat.parent, "--cat", "0").exit_code == 0
    fill = lambda t: t.format(tmp=tmp_path, ckpt=tiny_ckpt, nocat=nocat)
    res = CliRunner().invoke(ev.main, [*map(fill, args), "--data-dir", str(tiny_data)])
    assert res.exit_code != 0 and res.output.startswith("Error: ") and res.output.count("\n") == 1, res.output
    assert fill(message) in res.output

"""Tests of evaluate.py: matching, Frechet distance, slant, the shipped classifier, the CLI."""
import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import evaluate as ev
import infogan as ig


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
        src = x[..., r, max(0, -s):28 - max(0, s)]
        out[..., r, max(0, s):max(0, s) + src.shape[-1]] = src
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


def test_ink_grows_with_stroke_width():
    thin, thick = torch.full((1, 1, 28, 28), -1.0), torch.full((1, 1, 28, 28), -1.0)
    thin[..., 4:24, 13:14] = 1.0
    thick[..., 4:24, 12:16] = 1.0
    assert ev.ink(thick).item() == pytest.approx(4 * ev.ink(thin).item())


def test_shipped_classifier_scores_at_least_99_2_on_test_set():
    clf = ev.load_classifier()
    assert ev.test_accuracy(clf) >= 0.992


def test_to_classifier_input_maps_tanh_range():
    x = torch.tensor([-1.0, 0.0, 1.0])
    assert torch.allclose(ev.to_classifier_input(x), (torch.tensor([0.0, 0.5, 1.0]) - ev.MNIST_MEAN) / ev.MNIST_STD)


# -----------------------------------------------------------------------------
# The command line


@pytest.fixture(scope="module")
def tiny_ckpt(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    res = CliRunner().invoke(ig.main, ["--max-steps", "3", "--batch-size", "32", "--data-dir", str(tiny_data),
                                       "--out", str(out), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    return out / "ckpt.pt"


def test_tiny_checkpoint_evaluates_end_to_end(tiny_ckpt, tmp_path):
    ckpt = tmp_path / "run" / "ckpt.pt"
    ckpt.parent.mkdir()
    shutil.copy(tiny_ckpt, ckpt)
    res = CliRunner().invoke(ev.main, [str(ckpt), "--n", "20", "--json", str(tmp_path / "r.jsonl"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    line = json.loads(res.output.strip().splitlines()[-1])
    assert {"agreement", "coverage", "purity", "majority", "mapping", "merged", "q_accuracy", "fid", "fid_floor",
            "cont", "step", "seed", "n"} <= line.keys()
    assert line["generator"] == "G_ema"  # the weight average, as sample.py draws
    assert 0 <= line["agreement"] <= 1 and 1 <= line["coverage"] <= 10 and len(line["purity"]) == 10
    assert sorted(line["mapping"]) == [str(i) for i in range(10)] and len(set(line["mapping"].values())) == 10
    assert set(line["cont"]) == {"c1", "c2"} and set(line["cont"]["c1"]) == {"slant", "ink"}
    assert line["fid"] > line["fid_floor"] >= 0  # 3 steps of training are far from the data
    assert json.loads((tmp_path / "r.jsonl").read_text()) == line
    digit_map = json.loads((ckpt.parent / "digit_map.json").read_text())
    assert {int(d) for d in digit_map["digit_to_code"]} == set(range(10))
    # the same seed gives the same figures; the gate fails with a one-line reason
    again = CliRunner().invoke(ev.main, [str(ckpt), "--n", "20", "--quick", "--min-agreement", "0.99", "--device", "cpu"])
    assert again.exit_code == 1
    assert json.loads(again.output.strip().splitlines()[-2])["agreement"] == line["agreement"]
    assert again.output.strip().splitlines()[-1] == f"Error: agreement {line['agreement']:.4f} is below --min-agreement 0.99"
    # --raw-g scores the raw generator and leaves the digit map (which describes G_ema) alone
    (ckpt.parent / "digit_map.json").unlink()
    raw = CliRunner().invoke(ev.main, [str(ckpt), "--n", "20", "--quick", "--raw-g", "--device", "cpu"])
    assert raw.exit_code == 0, raw.output
    assert json.loads(raw.output.strip().splitlines()[-1])["generator"] == "G"
    assert not (ckpt.parent / "digit_map.json").exists()


def test_no_argument_picks_the_latest_run(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(ev.main, ["--quick", "--n", "10"])
    assert res.exit_code == 1 and "no run to evaluate" in res.output
    for name in ("old", "new"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        shutil.copy(tiny_ckpt, tmp_path / "runs" / name / "ckpt.pt")
    res = CliRunner().invoke(ev.main, ["--quick", "--n", "10", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("evaluating runs/new/ckpt.pt (the most recent run under runs/)")


def test_cli_errors(tiny_data, tiny_ckpt, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    res = CliRunner().invoke(ev.main, [str(junk)])
    assert res.exit_code == 1 and "is not an InfoGAN checkpoint" in res.output
    res = CliRunner().invoke(ev.main, [str(tiny_ckpt), "--classifier", str(tmp_path / "none.pt")])
    assert res.exit_code == 1 and "python evaluate.py --train-classifier" in res.output
    nocat = tmp_path / "nocat"
    CliRunner().invoke(ig.main, ["--max-steps", "1", "--batch-size", "32", "--data-dir", str(tiny_data),
                                 "--out", str(nocat), "--n-cat", "0", "--device", "cpu"])
    res = CliRunner().invoke(ev.main, [str(nocat / "ckpt.pt")])
    assert res.exit_code == 1 and "no categorical code" in res.output
    for r in (res,):
        assert "Traceback" not in r.output and r.output.count("\n") == 1

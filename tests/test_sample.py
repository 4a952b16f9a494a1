"""Tests of sample.py: grid layouts, the latents G receives, reproducibility, error paths."""

import os

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import evaluate as ev
import infogan as ig
import sample as sp
from conftest import script, train_cli

CELL = 30  # 28 pixels + 2 of padding


@pytest.fixture(scope="module")
def ckpt(tiny_ckpt, tmp_path_factory):
    """The tiny checkpoint (codes of 10 and 3 values, 2 continuous codes) linked into a directory of
    its own, since sample.py writes beside it."""
    path = tmp_path_factory.mktemp("run") / "ckpt.pt"
    os.symlink(tiny_ckpt, path)
    return path


@pytest.fixture
def captured(monkeypatch):
    """Record every latent batch the generator receives during a sample.py run."""
    seen = []
    real = ig.load_checkpoint

    def load_and_hook(*a, **k):
        G, D, cfg, meta = real(*a, **k)
        G.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
        return G, D, cfg, meta

    monkeypatch.setattr(ig, "load_checkpoint", load_and_hook)
    return seen


def sample(args, catch=False):
    res = CliRunner().invoke(sp.main, [*args, "--device", "cpu"])
    if not catch:
        assert res.exit_code == 0, res.output
    return res


def size(path):
    return Image.open(path).size


def codes(latent):
    """Split latents of the test checkpoint (62 noise, codes of 10 and 3, 2 continuous)."""
    z, c1, c2, cont = torch.split(latent, [62, 10, 3, 2], dim=1)
    return z, c1.argmax(1), c2.argmax(1), cont


@pytest.mark.parametrize(
    "args, cols, rows",
    [
        ([], 10, 10),  # rows = the 10 values of code 1
        (["--n", "4"], 4, 10),
        (["--fix-cat", "3", "--n", "5"], 5, 5),
        (["--vary", "c1", "--n", "7"], 7, 10),
        (["--vary", "c2", "--fix-cat", "_,2", "--n", "3"], 3, 3),
    ],
)
def test_image_sizes_follow_n_and_codes(ckpt, tmp_path, args, cols, rows):
    out = tmp_path / "g.png"
    res = sample([str(ckpt), *args, "--out", str(out)])
    assert res.stdout.strip() == str(out)
    assert size(out) == (cols * CELL + 2, rows * CELL + 2)


def test_default_grid_rows_are_code_values_and_columns_share_style(ckpt, tmp_path, captured):
    sample([str(ckpt), "--n", "6", "--out", str(tmp_path / "g.png")])
    z, c1, c2, cont = codes(captured[0])
    assert torch.equal(c1, torch.arange(10).repeat_interleave(6))
    grid_z = z.view(10, 6, -1)
    assert torch.equal(grid_z[0], grid_z[9])  # same noise down each column
    assert not torch.equal(grid_z[0, 0], grid_z[0, 1])  # different noise across columns


def test_fix_cat_sets_the_one_hot_the_generator_receives(ckpt, tmp_path, captured):
    sample([str(ckpt), "--fix-cat", "7", "--n", "4", "--out", str(tmp_path / "a.png")])
    z, c1, c2, _ = codes(captured[0])
    onehot = captured[0][:, 62:72]
    assert torch.equal(onehot, torch.nn.functional.one_hot(torch.full((16,), 7), 10).float())
    assert len(set(c2.tolist())) > 1  # the second code stays random
    sample([str(ckpt), "--fix-cat", "7,1", "--n", "4", "--out", str(tmp_path / "b.png")])
    _, c1, c2, _ = codes(captured[1])
    assert (c1 == 7).all() and (c2 == 1).all()


def test_traversal_columns_are_monotone_in_the_swept_code(ckpt, tmp_path, captured):
    sample([str(ckpt), "--vary", "c2", "--n", "5", "--range", "-2", "2", "--out", str(tmp_path / "v.png")])
    z, c1, _, cont = codes(captured[0])
    swept = cont[:, 1].view(10, 5)
    assert torch.allclose(swept[0], torch.linspace(-2, 2, 5))
    assert (swept.diff(dim=1) > 0).all()
    assert torch.equal(cont[:, 0], cont[:1, 0].expand(50))  # the other code is held fixed
    assert torch.equal(z, z[:1].expand(50, -1))  # one noise draw for the whole traversal
    assert torch.equal(c1, torch.arange(10).repeat_interleave(5))


def test_a_traversal_says_what_the_code_turns_as_evaluate_measures_it(ckpt, tmp_path):
    res = CliRunner().invoke(sp.main, [str(ckpt), "--vary", "c2", "--out", str(tmp_path / "v.png"), "--device", "cpu"])
    G, _, cfg, _ = ig.load_checkpoint(ckpt, "cpu")
    words = ev.describe_code("c2", ev.cont_effects(G, cfg)["c2"])  # the r of evaluate.py's report
    assert res.exit_code == 0 and res.stderr == f"{words}, as evaluate.py measures it\n"
    assert res.stdout == f"{tmp_path / 'v.png'}\n"  # stdout stays the path alone


def test_same_seed_same_bytes_other_seed_differs(ckpt, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        sample([str(ckpt), "--seed", str(seed), "--out", str(tmp_path / f"{name}.png")])
    a, b, c = ((tmp_path / f"{x}.png").read_bytes() for x in "abc")
    assert a == b and a != c


def test_gif_is_a_looping_back_and_forth_animation(ckpt, tmp_path):
    out = tmp_path / "t.gif"
    sample([str(ckpt), "--vary", "c1", "--n", "6", "--gif", "--out", str(out)])
    im = Image.open(out)
    assert im.format == "GIF" and im.n_frames == 2 * 6 - 2 and im.info.get("loop") == 0
    frames = []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(im.convert("L").tobytes())
    assert frames[1] == frames[-1] and frames[0] != frames[5]  # ping-pong, and the sweep changes the image
    again = tmp_path / "u.gif"
    sample([str(ckpt), "--vary", "c1", "--n", "6", "--gif", "--out", str(again)])
    assert out.read_bytes() == again.read_bytes()


def test_default_output_sits_beside_the_checkpoint(ckpt):
    res = sample([str(ckpt), "--fix-cat", "3"])
    assert res.output.strip() == str(ckpt.parent / "cat3_x_seed0.png")
    assert (ckpt.parent / "cat3_x_seed0.png").exists()


def test_digit_fixes_the_code_the_classifier_matches_to_it(ckpt, tmp_path, captured, monkeypatch):
    seen = []

    def fake_digit_codes(G, cfg, clf, **kw):
        seen.append(cfg.cat)
        return {d: (d + 3) % 10 for d in range(10)}

    monkeypatch.setattr(ev, "digit_codes", fake_digit_codes)
    sample([str(ckpt), "--digit", "4", "--n", "3", "--out", str(tmp_path / "d.png")])
    _, c1, _, _ = codes(captured[-1])
    assert seen == [(10, 3)] and (c1 == 7).all()
    monkeypatch.setattr(ev, "digit_codes", lambda *a, **k: {0: 1})  # no code matched to 4
    res = sample([str(ckpt), "--digit", "4"], catch=True)
    assert res.exit_code == 1 and res.output == "Error: no code value of this checkpoint is matched to digit 4\n"


def test_sample_script_end_to_end(ckpt, tmp_path):
    """The real script in a fresh process: a traversal of code value 2 (--digit's matching is tested in
    test_evaluate.py, its use above)."""
    out = tmp_path / "a.png"
    res = script("sample.py", ckpt, "--fix-cat", 2, "--vary", "c1", "--n", 4, "--device", "cpu", "--out", out)
    assert res.returncode == 0 and res.stdout == f"{out}\n", res.stderr
    assert res.stderr.startswith("c1 ") and res.stderr.endswith(", as evaluate.py measures it\n")
    assert size(out) == (4 * CELL + 2, 4 * CELL + 2)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fix-cat", "10"], "--fix-cat 10 is out of range: categorical code 1 has values 0..9"),
        (["--fix-cat", "1,3"], "--fix-cat 3 is out of range: categorical code 2 has values 0..2"),
        (["--fix-cat", "1,1,1"], "the checkpoint has 2 categorical code(s)"),
        (["--fix-cat", "a"], "'a' is not an integer"),
        (["--vary", "c3"], "--vary c3: the checkpoint has only 2 continuous code(s), c1..c2"),
        (["--vary", "x"], "should name a continuous code"),
        (["--digit", "12"], "Invalid value for '--digit'"),
        (["--gif"], "add --vary"),
        (["--fix-cat", "1", "--digit", "2"], "not both"),
        (["--device", "quantum"], "unknown device"),
        (["--n", "0"], "Invalid value for '--n'"),
        (["--vary", "c²"], "should name a continuous code"),
        (["--vary", "c1", "--range", "nan", "nan"], "'nan' is not a finite number"),
        (["--seed", "10000000000000000000000"], "Invalid value for '--seed'"),
        (["--out", "x.txt"], "--out x.txt: name an image file"),
        (["--out", "x"], "--out x: name an image file"),
        (["--vary", "c1", "--gif", "--out", "x.jpg"], "--out x.jpg: a --gif traversal is written as .gif"),
        (["--out", "{ckpt}/x.png"], "cannot make or write its directory"),
        (["--vary", "c1", "--range", "1e308", "-1e308"], "Invalid value for '--range'"),
        (["--out", "x.psd"], "--out x.psd: name an image file that PIL writes"),
    ],
)
def test_error_paths(ckpt, args, message):
    res = CliRunner().invoke(sp.main, [str(ckpt), *(a.format(ckpt=ckpt) for a in args)])
    assert res.exit_code != 0 and message in res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output


def test_a_failed_draw_leaves_no_folder_and_never_overwrites_the_checkpoint(ckpt, tmp_path):
    res = sample([str(ckpt), "--vary", "c9", "--out", str(tmp_path / "new" / "x.png")], catch=True)
    assert res.exit_code == 1 and "--vary c9" in res.output and not (tmp_path / "new").exists()
    disguised = tmp_path / "ckpt.png"  # a checkpoint under an image's name, as --out
    os.symlink(ckpt, disguised)
    res = sample([str(disguised), "--out", str(disguised)], catch=True)
    assert res.exit_code == 1 and "that is the checkpoint" in res.output and disguised.is_symlink()


def test_not_a_checkpoint_and_no_continuous_codes(tiny_data, tmp_path):
    junk = tmp_path / "x.pt"
    junk.write_bytes(b"\x00" * 10)
    res = sample([str(junk)], catch=True)
    assert res.exit_code == 1 and "is not an InfoGAN checkpoint" in res.output
    out = tmp_path / "nocont"
    assert train_cli(tiny_data, "--max-steps", 1, "--out", out, "--n-cont", 0).exit_code == 0
    res = sample([str(out / "ckpt.pt"), "--vary", "c1"], catch=True)
    assert (
        res.exit_code == 1
        and res.output == "Error: --vary: this checkpoint has no continuous codes (trained with --n-cont 0)\n"
    )

"""Score an InfoGAN checkpoint: does the categorical code pick the digit, and the continuous codes the style?

Figures (all from a pretrained MNIST classifier that ships in weights/, and MNIST's test set):
  agreement   codes -> digits: generate --n images per value of the first categorical code, classify
              them, find the one-to-one code->digit map with most matches (Hungarian); the share matched
  purity      per code, the share of its images that are its majority digit
  coverage    how many distinct digits the codes' majorities cover (10 = no merged digits)
  q_accuracy  the paper's metric: Q's categorical prediction on the 10k real test images, Hungarian-
              matched to the labels (paper: 5% error, i.e. 0.95); Q is read from D_ema, the running
              average of D's weights (q_from; checkpoints from before it: D)
  q_confusion Q's largest confusion there: the digit with the most test images in the code of another
              (e.g. 126 of 1,028 test 7s with the 2s), where a code that draws crossed 7s as 2s starts
  fid         Frechet distance between the classifier's penultimate features of 10k generated and the
              10k test images; fid_floor is the same between 10k train and the 10k test images
  cont        per continuous code, the correlation of the code (swept over [-2, 2], all else fixed)
              with slant (shear from second-order image moments), width (horizontal spread of ink
              with the slant sheared out) and ink (mean intensity)
  style       which code is the slant code (|r(slant)| >= 0.9, |r(width)| <= 0.3) and which the
              width code (|r(width)| >= 0.8, |r(slant)| <= 0.3)

Run `python evaluate.py --help` for options.
"""

import json
import os
import time
import warnings
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn as nn

import infogan as ig

WEIGHTS = ig.HERE / "weights" / "mnist_classifier.pt"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # training-set pixel statistics on [0, 1]

# -----------------------------------------------------------------------------
# The classifier


class Classifier(nn.Module):
    """A small CNN: (B, 1, 28, 28) normalised images -> 10 logits; `features` is its 128-d penultimate layer."""

    def __init__(self):
        super().__init__()
        block = lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]  # noqa: E731
        self.body = nn.Sequential(
            *block(1, 32), *block(32, 32), nn.MaxPool2d(2),  # 28 -> 14
            *block(32, 64), *block(64, 64), nn.MaxPool2d(2),  # 14 -> 7
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.BatchNorm1d(128), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(128, 10)

    def features(self, x):
        return self.body(x)  # (B, 128)

    def forward(self, x):
        return self.head(self.body(x))  # (B, 10)


def to_classifier_input(x_tanh):
    """Generator range [-1, 1] -> [0, 1] -> normalised as the classifier was trained. Used everywhere."""
    return (ig.to_unit(x_tanh) - MNIST_MEAN) / MNIST_STD


def load_classifier(path=WEIGHTS, device="cpu"):
    """The shipped classifier (weights/train_classifier.py makes it), in eval mode on `device`."""
    path = Path(path)
    if not path.is_file():
        raise click.ClickException(
            f"classifier weights {path} are missing; make them with: python weights/train_classifier.py"
        )
    clf = Classifier()
    try:
        clf.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as e:
        raise click.ClickException(
            f"{path} does not hold the classifier's weights ({str(e).splitlines()[0][:100]})"
        ) from None
    return clf.to(device).eval()


@torch.no_grad()
def classify(clf, x_tanh, batch=1000):
    """Predicted digits and 128-d features for images in [-1, 1]: ((N,) long, (N, 128) float)."""
    preds, feats = [], []
    for i in range(0, len(x_tanh), batch):
        h = clf.features(to_classifier_input(x_tanh[i : i + batch]))
        feats.append(h)
        preds.append(clf.head(h).argmax(1))
    return torch.cat(preds), torch.cat(feats)


def test_accuracy(clf, data_dir=ig.DEFAULT_DATA_DIR, device="cpu", every=1):
    """The classifier's accuracy on MNIST's 10,000 test images (every `every`-th of them)."""
    x, y = ig.load_mnist(data_dir, "test")
    x, y = x[::every], y[::every]
    pred, _ = classify(clf, ig.to_tanh_range(x, device))
    return (pred.cpu() == torch.as_tensor(y)).float().mean().item()


# -----------------------------------------------------------------------------
# Metrics


def hungarian(confusion):
    """Best one-to-one row->column matching of a (K, M) count matrix (K <= M).

    Returns (mapping {row: column}, matched share of all counts)."""
    from scipy.optimize import linear_sum_assignment

    confusion = np.asarray(confusion)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols)}, float(confusion[rows, cols].sum() / confusion.sum())


def frechet_distance(f1, f2):
    """Frechet distance between Gaussians fitted to two feature sets (N, d): |μ1-μ2|² + Tr(Σ1+Σ2-2(Σ1Σ2)^½)."""
    from scipy import linalg

    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular Σ for degenerate (collapsed) sets
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # as in the reference FID code: regularise and retry
        eps = 1e-6 * np.eye(len(s1))
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)  # tiny imaginary parts are numerical noise
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def moments(x_tanh):
    """Second-order central moments (μ20, μ11, μ02) of each image (N, 1, H, W), ink-weighted, in pixels²
    (x = column, y = row)."""
    w = ig.to_unit(x_tanh).flatten(1)  # (N, H*W) ink weights in [0, 1]
    h, wd = x_tanh.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(wd, dtype=torch.float32), indexing="ij")
    ys, xs = ys.flatten().to(w.device), xs.flatten().to(w.device)
    m = w.sum(1).clamp_min(1e-6)
    dx = xs - ((w * xs).sum(1) / m)[:, None]  # (N, H*W) offsets from the centre of ink
    dy = ys - ((w * ys).sum(1) / m)[:, None]
    return (w * dx * dx).sum(1) / m, (w * dx * dy).sum(1) / m, (w * dy * dy).sum(1) / m


def slant(x_tanh):
    """Slant of each image (N, 1, H, W): the shear -μ11/μ02 (x moves by that much per row).
    Positive = the top leans right, as in italic writing."""
    _, mu11, mu02 = moments(x_tanh)
    return -mu11 / mu02.clamp_min(1e-6)  # rows grow downwards, so a right lean has negative μ11


def width(x_tanh):
    """Width of each image (N, 1, H, W) in pixels: the horizontal spread (standard deviation) of ink
    after shearing the slant out, sqrt(μ20 - μ11²/μ02). A shear x -> x + k·y leaves it unchanged
    (exactly, before pixel rounding), so it is independent of slant by construction; stretching
    the image horizontally by a scales it by a."""
    mu20, mu11, mu02 = moments(x_tanh)
    return (mu20 - mu11**2 / mu02.clamp_min(1e-6)).clamp_min(0).sqrt()


def ink(x_tanh):
    """Mean intensity on [0, 1] of each image: more ink = thicker strokes (or bigger digits)."""
    return ig.to_unit(x_tanh).flatten(1).mean(1)


@torch.no_grad()
def code_confusion(G, cfg, clf, n=1000, seed=0, device="cpu"):
    """(K, 10) counts of classifier digits for n images per value of the first categorical code,
    with random noise, other codes and continuous codes; and the generated images' features."""
    g = torch.Generator().manual_seed(seed)
    k = cfg.cat[0]
    z, cat_idx, cont = ig.sample_codes(n * k, cfg, generator=g)
    cat_idx[:, 0] = torch.arange(k).repeat_interleave(n)
    x = ig.generate(G, ig.make_latent(z, cat_idx, cont, cfg.cat).to(device))
    pred, feats = classify(clf, x)
    conf = np.zeros((k, 10), np.int64)
    np.add.at(conf, (cat_idx[:, 0].numpy(), pred.cpu().numpy()), 1)
    return conf, feats


def code_report(conf):
    """agreement, purity, coverage, mapping and merged-digit words from a (K, 10) confusion matrix."""
    mapping, agreement = hungarian(conf)
    purity = (conf.max(1) / conf.sum(1).clip(min=1)).round(4).tolist()
    majority = conf.argmax(1)
    merged = []
    for d in sorted(set(majority.tolist())):
        codes = [int(c) for c in np.flatnonzero(majority == d)]
        if len(codes) > 1:
            merged.append(f"codes {', '.join(map(str, codes))} all draw mostly digit {d}")
    missing = sorted(set(range(10)) - set(majority.tolist()))
    if missing:
        merged.append(f"no code draws mostly digit{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}")
    return {
        "agreement": round(agreement, 4),
        "coverage": int(len(set(majority.tolist()))),
        "purity": purity,
        "majority": [int(d) for d in majority],
        "mapping": {str(c): d for c, d in mapping.items()},
        "merged": merged,
    }


@torch.no_grad()
def q_confusion(D, cfg, x_test, y_test, batch=1000):
    """(K, 10) counts of Q's first categorical code (its argmax) against the labels of real digits."""
    preds = []
    for i in range(0, len(x_test), batch):
        cat_logits, _, _ = ig.split_q(D.q(D.features(x_test[i : i + batch])), cfg)
        preds.append(cat_logits[0].argmax(1).cpu())
    conf = np.zeros((cfg.cat[0], 10), np.int64)
    np.add.at(conf, (torch.cat(preds).numpy(), np.asarray(y_test)), 1)
    return conf


def q_report(conf):
    """From Q's (K, 10) confusion on real digits: q_accuracy, the paper's metric (Q as a classifier,
    codes Hungarian-matched to digits), and Q's largest confusion: the digit with the most images
    in a code matched to another digit, e.g. {"digit": 7, "as": 2, "count": 126, "of": 1028}."""
    conf = np.asarray(conf)
    mapping, accuracy = hungarian(conf)
    wrong = conf.copy()
    for c, d in mapping.items():
        wrong[c, d] = 0  # the matched cells are the right answers
    code, digit = np.unravel_index(wrong.argmax(), wrong.shape)  # K <= 10: every code has a digit
    largest = {
        "digit": int(digit),
        "as": mapping[int(code)],
        "count": int(wrong[code, digit]),
        "of": int(conf[:, digit].sum()),
    }
    return round(accuracy, 4), largest


@torch.no_grad()
def cont_effects(G, cfg, n_draws=200, n_steps=9, lo=-2.0, hi=2.0, seed=0, device="cpu", codes=None):
    """For each continuous code j (0-based; codes=None: all): sweep it over [lo, hi] with everything
    else fixed, for n_draws random draws; correlate the code value with each image's slant, width and
    ink after removing each draw's own mean (so r measures the code's effect, not the variety between
    draws). Code j's draws depend on seed + j alone, so one code measured alone gets the same r."""
    out = {}
    values = torch.linspace(lo, hi, n_steps)
    for j in range(cfg.n_cont) if codes is None else codes:
        g = torch.Generator().manual_seed(seed + j)
        z, cat_idx, cont = ig.sample_codes(n_draws, cfg, generator=g)
        z, cat_idx, cont = (t.repeat_interleave(n_steps, 0) for t in (z, cat_idx, cont))
        cont[:, j] = values.repeat(n_draws)
        x = ig.generate(G, ig.make_latent(z, cat_idx, cont, cfg.cat).to(device)).cpu()
        code = cont[:, j].view(n_draws, n_steps)
        res = {}
        for name, prop in (("slant", slant(x)), ("width", width(x)), ("ink", ink(x))):
            p = prop.view(n_draws, n_steps)
            p = p - p.mean(1, keepdim=True)
            c = code - code.mean(1, keepdim=True)
            res[name] = round(float((p * c).sum() / ((p * p).sum().sqrt() * (c * c).sum().sqrt() + 1e-12)), 4)
        out[f"c{j + 1}"] = res
    return out


def style_codes(effects):
    """{"slant": code, "width": code} for the codes that turn one attribute and not the other:
    |r(slant)| >= 0.9 and |r(width)| <= 0.3 for the slant code, |r(width)| >= 0.8 and
    |r(slant)| <= 0.3 for the width code (two different codes). Attributes no code passes are left out."""
    found = {}
    for attr, other, need in (("slant", "width", 0.9), ("width", "slant", 0.8)):
        for code, r in effects.items():
            if abs(r[attr]) >= need and abs(r[other]) <= 0.3 and code not in found.values():
                found[attr] = code
                break
    return found


def describe_code(code, res, strong=0.5):
    """'c1 controls width (r = -0.93), slant (r = 0.80)': the attributes with |r| >= strong, strongest first."""
    props = sorted((p for p in res if abs(res[p]) >= strong), key=lambda p: -abs(res[p]))
    if props:
        return f"{code} controls " + ", ".join(f"{p} (r = {res[p]:.2f})" for p in props)
    return f"{code} has no clear effect on {', '.join(res)} (|r| < {strong})"


def describe_cont(effects, strong=0.5):
    """Words for cont_effects: 'c1 controls slant (r = 0.93)', then which codes are the style codes."""
    words = [describe_code(code, res, strong) for code, res in effects.items()]
    if effects:  # no continuous codes: nothing to name
        found = style_codes(effects)
        missing = [a for a in ("slant", "width") if a not in found]
        parts = [", ".join(f"{a} = {c}" for a, c in found.items())]
        parts.append(f"no code turns {' or '.join(missing)} alone" if missing else "")
        words.append("style codes: " + "; ".join(filter(None, parts)))
    return words


def check_digit_code(cfg):
    """Codes can be matched to digits only if the first categorical code has at most 10 values."""
    if not cfg.cat:
        raise click.ClickException("this checkpoint has no categorical code to match to digits (trained with --cat 0)")
    if cfg.cat[0] > 10:
        raise click.ClickException(f"the first categorical code has {cfg.cat[0]} values; digits need at most 10")


def evaluate(G, D, cfg, clf, n=1000, seed=0, device="cpu", data_dir=ig.DEFAULT_DATA_DIR, full=True, n_fid=10_000):
    """Every figure as one dict (see the module docstring). full=False: agreement figures only."""
    check_digit_code(cfg)
    conf, gen_feats = code_confusion(G, cfg, clf, n, seed, device)
    res = code_report(conf)
    if not full:
        return res
    x_test, y_test = ig.load_mnist(data_dir, "test")
    x_test = ig.to_tanh_range(x_test, device)
    res["q_accuracy"], res["q_confusion"] = q_report(q_confusion(D, cfg, x_test, y_test))
    # FID on 10k generated images (uniform codes, as in training) vs the 10k test images
    g = torch.Generator().manual_seed(seed + 1)
    latent, _, _ = ig.sample_latent(n_fid, cfg, generator=g)
    _, fake_feats = classify(clf, ig.generate(G, latent.to(device)))
    _, test_feats = classify(clf, x_test)
    x_train, _ = ig.load_mnist(data_dir, "train")
    idx = torch.randperm(len(x_train), generator=g)[:n_fid].numpy()
    _, train_feats = classify(clf, ig.to_tanh_range(x_train[idx], device))
    res["fid"] = round(frechet_distance(fake_feats.cpu(), test_feats.cpu()), 4)
    res["fid_floor"] = round(frechet_distance(train_feats.cpu(), test_feats.cpu()), 4)
    res["cont"] = cont_effects(G, cfg, seed=seed, device=device)
    res["style"] = style_codes(res["cont"])
    return res


def digit_codes(G, cfg, clf, n=100, seed=0, device="cpu"):
    """{digit: value of the first categorical code that draws it}, matched on n images per value."""
    check_digit_code(cfg)
    mapping = hungarian(code_confusion(G, cfg, clf, n, seed, device)[0])[0]
    return {d: c for c, d in mapping.items()}


def find_latest_checkpoint(runs_dir="runs"):
    """The most recently written runs/*/ckpt.pt."""
    ckpts = sorted(Path(runs_dir).glob("*/ckpt.pt"), key=lambda p: p.stat().st_mtime)
    if not ckpts:
        raise click.ClickException(f"no run to evaluate: no {runs_dir}/*/ckpt.pt; train one with: python infogan.py")
    return ckpts[-1]


def summary(res):
    """The human-readable lines printed before the JSON line."""
    lines = [f"agreement {res['agreement']:.4f}, coverage {res['coverage']}/10 digits"]
    # code -> matched digit (purity = share of the code's majority digit, named when it differs)
    pairs = zip(res["mapping"].items(), res["purity"], res["majority"])
    lines.append(
        "code -> digit (purity): "
        + ", ".join(f"{c}->{d} ({p:.2f}{'' if m == d else f' of {m}s'})" for (c, d), p, m in pairs)
    )
    lines += [f"merged: {words}" for words in res["merged"]]
    if "fid" in res:
        fid = f"FID {res['fid']:.3f} (train-vs-test floor {res['fid_floor']:.3f})"
        lines.append(f"q_accuracy {res['q_accuracy']:.4f} (Q of {res.get('q_from', 'D')}; paper: 0.95), {fid}")
        qc = res["q_confusion"]
        lines.append(f"Q's largest confusion: {qc['count']:,} of {qc['of']:,} test {qc['digit']}s with the {qc['as']}s")
        lines += describe_cont(res["cont"])
    return lines


# -----------------------------------------------------------------------------
# Command line


# fmt: off
@ig.command()
@click.argument("ckpt", type=ig.FILE, required=False)
@click.option("--n", type=click.IntRange(10, 100_000), default=1000, help="Generated images per categorical value.")
@click.option("--seed", type=ig.SEED, default=0, help="Seeds every draw, so the evaluation reproduces.")
@click.option("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--json", "json_file", type=ig.FILE, help="Append the JSON line to this file.")
@click.option("--min-agreement", type=ig.Finite(0, 1), help="Exit 1 if agreement is below this (a CI gate).")
@click.option("--quick", is_flag=True, help="Agreement figures only (skip q_accuracy, FID, continuous codes).")
@click.option("--raw-g", is_flag=True, help="Score the raw generator instead of its running average G_ema.")
@click.option("--classifier", type=ig.FILE, default=WEIGHTS, help="Classifier weights.")
@click.option("--data-dir", type=ig.DIR, default=ig.DEFAULT_DATA_DIR, help="Folder of the MNIST IDX files.")
# fmt: on
def main(ckpt, n, seed, device, json_file, min_agreement, quick, raw_g, classifier, data_dir):
    """Score how well an InfoGAN checkpoint's codes control digits and style.

    With no CKPT, evaluates the most recently written runs/*/ckpt.pt.

    \b
    Examples:
      python evaluate.py                                  # latest run under runs/
      python evaluate.py runs/<run>/ckpt.pt --json results.jsonl
      python evaluate.py --quick --min-agreement 0.9      # exit 1 below 0.9
    """
    if json_file is not None and not (json_file.parent.is_dir() and os.access(json_file.parent, os.W_OK)):
        raise click.ClickException(f"--json {json_file}: its directory does not exist or is not writable")
    exists = json_file is not None and json_file.exists()  # checked now, not after the whole evaluation
    if exists and (not json_file.is_file() or not os.access(json_file, os.R_OK | os.W_OK)):
        raise click.ClickException(f"--json {json_file}: not a regular file this user can read and write")
    dev = ig.pick_device(device)
    if ckpt is None:
        ckpt = find_latest_checkpoint()
        click.echo(f"evaluating {ckpt} (the most recent run under runs/)")
    if exists and json_file.samefile(ckpt):
        raise click.ClickException(f"--json {json_file}: that is the checkpoint; name another file")
    G, D, cfg, meta = ig.load_checkpoint(ckpt, dev, ema=not raw_g)
    clf = load_classifier(classifier, dev)
    t0 = time.perf_counter()
    res = evaluate(G, D, cfg, clf, n, seed, dev, data_dir, full=not quick)
    res = {
        "ckpt": str(ckpt),
        "step": meta["step"],
        "generator": "G" if raw_g else "G_ema",
        **({} if quick else {"q_from": ig.d_ema_key(meta)}),
        "seed": seed,
        "n": n,
        **res,
        "train_seconds": round(meta["train_seconds"], 1),
        "eval_seconds": round(time.perf_counter() - t0, 1),
    }
    for line in summary(res):
        click.echo(line)
    line = json.dumps(res)
    click.echo(line)
    if json_file is not None:  # appended by rewriting: a failed write leaves the file as it was
        before = json_file.read_text() if json_file.exists() else ""
        ig.write_atomic(json_file, lambda tmp: tmp.write_text(before + line + "\n"))
    if min_agreement is not None and res["agreement"] < min_agreement:
        raise click.ClickException(f"agreement {res['agreement']:.4f} is below --min-agreement {min_agreement}")


if __name__ == "__main__":
    main()

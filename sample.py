"""Draw what an InfoGAN checkpoint's codes mean: digit grids, one chosen digit, style traversals, GIFs.

Every mode writes a PNG (or GIF) and prints its path; --vary also says on stderr what the swept code
turns (its r with slant, width and ink, as evaluate.py measures them). All draws come from one
torch.Generator seeded by --seed, and images are made in fp32 in eval mode, so the same command writes
the same bytes.
Run `python sample.py --help` for options.
"""

import os
from pathlib import Path

import click
import torch

import evaluate as ev
import infogan as ig


def parse_fix_cat(text, cats):
    """'3' or '3,_,1' -> one value (or None: random) per categorical code; checks the ranges."""
    if not cats:
        raise click.ClickException("this checkpoint has no categorical code to fix")
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) > len(cats):
        raise click.ClickException(
            f"--fix-cat gives {len(parts)} values but the checkpoint has {len(cats)} categorical code(s)"
        )
    values = []
    for i, p in enumerate(parts):
        if p == "_":
            values.append(None)
            continue
        try:
            v = int(p)
        except ValueError:
            raise click.ClickException(f"--fix-cat '{text}': '{p}' is not an integer (or _ for random)") from None
        if not 0 <= v < cats[i]:
            raise click.ClickException(
                f"--fix-cat {v} is out of range: categorical code {i + 1} has values 0..{cats[i] - 1}"
            )
        values.append(v)
    return values + [None] * (len(cats) - len(parts))


def digit_code(G, cfg, digit, device):
    """The first categorical code's value that draws `digit`, matched by evaluate.py's classifier."""
    code = ev.digit_codes(G, cfg, ev.load_classifier(device=device), device=device).get(digit)
    if code is None:
        raise click.ClickException(f"no code value of this checkpoint is matched to digit {digit}")
    return code


def parse_vary(text, n_cont):
    """'c2' or '2' -> 0-based index of the continuous code to sweep."""
    t = str(text).lower().removeprefix("c")
    if not (t.isascii() and t.isdigit()) or int(t) < 1:
        raise click.ClickException(f"--vary '{text}' should name a continuous code: c1, c2, ...")
    if n_cont == 0:
        raise click.ClickException("--vary: this checkpoint has no continuous codes (trained with --n-cont 0)")
    if int(t) > n_cont:
        raise click.ClickException(f"--vary c{t}: the checkpoint has only {n_cont} continuous code(s), c1..c{n_cont}")
    return int(t) - 1


def save_gif(frames, path, ms_per_frame):
    """frames: list of uint8 grid arrays (ig.grid_array); loops forward then back (ping-pong)."""
    from PIL import Image

    seq = frames + frames[-2:0:-1]
    imgs = [Image.fromarray(f) for f in seq]
    imgs[0].save(
        path, format="GIF", save_all=True, append_images=imgs[1:], duration=ms_per_frame, loop=0, optimize=False
    )


def check_out(out, gif, ckpt):
    """A one-line error now, before any work, for an output file that cannot be written as asked.
    Its directory is made only when the image is written, so a failed run leaves no empty folder."""
    from PIL import Image

    Image.init()  # every format plugin, so SAVE lists them all
    ext = out.suffix.lower()
    if gif and ext != ".gif":
        raise click.ClickException(f"--out {out}: a --gif traversal is written as .gif")
    if not gif and Image.registered_extensions().get(ext) not in Image.SAVE:
        raise click.ClickException(f"--out {out}: name an image file that PIL writes (.png, .jpg, ...)")
    if out.exists() and (not out.is_file() or out.samefile(ckpt)):
        raise click.ClickException(f"--out {out}: that is the checkpoint or not a regular file; name another")
    parent = next(p for p in (out.parent, *out.parent.parents) if p.exists())  # the nearest that exists
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise click.ClickException(
            f"--out {out}: cannot make or write its directory ({parent} is not a writable directory)"
        )


RANGE = ig.Finite(-1000, 1000)  # training draws codes from [-1, 1]; far outside, G's output saturates


# fmt: off
@ig.command()
@click.argument("ckpt", type=ig.FILE)
@click.option("--fix-cat", help="Fix categorical code values: '3', or '3,_' per code (_ = random).")
@click.option("--digit", type=click.IntRange(0, 9), help="Draw this digit (the code value matched to it).")
@click.option("--vary", help="Sweep a continuous code along the columns: c1, c2, ...; says what it turns.")
@click.option("--range", "sweep", type=(RANGE, RANGE), default=(-2.0, 2.0), help="Sweep range (training uses [-1, 1]).")
@click.option("--gif", is_flag=True, help="With --vary: an animated GIF of the sweep instead of a PNG.")
@click.option("--n", type=click.IntRange(1, 64), default=10, help="Columns (rows too for --fix-cat/--digit).")
@click.option("--seed", type=ig.SEED, default=0, help="Fixes every draw: the same command writes the same bytes.")
@click.option("--out", type=ig.FILE, help="Output file [default: beside CKPT].")
@click.option("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps.")
# fmt: on
def main(ckpt, fix_cat, digit, vary, sweep, gif, n, seed, out, device):
    """Draw image grids from an InfoGAN checkpoint.

    \b
    Examples:
      python sample.py runs/<run>/ckpt.pt                 # rows = categorical code, cols = style
      python sample.py runs/<run>/ckpt.pt --fix-cat 3     # 10x10 of code value 3
      python sample.py runs/<run>/ckpt.pt --digit 7       # the code value that draws 7s
      python sample.py runs/<run>/ckpt.pt --vary c1       # traversal of c1 from -2 to 2
      python sample.py runs/<run>/ckpt.pt --vary c2 --digit 8 --gif
    """
    if fix_cat is not None and digit is not None:
        raise click.ClickException("use --fix-cat or --digit, not both")
    if gif and vary is None:
        raise click.ClickException("--gif animates a traversal: add --vary cJ")
    if out is not None:
        check_out(out, gif, ckpt)
    dev = ig.pick_device(device)
    G, _, cfg, _ = ig.load_checkpoint(ckpt, dev)
    fixed, name = None, "grid"
    if fix_cat is not None:
        fixed = parse_fix_cat(fix_cat, cfg.cat)
        name = "cat" + "_".join("x" if v is None else str(v) for v in fixed)
    if digit is not None:
        fixed, name = [digit_code(G, cfg, digit, dev)] + [None] * (len(cfg.cat) - 1), f"digit{digit}"
    j, values = None, None
    if vary is not None:
        j = parse_vary(vary, cfg.n_cont)
        values = torch.linspace(sweep[0], sweep[1], n).tolist()
        name = f"vary_c{j + 1}" + ("" if fixed is None else "_" + name)
    if out is None:
        out = Path(ckpt).parent / f"{name}_seed{seed}.{'gif' if gif else 'png'}"
        check_out(out, gif, ckpt)
    latent, cols = ig.grid_latents(cfg, n, seed, fixed, j, values)
    images = ig.generate(G, latent.to(dev))  # (rows * cols, 1, 28, 28)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.ClickException(f"--out {out}: cannot make its directory ({e.strerror})") from None
    if gif:
        rows = len(images) // cols
        per_value = images.view(rows, cols, *images.shape[1:]).transpose(0, 1)  # (cols, rows, 1, 28, 28)
        side = max(1, round(rows**0.5))
        frames = [ig.grid_array(per_value[c], nrow=side if rows > 12 else rows) for c in range(cols)]
        ig.write_atomic(out, lambda tmp: save_gif(frames, tmp, ms_per_frame=80))
    else:
        ig.save_grid(images, out, nrow=cols)
    if vary is not None:  # which code this is, measured on this checkpoint as evaluate.py measures it
        res = ev.cont_effects(G, cfg, device=dev, codes=[j])[f"c{j + 1}"]
        click.echo(ev.describe_code(f"c{j + 1}", res) + ", as evaluate.py measures it", err=True)
    click.echo(str(out))


if __name__ == "__main__":
    main()

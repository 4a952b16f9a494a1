"""InfoGAN (Chen et al. 2016, arXiv 1606.03657) on MNIST, in one file.

The generator G(z, c) takes incompressible noise z and a latent code c. The code is split into
categorical parts c_cat ~ Cat(K) (one-hot) and continuous parts c_cont ~ Unif(-1, 1). InfoGAN asks
that c stay recoverable from G(z, c), by maximising a variational lower bound on the mutual
information I(c; G(z, c)) with an auxiliary distribution Q(c | x):

    min_{G,Q} max_D  V_InfoGAN(D, G, Q) = V(D, G) - λ L_I(G, Q)

    V(D, G)  = E_{x~data}[log D(x)] + E_{z,c}[log(1 - D(G(z, c)))]
    L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c | x)] + H(c)   <=   I(c; G(z, c))

In code (losses are minimised, D outputs a logit, `bce` = BCEWithLogits):

    loss_d    = bce(D(x), 1) + bce(D(G(z, c)), 0)                 # -V(D, G), D's side
    loss_g    = bce(D(G(z, c)), 1)                                  # non-saturating G side of V
    info_loss = λ_cat · CE(Q_cat(x_fake), c_cat)                    # -E[log Q(c_cat | x)]
              + λ_cont · NLL_Gaussian(c_cont; μ(x_fake), σ(x_fake)) # -E[log Q(c_cont | x)]
    mi        = H(c_cat) - CE = Σ_i ln K_i - CE                     # the logged lower bound
    bal       = m · KL(P_Q(c) || P(c_cat)) + H_Q(c | c')            # not the paper's: added as
                                                                    # λ_bal · bal, Q head only (below)

H(c) is a constant, so -λ L_I and `info_loss` differ by a constant. σ is fixed at 1 unless
--learn-std. The paper uses λ = 1 for categorical codes and a smaller λ for continuous ones
(default λ_cont = 0.1, which keeps the Gaussian NLL from dominating the GAN loss).

Which parameters `info_loss` updates: G and the Q head (in the G step, Adam at --lr-g). Q shares
D's convolutional trunk, as in the paper, but by default (--no-info-trunk) the trunk is trained by
D's loss alone: Q reads features learnt for telling real from fake, so G can only make its codes
recoverable through visible, digit-level changes. With --info-trunk the trunk also learns from
`info_loss` of the (detached) fakes in the D step, as the paper's code does; here that let Q
decode the code from cues that do not change the digit (agreement 0.39 after 5 epochs; README,
"Defaults"). The GAN loss of the G step never reaches the trunk.

The balance term `bal` is not in the paper. If G matches the data and Q is G's true posterior, Q's
posterior averaged over real images is the prior P(c_cat), uniform. The classic InfoGAN failure, a
code that draws two digits (4 and 9) while two other codes split one digit between them, breaks
this: Q sends the real images of both digits to the one code. So the Q head (only: the real
features are detached) also learns, on each real batch of the D step, to spread real images evenly
over the codes, decisively and the same way for two random warps of each image: c and c' are Q's
codes for the two warps, P_Q(c, c') = E_x~data[Q(c | warp1 x) Q(c' | warp2 x)] (symmetrised) and
P_Q(c) its marginal. With m = 1, bal = ln K - I(c; c'), the invariant-information-clustering
objective; m = 3 (--bal-marginal) weighs the even spread more. G then has to follow Q and draw one
digit per code. No labels are used. --no-bal-pairs uses one warp: m · KL(E_x Q(c | x) || P(c_cat))
(+ --bal-entropy × E_x H(Q(c | x))).

Departures from the paper's MNIST setting, each measured (README, "Defaults"): z ~ Unif(-1, 1)
(as in the paper's released code) scaled by 0.5, so the one-hot code starts with a larger share
of G's input; every image D and Q see, real or fake, is randomly shifted by up to 2 pixels, rotated
by up to 20 degrees and zoomed by up to 20% (--augment/--rotate/--zoom), so G can make c_cat
recoverable only through what survives a change of pose, the digit's identity; images are drawn
from an exponential moving average of G's weights (--ema), which evens out the late swings of a
GAN; 10 epochs by default (--epochs 50 is the paper's length). Networks follow the paper's
appendix C.1. `python infogan.py --help` lists all options.
"""

import copy
import json
import math
import os
import signal
import sys
import time
import gzip
from contextlib import nullcontext
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = HERE / "data" / "mnist"
DEFAULT_RUNS_DIR = Path("runs")
CKPT_FORMAT = "infogan-ckpt-v1"  # marks our checkpoints; checked on load
# options added after the first checkpoints were written, with the values those checkpoints used
LEGACY_CONFIG = {"noise": "normal", "noise_scale": 1.0, "augment": 0, "lr_decay": "none", "rotate": 0.0, "zoom": 0.0, "ema": 0.0, "lambda_bal": 0.0, "bal_entropy": 0.0, "bal_pairs": False, "bal_marginal": 1.0}

# -----------------------------------------------------------------------------
# Networks (paper, appendix C.1)


class Generator(nn.Module):
    """G(z, c): latent (B, n_latent) -> image (B, channels, img_size, img_size) in [-1, 1]."""

    def __init__(self, n_latent, img_size=28, channels=1):
        super().__init__()
        assert img_size % 4 == 0, "two stride-2 upsamplings need img_size divisible by 4"
        self.s = img_size // 4  # 7 for MNIST
        self.fc = nn.Sequential(
            nn.Linear(n_latent, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * self.s * self.s), nn.BatchNorm1d(128 * self.s * self.s), nn.ReLU(),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1),  # 7 -> 14
            nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, channels, kernel_size=4, stride=2, padding=1),  # 14 -> 28
            nn.Tanh(),
        )

    def forward(self, latent):
        h = self.fc(latent).view(-1, 128, self.s, self.s)  # (B, 128, 7, 7)
        return self.conv(h)  # (B, C, 28, 28)


class Discriminator(nn.Module):
    """Shared trunk, then two heads: D (one real/fake logit) and Q (code parameters)."""

    def __init__(self, n_q_out, img_size=28, channels=1):
        super().__init__()
        s = img_size // 4
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 64, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.1),  # 28 -> 14
            nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1),  # 14 -> 7
            nn.BatchNorm2d(128), nn.LeakyReLU(0.1),
            nn.Flatten(),
            nn.Linear(128 * s * s, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.1),
        )
        self.d_head = nn.Linear(1024, 1)
        self.q_head = nn.Sequential(
            nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1),
            nn.Linear(128, n_q_out),
        )

    def forward(self, x, with_q=True):
        h = self.trunk(x)  # (B, 1024)
        logit = self.d_head(h).squeeze(1)  # (B,)
        return logit, (self.q_head(h) if with_q else None)

    def q(self, x):
        """Q's raw outputs for images x: (B, n_q_out)."""
        return self.q_head(self.trunk(x))


# -----------------------------------------------------------------------------
# Latent codes


def latent_dim(cfg):
    return cfg["n_noise"] + sum(cfg["cat"]) + cfg["n_cont"]


def q_dim(cfg):
    """Q outputs: logits for every categorical code, a mean (and a log-std) per continuous code."""
    return sum(cfg["cat"]) + cfg["n_cont"] * (2 if cfg["learn_std"] else 1)


def make_latent(z, cat_idx, cont, cats):
    """Generator input [z, one_hot(c_1), ..., one_hot(c_k), c_cont]: (B, n_latent).

    z: (B, n_noise), cat_idx: (B, len(cats)) integer values, cont: (B, n_cont)."""
    one_hots = [F.one_hot(cat_idx[:, i], k).to(z.dtype) for i, k in enumerate(cats)]
    return torch.cat([z, *one_hots, cont], dim=1)


def sample_codes(n, cfg, device="cpu", generator=None):
    """Draw z (the --noise prior N(0, I) or Unif(-1, 1), times --noise-scale), c_cat ~ Uniform{0..K-1} per code and
    c_cont ~ Unif(-1, 1). Returns (z (n, n_noise), cat_idx (n, n_cat_codes) long, cont (n, n_cont))."""
    if cfg["noise"] == "uniform":
        z = torch.rand(n, cfg["n_noise"], device=device, generator=generator) * 2 - 1
    else:
        z = torch.randn(n, cfg["n_noise"], device=device, generator=generator)
    z = z * cfg["noise_scale"]
    cat_idx = torch.stack(
        [torch.randint(k, (n,), device=device, generator=generator) for k in cfg["cat"]], dim=1
    ) if cfg["cat"] else torch.zeros(n, 0, dtype=torch.long, device=device)
    cont = torch.rand(n, cfg["n_cont"], device=device, generator=generator) * 2 - 1
    return z, cat_idx, cont


def sample_latent(n, cfg, device="cpu", generator=None):
    """Draw every code at once: (generator input (n, n_latent), cat_idx (n, n_cat_codes), cont (n, n_cont))."""
    z, cat_idx, cont = sample_codes(n, cfg, device, generator)
    return make_latent(z, cat_idx, cont, cfg["cat"]), cat_idx, cont


def split_q(q_out, cfg):
    """Split Q's output into (list of categorical logits, continuous mean, continuous log-std)."""
    cat_logits = list(torch.split(q_out[:, : sum(cfg["cat"])], cfg["cat"], dim=1)) if cfg["cat"] else []
    rest = q_out[:, sum(cfg["cat"]):]
    n = cfg["n_cont"]
    mu = rest[:, :n]
    log_std = rest[:, n: 2 * n] if cfg["learn_std"] else torch.zeros_like(mu)
    return cat_logits, mu, log_std


def info_terms(q_out, cat_idx, cont, cfg):
    """-E[log Q(c|x)] split into (categorical CE summed over codes, continuous Gaussian NLL)."""
    cat_logits, mu, log_std = split_q(q_out.float(), cfg)
    ce = sum((F.cross_entropy(lg, cat_idx[:, i]) for i, lg in enumerate(cat_logits)),
             q_out.new_zeros((), dtype=torch.float32))
    # -log N(c; μ, σ) = log σ + (c - μ)² / (2σ²) + ½ log 2π, summed over codes, mean over batch
    nll = (log_std + 0.5 * ((cont - mu) * torch.exp(-log_std)) ** 2 + 0.5 * math.log(2 * math.pi))
    return ce, nll.sum(1).mean()


def balance_term(q_real, cfg, q_pair=None):
    """m · KL(E_x[Q(c_cat | x)] || P(c_cat)) + w · E_x[H(Q(c_cat | x))] over a batch of real images,
    summed over categorical codes (m = --bal-marginal, w = --bal-entropy).

    If G matches the data and Q is its true posterior, Q's posterior averaged over real images is
    the prior P(c) (uniform). A code that draws two digits breaks this: Q sends the real images of
    both digits to it, so its share of real data grows beyond 1/K. The entropy part asks Q to be
    decisive on each real image, so it cannot even out its shares by hedging between two codes.
    With m = w = 1 the sum is ln K - I_Q(c; x): ln K minus Q's mutual information on real data.

    q_pair (--bal-pairs): Q's output for a second random warp of the same images. Then the term is
    m · KL(P(c) || P(c_cat)) + H(c | c'), c and c' Q's codes for the two warps (the joint P(c, c') is
    the batch mean of Q(c | warp1 x) Q(c' | warp2 x)ᵀ, symmetrised; m = 1 gives ln K - I(c; c')):
    Q must spread real images evenly, decisively, and the same way whatever the pose, so it cannot
    split a digit by slant or size. m > 1 weighs the even spread more (as IIC's λ does)."""
    m = cfg["bal_marginal"]
    cat_logits, _, _ = split_q(q_real.float(), cfg)
    pair_logits = split_q(q_pair.float(), cfg)[0] if q_pair is not None else [None] * len(cat_logits)
    out = q_real.new_zeros((), dtype=torch.float32)
    for lg, lg2 in zip(cat_logits, pair_logits):
        prob, K = lg.softmax(1), lg.shape[1]  # (B, K)
        if lg2 is not None:
            joint = prob.T @ lg2.softmax(1) / len(prob)  # (K, K) P(c, c')
            joint = ((joint + joint.T) / 2).clamp_min(1e-12)
            marg = joint.sum(1)  # (K,) P(c) = P(c')
            kl = (marg * (marg * K).log()).sum()  # KL(P(c) || uniform) = ln K - H(c)
            h_cond = -(joint * (joint.log() - marg[None, :].log())).sum()  # H(c | c') = H(c) - I(c; c')
            out = out + m * kl + h_cond
            continue
        p = prob.mean(0)  # (K,) Q's share of this batch per value
        out = out + m * (p * (p * K).clamp_min(1e-12).log()).sum()  # Σ p log(p / (1/K))
        if cfg["bal_entropy"]:
            out = out - cfg["bal_entropy"] * (prob * lg.log_softmax(1)).sum(1).mean()  # E_x H(Q(c|x))
    return out


def entropy_cat(cfg):
    """H(c_cat) for uniform categorical codes: Σ ln K_i (ln 10 ≈ 2.303 for the paper's code)."""
    return sum(math.log(k) for k in cfg["cat"])


# -----------------------------------------------------------------------------
# Data


def _read_idx(path, magic, n_dims):
    """Read a gzipped IDX file into a uint8 array; one-line error naming the file if it is bad."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise click.ClickException(f"cannot read {path}: {e}")
    header = 4 * (1 + n_dims)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise click.ClickException(f"{path} is not an IDX file (bad magic number)")
    dims = [int.from_bytes(raw[4 * (i + 1): 4 * (i + 2)], "big") for i in range(n_dims)]
    if len(raw) != header + math.prod(dims):
        raise click.ClickException(f"{path} is truncated or corrupt: expected {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable


def load_mnist(data_dir=DEFAULT_DATA_DIR, split="train"):
    """MNIST as (images uint8 (N, 28, 28), labels int64 (N,)) numpy arrays, from IDX .gz files.

    Falls back to torchvision's downloader only when the directory holds none of the files."""
    data_dir = Path(data_dir)
    prefix = "train" if split == "train" else "t10k"
    img_path = data_dir / f"{prefix}-images-idx3-ubyte.gz"
    lbl_path = data_dir / f"{prefix}-labels-idx1-ubyte.gz"
    if not data_dir.is_dir():
        raise click.ClickException(f"data directory {data_dir} does not exist")
    if not img_path.exists() and not lbl_path.exists() and not any(data_dir.glob("*-ubyte.gz")):
        return _torchvision_mnist(data_dir, split)
    images = _read_idx(img_path, 0x803, 3)
    labels = _read_idx(lbl_path, 0x801, 1).astype(np.int64)
    if len(images) != len(labels):
        raise click.ClickException(f"{img_path} and {lbl_path} hold different numbers of items")
    return images, labels


def _torchvision_mnist(data_dir, split):
    """Fallback for a directory without the IDX files: torchvision downloads into it."""
    from torchvision.datasets import MNIST
    try:
        ds = MNIST(str(data_dir), train=(split == "train"), download=True)
    except Exception as e:  # network errors come in many types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise click.ClickException(f"no MNIST IDX files in {data_dir} and torchvision's download failed ({first.rstrip(':')})")
    return ds.data.numpy(), ds.targets.numpy().astype(np.int64)


def to_tanh_range(images_uint8, device):
    """uint8 (N, H, W) -> float (N, 1, H, W) in [-1, 1], the generator's output range."""
    x = torch.as_tensor(images_uint8, device=device).unsqueeze(1)
    return x.float().div_(127.5).sub_(1.0)


# -----------------------------------------------------------------------------
# Device, precision, checkpoints


def pick_device(name="auto"):
    """'auto' -> cuda, then mps, then cpu. Anything else must be a usable torch device."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise click.ClickException(f"unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise click.ClickException(f"device '{name}' requested but CUDA is not available here")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise click.ClickException(f"device '{name}' does not exist ({torch.cuda.device_count()} GPUs)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise click.ClickException(f"device '{name}' requested but MPS is not available here")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise click.ClickException(f"unsupported device '{name}' (use auto, cpu, cuda, cuda:N or mps)")
    return dev


def autocast_for(device, precision):
    """bf16 autocast context for 'bf16', a no-op for 'fp32'."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def resolve_precision(device, precision):
    """'auto' -> bf16 where the hardware runs it natively (CUDA with bf16, CPUs with AVX512-BF16/AMX)."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    return "fp32"


def build_models(cfg, device="cpu"):
    # channels_last conv weights: oneDNN's bf16 kernels run the step ~5% faster with them on this CPU
    # (same results up to rounding); not on MPS, whose support for the layout is patchier
    fmt = torch.contiguous_format if torch.device(device).type == "mps" else torch.channels_last
    G = Generator(latent_dim(cfg), cfg["img_size"], cfg["channels"]).to(device, memory_format=fmt)
    D = Discriminator(q_dim(cfg), cfg["img_size"], cfg["channels"]).to(device, memory_format=fmt)
    return G, D


def save_checkpoint(path, state):
    """torch.save to a temp file in the same directory, then rename: never a half-written file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def read_checkpoint(path):
    """Load one of our checkpoints (weights_only=True) or raise a one-line ClickException."""
    path = Path(path)
    if not path.is_file():
        raise click.ClickException(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle/zip errors come in many types
        raise click.ClickException(f"{path} is not an InfoGAN checkpoint (torch.load with weights_only=True "
                                   f"failed: {type(e).__name__})")
    if not isinstance(ckpt, dict) or ckpt.get("format") != CKPT_FORMAT:
        raise click.ClickException(f"{path} is not an InfoGAN checkpoint (no '{CKPT_FORMAT}' marker)")
    ckpt["config"] = {**LEGACY_CONFIG, **ckpt["config"]}
    return ckpt


def load_checkpoint(path, device="cpu", ema=True):
    """Rebuild (G, D, cfg, ckpt) from a checkpoint; models are in eval mode on `device`.
    G is the weight-averaged generator when the run kept one (--ema) unless ema=False."""
    ckpt = read_checkpoint(path)
    cfg = ckpt["config"]
    G, D = build_models(cfg, device)
    G.load_state_dict(ckpt["G_ema"] if ema and "G_ema" in ckpt else ckpt["G"])
    D.load_state_dict(ckpt["D"])
    return G.eval(), D.eval(), cfg, ckpt


# -----------------------------------------------------------------------------
# Images


def grid_array(images, nrow):
    """(N, C, H, W) images in [-1, 1] -> one uint8 grid with `nrow` images per row:
    (H', W') for grey images, (H', W', 3) otherwise."""
    from torchvision.utils import make_grid
    images = images.detach().float().cpu()
    grid = make_grid(images, nrow=nrow, padding=2, normalize=True, value_range=(-1, 1), pad_value=1.0)
    arr = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # (H', W', 3)
    return arr[:, :, 0] if images.shape[1] == 1 else arr  # grey stays grey


def save_grid(images, path, nrow):
    """Save (N, C, H, W) images in [-1, 1] as one PNG grid with `nrow` images per row."""
    from PIL import Image
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid_array(images, nrow)).save(path)


def fixed_grid_latent(cfg, n_cols=10, seed=0, device="cpu"):
    """Latents for the progress grid: rows = values of the first categorical code, columns = a
    fixed noise (and continuous code) draw shared by every row. (K * n_cols, n_latent)."""
    g = torch.Generator().manual_seed(seed)
    z, cat_idx, cont = sample_codes(n_cols, cfg, generator=g)
    k = cfg["cat"][0] if cfg["cat"] else 1
    z, cat_idx, cont = z.repeat(k, 1), cat_idx.repeat(k, 1), cont.repeat(k, 1)
    if cfg["cat"]:
        cat_idx[:, 0] = torch.arange(k).repeat_interleave(n_cols)
    return make_latent(z, cat_idx, cont, cfg["cat"]).to(device)


# -----------------------------------------------------------------------------
# Training


def make_optimizers(G, D, cfg):
    """D's optimiser holds the trunk and the D head; G's holds G and the Q head (paper's rates)."""
    # fused Adam: one kernel for all parameters; on this CPU it is ~1.5x faster per step than the
    # default for-each path, whose sqrt/div over the two 6.4M-weight FC layers dominated a step
    kw = dict(betas=(cfg["beta1"], cfg["beta2"]), fused=True)
    opt_d = torch.optim.Adam([*D.trunk.parameters(), *D.d_head.parameters()], lr=cfg["lr_d"], **kw)
    opt_g = torch.optim.Adam([*G.parameters(), *D.q_head.parameters()], lr=cfg["lr_g"], **kw)
    return opt_g, opt_d


def translate(x, shift, gen=None):
    """Shift each image (B, C, H, W) by its own random offset of up to `shift` pixels, filling
    with background (-1). Every image D and Q see is shifted, so the code has to live in what
    survives a shift (the digit's shape), not in exact pixel positions."""
    if not shift:
        return x
    B, C, H, W = x.shape
    pad = F.pad(x, (shift, shift, shift, shift), value=-1.0)
    dy, dx = torch.randint(0, 2 * shift + 1, (2, B, 1), device=x.device, generator=gen)
    rows = dy + torch.arange(H, device=x.device)  # (B, H)
    cols = dx + torch.arange(W, device=x.device)  # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None]
    return pad[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def warp(x, shift, rotate, zoom, gen=None):
    """Warp each image (B, C, H, W) by its own random affine map: rotated by up to `rotate` degrees,
    zoomed by a factor in [1 - zoom, 1 + zoom] and shifted by up to `shift` pixels (bilinear,
    background -1). Differentiable in x, so G learns through it."""
    B, C, H, W = x.shape
    u = torch.rand(B, 4, device=x.device, generator=gen) * 2 - 1  # (B, 4) uniform in [-1, 1)
    angle, scale = u[:, 0] * math.radians(rotate), 1 + u[:, 1] * zoom
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # theta maps each output pixel to where it samples the input, in [-1, 1] units (a pixel is 2/W)
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * shift * 2 / W], 1),
                         torch.stack([sin, cos, u[:, 3] * shift * 2 / H], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, [B, C, H, W], align_corners=False)  # (B, H, W, 2)
    # grid_sample fills outside the image with 0, so sample x + 1 (background 0) and shift back
    return F.grid_sample(x.float() + 1, grid, align_corners=False) - 1


def augment(x, cfg, gen=None):
    """What D and Q see of any image, real or fake: a random shift (--augment), rotation (--rotate)
    and zoom (--zoom). D sees the same family of warps on both sides, so the warps tell it nothing
    about real vs fake; Q only ever sees warped fakes, so G can make its categorical code recoverable
    only through what survives a change of pose, the digit's identity, rather than through a
    pose or position of its own (README, "Defaults", has the measurements)."""
    if cfg["rotate"] or cfg["zoom"]:
        return warp(x, cfg["augment"], cfg["rotate"], cfg["zoom"], gen)
    return translate(x, cfg["augment"], gen)  # whole-pixel shifts only (identity when --augment 0)


def train_step(G, D, opt_g, opt_d, x_real, cfg, gen=None, precision="fp32"):
    """One InfoGAN step on a real batch x_real (B, C, H, W): a D step, then a G/Q step.

    Returns detached loss tensors (no host sync, so the caller decides when to read them)."""
    B, device = x_real.shape[0], x_real.device
    amp = lambda: autocast_for(device, precision)  # noqa: E731 (a fresh context per use)
    latent, cat_idx, cont = sample_latent(B, cfg, device, gen)
    ones, zeros = torch.ones(B, device=device), torch.zeros(B, device=device)
    lam_cat, lam_cont = cfg["lambda_cat"], cfg["lambda_cont"]

    with amp():
        x_fake = G(latent)  # (B, C, H, W)

    # D step: minimise -V(D, G) [+ λ L_I of the detached fakes, through the shared trunk]
    aug = lambda x: augment(x, cfg, gen)  # noqa: E731
    pairs = cfg["lambda_bal"] > 0 and cfg["bal_pairs"]
    with amp():  # one autocast context, so the bf16 copies of D's weights are made once for all passes
        h_real = D.trunk(aug(x_real))  # (B, 1024)
        logit_real = D.d_head(h_real).squeeze(1)
        logit_fake, q_fake = D(aug(x_fake.detach()), with_q=cfg["info_trunk"])
        if pairs:  # a second warp of the real images, for --bal-pairs (no gradient: it trains Q's head
            with torch.no_grad():  # only, in the G step; in train mode, so D's BatchNorm statistics see it)
                h_pair = D.trunk(aug(x_real))  # (B, 1024)
    loss_d = F.binary_cross_entropy_with_logits(logit_real.float(), ones) + \
        F.binary_cross_entropy_with_logits(logit_fake.float(), zeros)
    loss_d_total = loss_d
    if cfg["info_trunk"]:
        ce_d, nll_d = info_terms(q_fake, cat_idx, cont, cfg)
        loss_d_total = loss_d + lam_cat * ce_d + lam_cont * nll_d
    opt_d.zero_grad(set_to_none=True)
    loss_d_total.backward()
    opt_d.step()

    # G/Q step: minimise the non-saturating G loss + info_loss over G and the Q head
    # (+ λ_bal·bal of the real batch, which reaches only the Q head).
    # D's trunk and head are frozen here so the G loss never trains them (and their weight
    # gradients are not computed at all).
    D.trunk.requires_grad_(False)
    D.d_head.requires_grad_(False)
    with amp():
        logit_fake, q_fake = D(aug(x_fake))
    loss_g = F.binary_cross_entropy_with_logits(logit_fake.float(), ones)
    ce, nll = info_terms(q_fake, cat_idx, cont, cfg)
    info = lam_cat * ce + lam_cont * nll
    bal = torch.zeros((), device=device)
    if cfg["lambda_bal"] > 0:  # on the real batch of the D step; detached, so only the Q head learns
        with amp():
            if pairs:  # and on the second warp of the same images
                q_real, q_pair = D.q_head(torch.cat([h_real.detach(), h_pair])).chunk(2)  # (B, n_q_out) each
            else:
                q_real, q_pair = D.q_head(h_real.detach()), None  # (B, n_q_out)
        bal = balance_term(q_real, cfg, q_pair)
    opt_g.zero_grad(set_to_none=True)
    (loss_g + info + cfg["lambda_bal"] * bal).backward()
    opt_g.step()
    D.trunk.requires_grad_(True)
    D.d_head.requires_grad_(True)
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "info": info.detach(),
            "ce": ce.detach(), "nll": nll.detach(), "bal": bal.detach()}


def set_linear_lr(opt_g, opt_d, cfg, progress):
    """--lr-decay linear: both rates fall linearly to 0 at progress = 1, the end of --epochs.
    --max-steps only stops a run early, so a resumed run follows the same curve."""
    for opt, base in ((opt_g, cfg["lr_g"]), (opt_d, cfg["lr_d"])):
        for group in opt.param_groups:
            group["lr"] = base * (1 - progress)


def ema_update(G_ema, G, decay, step):
    """G_ema <- β G_ema + (1 - β) G over the weights, β = min(decay, (1 + step) / (10 + step)) so
    the average forgets the random initial weights within the first few hundred steps."""
    beta = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for pe, p in zip(G_ema.parameters(), G.parameters()):
            pe.lerp_(p, 1 - beta)


@torch.no_grad()
def refresh_bn(G, cfg, n_batches=20, batch=256, seed=0):
    """Recompute G's BatchNorm statistics for its current weights from n_batches prior draws.
    Averaged weights need their own statistics: the running ones belong to the raw generator.
    A pure function of the weights (its own RNG), so resumed runs stay exact."""
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    G.train()
    for _ in range(n_batches):
        G(sample_latent(batch, cfg, generator=g)[0].to(device))
    for m in bns:
        m.momentum = 0.1
    return G.eval()


def data_permutation(seed, epoch, n, device):
    """The batch order of one epoch, a pure function of (seed, epoch) so resume is exact."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g).to(device)


class _StopFlag:
    """First Ctrl-C asks the loop to stop after the current step; a second one kills at once."""

    def __init__(self):
        self.set = False

    def __enter__(self):
        self.old = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.old)


def train(cfg, out_dir, ckpt=None, echo=click.echo, hook=None, progress=True):
    """Train InfoGAN with config `cfg`, writing into `out_dir`; resume from the dict `ckpt` if given.

    hook(step, G, D, G_ema), if given, is called after every step (benchmarks evaluate from it;
    G_ema is None with --ema 0, and needs refresh_bn before sampling);
    progress=False hides the per-epoch progress bar.
    Returns (G, D, final step)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg["device"])
    precision = resolve_precision(device, cfg["precision"])

    # seeding: weights from the global RNG, latents from their own generator, batches from (seed, epoch)
    torch.manual_seed(cfg["seed"])
    G, D = build_models(cfg, device)
    opt_g, opt_d = make_optimizers(G, D, cfg)
    # the generator we sample from: a running average of G's weights (--ema), or G itself
    G_ema = copy.deepcopy(G).requires_grad_(False) if cfg["ema"] else None
    gen = torch.Generator(device=device).manual_seed(cfg["seed"])
    step = 0
    if ckpt is not None:
        if G_ema is not None:
            G_ema.load_state_dict(ckpt["G_ema"])
        G.load_state_dict(ckpt["G"])
        D.load_state_dict(ckpt["D"])
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        gen.set_state(ckpt["latent_rng"])
        step = ckpt["step"]

    images, _ = load_mnist(cfg["data_dir"], "train")
    if images.shape[1:] != (cfg["img_size"], cfg["img_size"]):
        raise click.ClickException(f"data is {images.shape[1]}x{images.shape[2]}, model expects {cfg['img_size']}")
    data = to_tanh_range(images, device)  # (N, 1, 28, 28), loaded once, on the training device
    n, bs = data.shape[0], cfg["batch_size"]
    steps_per_epoch = n // bs  # drop the last partial batch
    if steps_per_epoch == 0:
        raise click.ClickException(f"--batch-size {bs} is larger than the dataset ({n} images)")
    total = cfg["epochs"] * steps_per_epoch
    if cfg["max_steps"]:
        total = min(total, cfg["max_steps"])
    grid_latent = fixed_grid_latent(cfg, device=device)
    grid_rows = cfg["cat"][0] if cfg["cat"] else 1
    train_seconds = ckpt.get("train_seconds", 0.0) if ckpt else 0.0
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")

    bn_step = [-1]  # the step at which G_ema's BatchNorm statistics were last recomputed

    def sampler():
        """The generator to draw images from, in eval mode (G_ema with fresh BatchNorm statistics,
        recomputed once per step however often it is asked for: checkpoint and grid share them)."""
        if G_ema is None:
            return G.eval()
        if bn_step[0] != step:
            refresh_bn(G_ema, cfg)
            bn_step[0] = step
        return G_ema.eval()

    def state():
        sampler()
        G.train()
        ema = {"G_ema": G_ema.state_dict()} if G_ema is not None else {}
        return {"format": CKPT_FORMAT, "config": cfg, "G": G.state_dict(), **ema, "D": D.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step,
                "epoch": step / steps_per_epoch, "latent_rng": gen.get_state(),
                "train_seconds": train_seconds}

    def write_grid():
        with torch.no_grad(), autocast_for(device, precision):
            imgs = sampler()(grid_latent)
        G.train()
        path = out_dir / "samples" / f"step_{step:07d}.png"
        save_grid(imgs, path, nrow=len(grid_latent) // grid_rows)
        return path

    sums, n_sum, t_log = None, 0, time.perf_counter()

    def check_finite():
        if sums is not None and not all(torch.isfinite(v).item() for v in sums.values()):
            raise click.ClickException(
                f"non-finite loss near step {step}; training stopped, the last good checkpoint "
                f"{out_dir / 'ckpt.pt'} is untouched (try a lower --lr-g/--lr-d)")

    echo(f"device {device} ({precision}), {steps_per_epoch} steps/epoch, training steps {step}..{total}, run dir {out_dir}")
    nl = "\n" if sys.stderr.isatty() else ""  # step lines start below a live progress bar
    metrics_file = open(out_dir / "metrics.jsonl", "a")
    try:
        with _StopFlag() as stop:
            while step < total:
                epoch = step // steps_per_epoch
                perm = data_permutation(cfg["seed"], epoch, n, device)
                first, last = step % steps_per_epoch, min(steps_per_epoch, total - epoch * steps_per_epoch)
                label = f"epoch {epoch + 1}/{math.ceil(total / steps_per_epoch)}"
                bar = click.progressbar(range(first, last), label=label, show_eta=True, file=sys.stderr) \
                    if progress else nullcontext(range(first, last))
                with bar as bar:
                    for i in bar:
                        t0 = time.perf_counter()
                        x = data[perm[i * bs:(i + 1) * bs]]
                        if cfg["lr_decay"] == "linear":
                            set_linear_lr(opt_g, opt_d, cfg, step / (cfg["epochs"] * steps_per_epoch))
                        losses = train_step(G, D, opt_g, opt_d, x, cfg, gen, precision)
                        if G_ema is not None:
                            ema_update(G_ema, G, cfg["ema"], step)
                        step += 1
                        sums = losses if sums is None else {k: sums[k] + v for k, v in losses.items()}
                        n_sum += 1
                        if step % cfg["log_every"] == 0 or step == total:
                            check_finite()
                            dt = time.perf_counter() - t_log
                            rec = {k: round(v.item() / n_sum, 5) for k, v in sums.items()}
                            rec = {"step": step, "epoch": round(step / steps_per_epoch, 3), **rec,
                                   "mi": round(entropy_cat(cfg) - rec["ce"], 5),
                                   "img_per_s": round(n_sum * bs / dt, 1)}
                            metrics_file.write(json.dumps(rec) + "\n")
                            metrics_file.flush()
                            echo(f"{nl}step {step:6d} | D {rec['loss_d']:.3f} | G {rec['loss_g']:.3f} | "
                                 f"info {rec['info']:.3f} | MI {rec['mi']:.3f}/{entropy_cat(cfg):.3f} | "
                                 f"{rec['img_per_s']:.0f} img/s")
                            sums, n_sum, t_log = None, 0, time.perf_counter()
                        train_seconds += time.perf_counter() - t0
                        if cfg["sample_every"] and step % cfg["sample_every"] == 0:
                            write_grid()
                        if hook is not None:
                            hook(step, G, D, G_ema)
                        if stop.set:
                            break
                if stop.set:
                    check_finite()
                    save_checkpoint(out_dir / "ckpt.pt", state())
                    raise click.ClickException(
                        f"interrupted at step {step}; checkpoint saved. Resume with: "
                        f"python infogan.py --resume {out_dir / 'ckpt.pt'}")
                check_finite()
                save_checkpoint(out_dir / "ckpt.pt", state())  # every epoch end, and at the end
                if not cfg["sample_every"] or step == total:
                    write_grid()
    finally:
        metrics_file.close()
    return G, D, step


# -----------------------------------------------------------------------------
# Command line


class OneLineCommand(click.Command):
    """A click command whose usage errors (bad option values) print one line, not the usage block."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            err = click.ClickException(e.format_message())
            err.exit_code = e.exit_code  # 2, as click gives usage errors
            raise err from None


def parse_cat(text):
    """'10' or '10,10' -> [10] / [10, 10]; '' or '0' -> [] (no categorical code)."""
    try:
        cats = [int(t) for t in str(text).replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise click.ClickException(f"--cat '{text}' is not a comma-separated list of integers")
    cats = [k for k in cats if k != 0]
    if any(k < 2 for k in cats):
        raise click.ClickException(f"--cat '{text}': each categorical code needs at least 2 values")
    return cats


def default_config(**overrides):
    """The config a plain `python infogan.py` run uses, with overrides (for benchmarks and tests)."""
    cfg = {p.name: p.default for p in main.params if p.name not in ("cat_spec", "resume")}
    n_cat = cfg.pop("n_cat")
    cfg.update(cat=[n_cat] if n_cat else [], img_size=28, channels=1, data_dir=str(DEFAULT_DATA_DIR), out=None)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise KeyError(f"unknown config keys: {sorted(unknown)}")
    return {**cfg, **overrides}


# options that may change when resuming; every other option comes from the checkpoint
RESUMABLE = {"epochs", "max_steps", "device", "sample_every", "log_every", "out", "data_dir"}


@click.command(cls=OneLineCommand, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--epochs", type=click.IntRange(min=1), default=10, help="Passes over the 60k training images (paper: 50).")
@click.option("--max-steps", type=click.IntRange(min=0), default=0, help="Stop after this many steps in all (0: no cap); for smoke runs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, help="Images per step (paper: 128).")
@click.option("--n-noise", type=click.IntRange(min=1), default=62, help="Dimensions of the incompressible noise z (paper: 62).")
@click.option("--noise", type=click.Choice(["normal", "uniform"]), default="uniform", help="Prior of z: N(0, I) or Unif(-1, 1) (as the paper's code).")
@click.option("--noise-scale", type=click.FloatRange(min=0, min_open=True), default=0.5, help="Multiplies z: smaller leaves more of the digit to the code.")
@click.option("--n-cat", type=click.IntRange(min=0), default=10, help="Values of the one categorical code (0: none).")
@click.option("--cat", "cat_spec", type=str, default=None, help="Several categorical codes, e.g. '10,10' (overrides --n-cat).")
@click.option("--n-cont", type=click.IntRange(min=0), default=2, help="Continuous codes ~ Unif(-1, 1) (paper: 2).")
@click.option("--lambda-cat", type=click.FloatRange(min=0), default=1.0, help="λ for the categorical info term (paper: 1).")
@click.option("--lambda-cont", type=click.FloatRange(min=0), default=0.1, help="λ for the continuous info term (paper: 'smaller').")
@click.option("--lambda-bal", type=click.FloatRange(min=0), default=6.0, help="λ_bal, weight of the balance term of Q on real images (0: off, as the paper).")
@click.option("--bal-pairs/--no-bal-pairs", default=True, help="Balance term from Q's codes c, c' for two warps of each real image: m·KL(P(c) || P(c_cat)) + H(c | c') (else one warp: m·KL).")
@click.option("--bal-marginal", type=click.FloatRange(min=0), default=3.0, help="m, weight of the even-spread part, KL(Q's share of real images || P(c_cat)), in the balance term (1 with --bal-pairs: ln K - I(c; c')).")
@click.option("--bal-entropy", type=click.FloatRange(min=0), default=0.0, help="Weight of Q's mean entropy on real images inside the balance term (1: λ_bal·(ln K - I_Q(c; x))); --bal-pairs's form already holds it, so it is ignored there.")
@click.option("--augment", type=click.IntRange(min=0), default=2, help="Shift every image D/Q see by up to N pixels (0: off)...")
@click.option("--rotate", type=click.FloatRange(0, 180), default=20.0, help="...and rotate it by up to this many degrees.")
@click.option("--zoom", type=click.FloatRange(0, 1, max_open=True), default=0.2, help="...and zoom it by a factor in [1 - zoom, 1 + zoom].")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=0.999, help="Sample from a running average of G's weights with this decay (0: off).")
@click.option("--learn-std/--fixed-std", default=False, help="Learn Q's std for continuous codes (else fixed at 1).")
@click.option("--info-trunk/--no-info-trunk", default=False, help="Let the info term train the trunk Q shares with D.")
@click.option("--lr-g", type=click.FloatRange(min=0, min_open=True), default=1e-3, help="Adam rate for G and Q (paper: 1e-3).")
@click.option("--lr-d", type=click.FloatRange(min=0, min_open=True), default=2e-4, help="Adam rate for D (paper: 2e-4).")
@click.option("--lr-decay", type=click.Choice(["none", "linear"]), default="none", help="Learning-rate schedule over the run.")
@click.option("--beta1", type=click.FloatRange(0, 1, max_open=True), default=0.5, help="Adam β1 (paper: 0.5).")
@click.option("--beta2", type=click.FloatRange(0, 1, max_open=True), default=0.999, help="Adam β2.")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", help="auto: bf16 autocast where the hardware has it.")
@click.option("--seed", type=int, default=0, help="Seeds weights, latents and batch order.")
@click.option("--device", type=str, default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Run directory [default: runs/<date-time>].")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Continue from this ckpt.pt (same run directory unless --out).")
@click.option("--sample-every", type=click.IntRange(min=0), default=0, help="Write a sample grid every N steps (0: every epoch).")
@click.option("--log-every", type=click.IntRange(min=1), default=100, help="Print and log losses every N steps.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA_DIR, help="Folder with the MNIST IDX .gz files.")
@click.pass_context
def main(ctx, cat_spec, resume, **opts):
    """Train InfoGAN on MNIST.

    \b
    Examples:
      python infogan.py --epochs 50 --n-cont 2       # the paper's MNIST run
      python infogan.py --max-steps 20 --out /tmp/smoke
      python infogan.py --cat 10,10 --n-cont 0       # two categorical codes
      python infogan.py --resume runs/<run>/ckpt.pt --epochs 60
    """
    cats = parse_cat(cat_spec) if cat_spec is not None else ([opts["n_cat"]] if opts["n_cat"] else [])
    if cat_spec is None and opts["n_cat"] == 1:
        raise click.ClickException("--n-cat 1: a categorical code needs at least 2 values")
    opts.pop("n_cat")
    cfg = {**opts, "cat": cats, "img_size": 28, "channels": 1}
    cfg["data_dir"] = str(cfg["data_dir"])
    ckpt = None
    if resume is not None:
        ckpt = read_checkpoint(resume)
        stored = ckpt["config"]
        for key in ("cat_spec", *opts):
            given = ctx.get_parameter_source(key if key != "cat_spec" else "cat_spec")
            if key in RESUMABLE or given != click.core.ParameterSource.COMMANDLINE:
                continue
            new = cats if key == "cat_spec" else cfg[key]
            old = stored["cat"] if key == "cat_spec" else stored.get(key)
            if new != old:
                raise click.ClickException(f"--{key.replace('_', '-')} cannot change on resume (checkpoint has {old})")
        overrides = {k: cfg[k] for k in RESUMABLE
                     if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
        cfg = {**stored, **overrides}
        out = Path(cfg["out"]) if "out" in overrides else resume.parent
    else:
        out = cfg["out"] or DEFAULT_RUNS_DIR / time.strftime("%Y%m%d-%H%M%S")
        if (Path(out) / "ckpt.pt").exists():
            raise click.ClickException(f"{out} already holds a run; use --resume {Path(out) / 'ckpt.pt'} or another --out")
    cfg["out"] = str(out)
    pick_device(cfg["device"])  # fail early on a bad device
    _, _, step = train(cfg, out, ckpt)
    click.echo(f"done at step {step}: {Path(out) / 'ckpt.pt'}")


if __name__ == "__main__":
    main()

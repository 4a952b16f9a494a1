"""InfoGAN (Chen et al. 2016, arXiv 1606.03657) on MNIST, in one file.

The generator G(z, c) takes incompressible noise z and a latent code c: categorical parts
c_cat ~ Cat(K) (one-hot) and continuous parts c_cont ~ Unif(-1, 1). InfoGAN asks that c stay
recoverable from G(z, c), by maximising a variational lower bound L_I on the mutual information
I(c; G(z, c)) with an auxiliary distribution Q(c | x) that shares D's convolutional trunk:

    min_{G,Q} max_D  V_InfoGAN(D, G, Q) = V(D, G) - λ L_I(G, Q)

    V(D, G)   = E_{x~data}[log D(x)] + E_{z,c}[log(1 - D(G(z, c)))]
    L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c | x)] + H(c)   <=   I(c; G(z, c))

In code (every loss is minimised; D outputs a logit; bce = BCEWithLogits; A(x) is a random warp):

    loss_d = bce(D(A(x)), 1) + bce(D(A(G(z, c))), 0)                  # -V(D, G): trains D
    loss_g = bce(D(A(G(z, c))), 1)                                      # non-saturating G side of V
    info   = λ_cat · CE(Q_cat(A(G(z, c))), c_cat)                       # -E[log Q(c_cat | x)]
           + λ_cont · NLL_N(c_cont; μ(A(G(z, c))), σ)                    # -E[log Q(c_cont | x)]
    bal    = m · KL(P_Q(c) || P(c_cat)) + H_Q(c | c')                   # not in the paper (below)
    cut    = CE(Q_cat(A(x)), y)                                         # not in the paper (below)
    rot    = CE(R(turn_k(A(x))), k),  k ~ U{0, 1, 2, 3}                 # not in the paper (below)
    D (its trunk, real/fake head and R) minimises loss_d + λ_rot · rot;
    G and Q's head minimise loss_g + info + λ_bal · bal + λ_cut · cut.
    mi = H(c_cat) - CE is the logged bound.

H(c) is a constant, so -λ L_I and `info` differ by a constant. σ = 1 unless learn_std. The paper
uses λ = 1 for categorical codes and a smaller λ for continuous ones (λ_cont = 0.1 here).

Which parameters each term trains: loss_d trains D's trunk and real/fake head, rot the trunk and R.
`info` trains G and Q's head only: the trunk Q shares with D learns from D's losses alone, so G can
make its code recoverable only through visible changes.

The balance term `bal` (weight λ_bal; 0 gives the paper's objective) is computed on the real images
of the D step and three more batches drawn at random (a closer estimate of P_Q(c)) and trains Q's
head only. If G matches the data and Q is G's posterior, Q's posterior averaged over real images is
the prior P(c_cat), uniform; the classic failure, one code drawing two digits while two codes split
a third, breaks that. c and c' are Q's codes for two random warps of each real image, P_Q(c, c') =
E_x[Q(c | A1 x) Q(c' | A2 x)] (symmetrised), P_Q(c) its marginal. With m = 1, bal = ln K - I(c; c'),
the invariant-information-clustering objective; m = 3 weighs the even spread more.

The cut `cut` (weight λ_cut) also trains Q's head only. Its targets y are pseudo-labels of the real
images, remade at the start of epoch 3 and of every later epoch up to 10 (the last one's stay): the
images are joined to their nearest neighbours in D's trunk features, and that graph is cut into K
groups of about equal size (spectral clustering, started from Q's own clusters, so group j stays
code j). The graph keeps digits apart where Q's head alone merges them (crossed 7s with 2s). No
labels are used anywhere.

The rotation loss `rot` (weight λ_rot) is the self-supervised GAN's (Chen et al. 2019): each real
image of the D step, warped, is turned by k quarter turns, and a linear head R on D's trunk learns k.
D's loss alone makes features for telling real from fake; telling how a digit is turned needs its
shape, and on the trunk this shapes Q groups the real digits more purely (docs/design.md §6).

Departures from the paper's MNIST setting, each measured (docs/design.md): z ~ 0.5 · Unif(-1, 1);
every image D and Q see is randomly shifted, rotated and zoomed (A above); the trunk is not trained
by `info`; the balance term, the cut and the rotation loss; images are drawn from G_ema, a running
average of G's weights, and evaluate.py reads Q from D_ema, one of D's; 10 epochs by default
(--epochs 50 is the paper's length).
"""

import contextlib
import copy
import functools
import gzip
import json
import math
import os
import shlex
import shutil
import signal
import sys
import time
import zlib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = HERE / "data" / "mnist"
CKPT_FORMAT = "infogan-ckpt-v2"  # marks our checkpoints (v2: the Config below); checked on load


@dataclass
class Config:
    """Every setting of a run, and the one place its defaults live. Checkpoints store asdict()."""

    # schedule
    epochs: int = 10  # passes over the 60k training images (paper: 50; docs/results.md)
    max_steps: int = 0  # stop after this many steps in all (0: no cap); for smoke runs
    batch_size: int = 128  # images per step (paper: 128)
    # latent code c and noise z
    cat: tuple = (10,)  # values of each categorical code; (10,) is the paper's one 10-way code
    n_cont: int = 2  # continuous codes c_cont ~ Unif(-1, 1) (paper: 2)
    learn_std: bool = False  # Q learns σ for the continuous codes (else σ = 1)
    n_noise: int = 62  # dimensions of z (paper: 62)
    noise_scale: float = 0.5  # z ~ noise_scale · Unif(-1, 1): a larger share of G's input for c
    # loss weights (module docstring)
    lambda_cat: float = 1.0  # λ of the categorical information term (paper: 1)
    lambda_cont: float = 0.1  # λ of the continuous information term (paper: "smaller")
    lambda_bal: float = 6.0  # λ_bal of the balance term on real images (0: the paper's objective)
    bal_marginal: float = 3.0  # m, the weight of the even spread inside the balance term
    bal_batches: int = 4  # batches of real images the balance term reads a step: the step's and 3 drawn at random
    lambda_cut: float = 1.0  # λ_cut of the cut's pseudo-labels for Q's head (0: no cuts)
    cut_from: int = 3  # the first epoch that starts with a cut: Q's clusters have formed by then
    cut_every: int = 0  # after epoch 10, a cut at the start of every cut_every-th epoch (0: none, the last stays)
    lambda_rot: float = 1.0  # λ_rot of the rotation loss on real images, which also trains D's trunk (0: none)
    # the random warp A of every image D and Q see, real or fake
    shift: int = 2  # up to this many pixels
    rotate: float = 20.0  # up to this many degrees
    zoom: float = 0.2  # by a factor in [1 - zoom, 1 + zoom]
    # optimisation
    lr_g: float = 1e-3  # Adam rate for G and Q's head (paper: 1e-3)
    lr_d: float = 2e-4  # Adam rate for D (paper: 2e-4)
    beta1: float = 0.5  # Adam β1 (paper: 0.5)
    beta2: float = 0.999  # Adam β2
    ema: float = 0.999  # decay of G_ema, the running average of G's weights that images come from
    ema_d: float = 0.99  # decay of D_ema, the running average of D's weights that Q is read from (evaluate.py)
    # how and where the run goes
    seed: int = 0  # seeds weights, latents, warps and batch order
    device: str = "auto"  # auto: cuda, then mps, then cpu
    precision: str = "auto"  # auto: bf16 autocast where it is the faster path, else fp32 (resolve_precision)
    data_dir: str = str(DEFAULT_DATA_DIR)  # folder with the MNIST IDX .gz files
    log_every: int = 100  # steps between lines of metrics.jsonl
    sample_every: int = 0  # steps between sample grids (0: one per epoch)

    def __post_init__(self):
        if not isinstance(self.cat, list | tuple) or not all(isinstance(k, int) for k in self.cat):
            raise ValueError(f"cat {self.cat!r} is not a list of integers")
        self.cat = tuple(self.cat)  # JSON and checkpoints turn tuples into lists

    @property
    def n_latent(self):
        """G's input: z, one one-hot per categorical code, the continuous codes."""
        return self.n_noise + sum(self.cat) + self.n_cont

    @property
    def n_q(self):
        """Q's outputs: logits for every categorical code, a mean (and a log σ) per continuous code."""
        return sum(self.cat) + self.n_cont * (2 if self.learn_std else 1)


# -----------------------------------------------------------------------------
# Networks (paper, appendix C.1)


class Generator(nn.Module):
    """G(z, c): latent (B, n_latent) -> image (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, n_latent):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(n_latent, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
        )  # fmt: skip
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1),  # 7 -> 14
            nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1),  # 14 -> 28
            nn.Tanh(),
        )  # fmt: skip

    def forward(self, latent):
        return self.conv(self.fc(latent).view(-1, 128, 7, 7))  # (B, 128, 7, 7) -> (B, 1, 28, 28)


class Discriminator(nn.Module):
    """A shared trunk, then two heads: D's real/fake logit and Q's code parameters (and R, the
    rotation head, where the rotation loss is on)."""

    def __init__(self, n_q, rot_head=False):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.1),  # 28 -> 14
            nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1),  # 14 -> 7
            nn.BatchNorm2d(128), nn.LeakyReLU(0.1),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.1),
        )  # fmt: skip
        self.d_head = nn.Linear(1024, 1)
        self.q_head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1), nn.Linear(128, n_q))
        self.rot_head = nn.Linear(1024, 4) if rot_head else None  # R: logits of 0, 1, 2, 3 quarter turns

    def forward(self, x):
        h = self.features(x)
        return self.logit(h), self.q(h)  # (B,), (B, n_q)

    def features(self, x):
        return self.trunk(x)  # (B, 1, 28, 28) -> (B, 1024)

    def logit(self, h):
        return self.d_head(h).squeeze(1)  # (B,) real/fake logit

    def q(self, h):
        return self.q_head(h)  # (B, n_q)

    def q_parameters(self):
        """What Q's head is: trained with G, by the information and balance terms."""
        return list(self.q_head.parameters())

    def d_parameters(self):
        """What D's losses train: the trunk, the real/fake head and R (Q's head is trained with G)."""
        rot = [*self.rot_head.parameters()] if self.rot_head is not None else []
        return [*self.trunk.parameters(), *self.d_head.parameters(), *rot]

    def freeze_d(self, frozen):
        """Freeze the trunk and the real/fake head, so G's step computes no gradients for them."""
        for p in self.d_parameters():
            p.requires_grad_(not frozen)


# -----------------------------------------------------------------------------
# Latent codes and the losses


def sample_codes(n, cfg, device="cpu", generator=None):
    """z (n, n_noise), c_cat (n, len(cat)) integer values, c_cont (n, n_cont), drawn from the priors."""
    z = (torch.rand(n, cfg.n_noise, device=device, generator=generator) * 2 - 1) * cfg.noise_scale
    cat_idx = [torch.randint(k, (n,), device=device, generator=generator) for k in cfg.cat]
    cat_idx = torch.stack(cat_idx, 1) if cat_idx else torch.zeros(n, 0, dtype=torch.long, device=device)
    cont = torch.rand(n, cfg.n_cont, device=device, generator=generator) * 2 - 1
    return z, cat_idx, cont


def make_latent(z, cat_idx, cont, cats):
    """G's input [z, one_hot(c_1), ..., one_hot(c_k), c_cont]: (B, n_latent)."""
    one_hots = [F.one_hot(cat_idx[:, i], k).to(z.dtype) for i, k in enumerate(cats)]
    return torch.cat([z, *one_hots, cont], dim=1)


def sample_latent(n, cfg, device="cpu", generator=None):
    """(G's input (n, n_latent), c_cat (n, len(cat)), c_cont (n, n_cont)) drawn from the priors."""
    z, cat_idx, cont = sample_codes(n, cfg, device, generator)
    return make_latent(z, cat_idx, cont, cfg.cat), cat_idx, cont


def split_q(q_out, cfg):
    """Q's output (B, n_q) -> (list of categorical logits (B, K_i), μ (B, n_cont), log σ (B, n_cont))."""
    n_cat, n = sum(cfg.cat), cfg.n_cont
    cat_logits = list(torch.split(q_out[:, :n_cat], list(cfg.cat), dim=1)) if cfg.cat else []
    mu = q_out[:, n_cat : n_cat + n]
    log_std = q_out[:, n_cat + n : n_cat + 2 * n] if cfg.learn_std else torch.zeros_like(mu)
    return cat_logits, mu, log_std


def info_terms(q_out, cat_idx, cont, cfg):
    """-E[log Q(c | x)], split into (categorical CE summed over codes, continuous Gaussian NLL)."""
    cat_logits, mu, log_std = split_q(q_out.float(), cfg)
    zero = q_out.new_zeros((), dtype=torch.float32)
    ce = sum((F.cross_entropy(lg, cat_idx[:, i]) for i, lg in enumerate(cat_logits)), zero)
    # -log N(c; μ, σ) = log σ + (c - μ)² / (2σ²) + ½ log 2π, summed over codes, mean over the batch
    nll = log_std + 0.5 * ((cont - mu) * torch.exp(-log_std)) ** 2 + 0.5 * math.log(2 * math.pi)
    return ce, nll.sum(1).mean()


def balance_term(q_a, q_b, cfg):
    """bal = m · KL(P_Q(c) || uniform) + H_Q(c | c'), summed over the categorical codes, from Q's
    outputs q_a, q_b (B, n_q) for two random warps of the same real images (module docstring).

    P_Q(c, c') is the batch mean of Q(c | warp 1) Q(c' | warp 2)ᵀ, symmetrised. The KL is 0 when Q
    spreads real images evenly over the codes; H(c | c') is 0 when Q is decisive and gives both warps
    of an image the same code. With m = 1 the sum is ln K - I(c; c')."""
    out = q_a.new_zeros((), dtype=torch.float32)
    for lg_a, lg_b in zip(split_q(q_a.float(), cfg)[0], split_q(q_b.float(), cfg)[0]):
        prob, K = lg_a.softmax(1), lg_a.shape[1]  # (B, K)
        joint = prob.T @ lg_b.softmax(1) / len(prob)  # (K, K) P(c, c')
        joint = ((joint + joint.T) / 2).clamp_min(1e-12)
        marg = joint.sum(1)  # (K,) P(c) = P(c')
        kl = (marg * (marg * K).log()).sum()  # KL(P(c) || uniform) = ln K - H(c)
        h_cond = -(joint * (joint.log() - marg[None, :].log())).sum()  # H(c | c') = H(c) - I(c; c')
        out = out + cfg.bal_marginal * kl + h_cond
    return out


def entropy_cat(cfg):
    """H(c_cat) of uniform categorical codes: Σ ln K_i (ln 10 ≈ 2.303 for the paper's code)."""
    return sum(math.log(k) for k in cfg.cat)


# -----------------------------------------------------------------------------
# The cut: pseudo-labels of the real images for Q's head


def cut_due(epoch, cfg):
    """Whether epoch `epoch` (1-based) starts with a new cut: epochs cut_from to 10, then every
    cut_every-th (0: none). The early cuts correct Q while its clusters form (7% of the images move at
    epoch 3, 2-3% from epoch 6). Later the graph is no purer than Q, and a cut made then can hand Q's
    head the crossed 7s of a converging G's 2s; the last early cut's labels hold Q in place instead."""
    if cfg.lambda_cut <= 0 or not cfg.cat or epoch < cfg.cut_from:
        return False
    return epoch <= 10 or (cfg.cut_every > 0 and epoch % cfg.cut_every == 0)


@torch.no_grad()
def spectral_cut(h, q_idx, k, knn=10, n_eig=14, eps=0.02, rounds=30, sim_dtype=torch.float32, chunk=2000):
    """Cut N images into k groups of about equal size from their features h (N, F), starting from
    Q's clusters q_idx (N,). Returns the group of each image (N,) int64, on h's device.

    Graph: each image joined to its knn most cosine-similar others (symmetrised, weight 1). Spectral
    embedding: the n_eig leading eigenvectors of D^-1/2 W D^-1/2, each row scaled to length 1.
    Clusters: k-means in that embedding, whose assignment step is balanced (Sinkhorn: soft
    assignments at temperature eps scaled so that every group gets 1/k of the images), started from
    the centroids of Q's clusters, so that group j stays code j. sim_dtype: of the similarities
    (bf16 where it is the faster path; they only rank neighbours). Deterministic for given h."""
    from scipy.sparse import csr_matrix, diags
    from scipy.sparse.linalg import eigsh

    n = len(h)
    knn, n_eig = min(knn, n - 1), min(n_eig, n - 1)  # a handful of images (tests) still cuts
    f = F.normalize(h.float(), dim=1).to(sim_dtype)  # (N, F)
    nbr = torch.empty(n, knn, dtype=torch.long)
    for i in range(0, n, chunk):  # (chunk, N) similarities at a time: all N² would not fit
        s = (f[i : i + chunk] @ f.T).float()
        s[torch.arange(len(s)), torch.arange(i, i + len(s))] = -2  # no image is its own neighbour
        nbr[i : i + chunk] = s.topk(knn, dim=1).indices.cpu()
    w = csr_matrix((np.ones(n * knn), (np.repeat(np.arange(n), knn), nbr.numpy().ravel())), shape=(n, n))
    w = ((w + w.T) > 0).astype(np.float64)  # (N, N) symmetric, 0/1
    d = diags(1 / np.sqrt(np.asarray(w.sum(1)).ravel()))
    v0 = np.random.default_rng(0).standard_normal(n)  # ARPACK's own start is random
    _, vecs = eigsh(d @ w @ d, k=n_eig, which="LA", tol=1e-6, v0=v0)  # (N, n_eig)
    emb = torch.from_numpy(vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
    q = q_idx.cpu()
    cent = torch.stack([emb[q == j].mean(0) if (q == j).any() else emb[j] for j in range(k)])  # (k, n_eig)
    for _ in range(rounds):
        logits = -torch.cdist(emb, cent).square() / eps  # (N, k)
        u, v = torch.zeros(n, dtype=emb.dtype), torch.zeros(k, dtype=emb.dtype)
        for _ in range(50):  # Sinkhorn: rows sum to 1/N, columns to 1/k (in log space)
            u = -math.log(n) - torch.logsumexp(logits + v, dim=1)
            v = -math.log(k) - torch.logsumexp(logits + u[:, None], dim=0)
        group = (logits + v).argmax(1)  # each image's most likely group under the balanced assignment
        cent = torch.stack([emb[group == j].mean(0) if (group == j).any() else cent[j] for j in range(k)])
    return group.to(h.device)


@torch.no_grad()
def cut_labels(D, data, cfg, precision, batch=2000):
    """The cut of all real images `data` (N, 1, 28, 28) by D's trunk features, unwarped, with D in
    eval mode (its BatchNorm running statistics). Returns (labels (N,), share of images whose label
    differs from Q's argmax)."""
    was_training = D.training
    D.eval()
    with autocast(data.device, precision):
        h = torch.cat([D.features(data[i : i + batch]) for i in range(0, len(data), batch)])  # (N, 1024)
        q_idx = torch.cat([D.q(h[i : i + batch]) for i in range(0, len(h), batch)])
    D.train(was_training)
    q_idx = split_q(q_idx.float(), cfg)[0][0].argmax(1)  # Q's clusters of the first categorical code
    labels = spectral_cut(h, q_idx, cfg.cat[0], sim_dtype=torch.bfloat16 if precision == "bf16" else torch.float32)
    return labels, (labels != q_idx).float().mean().item()


# -----------------------------------------------------------------------------
# One training step


def make_optimizers(G, D, cfg):
    """Adam for D (trunk and real/fake head) and for G with Q's head (the paper's rates)."""
    # fused: one kernel for all parameters, where the for-each default's sqrt/div passes over the two
    # 6.4M-weight FC layers dominated a CPU step (docs/results.md)
    kw = dict(betas=(cfg.beta1, cfg.beta2), fused=True)
    opt_g = torch.optim.Adam([*G.parameters(), *D.q_parameters()], lr=cfg.lr_g, **kw)
    opt_d = torch.optim.Adam(D.d_parameters(), lr=cfg.lr_d, **kw)
    return opt_g, opt_d


def warp(x, cfg, gen=None):
    """A(x): each image (B, 1, H, W) rotated by up to cfg.rotate degrees, zoomed by a factor in
    [1 - zoom, 1 + zoom] and shifted by up to cfg.shift pixels, its own random affine map each
    (bilinear, background -1). D sees the same warps on real and fake images, so they tell it nothing;
    Q sees only warped fakes, so G can make c_cat recoverable only through what survives a change of
    pose: the digit's identity. Differentiable in x, so G learns through it. All three 0: x itself."""
    if not (cfg.shift or cfg.rotate or cfg.zoom):
        return x
    B, C, H, W = x.shape
    u = torch.rand(B, 4, device=x.device, generator=gen) * 2 - 1  # (B, 4) uniform in [-1, 1)
    angle, scale = u[:, 0] * math.radians(cfg.rotate), 1 + u[:, 1] * cfg.zoom
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # theta maps each output pixel to where it samples the input, in [-1, 1] units (a pixel is 2/W)
    row_x = torch.stack([cos, -sin, u[:, 2] * cfg.shift * 2 / W], 1)
    row_y = torch.stack([sin, cos, u[:, 3] * cfg.shift * 2 / H], 1)
    grid = F.affine_grid(torch.stack([row_x, row_y], 1), [B, C, H, W], align_corners=False)  # (B, H, W, 2)
    # grid_sample fills outside the image with 0, so sample x + 1 (background 0) and shift back
    return F.grid_sample(x.float() + 1, grid, align_corners=False) - 1


def turn(x, k):
    """Each image x[i] (B, 1, H, W) turned by k[i] quarter turns (B,) counter-clockwise."""
    return torch.stack([torch.rot90(x, r, dims=(2, 3)) for r in range(4)])[k, torch.arange(len(x), device=x.device)]


def train_step(G, D, opt_g, opt_d, x_real, cfg, gen=None, precision="fp32", y_cut=None, pool=None):
    """One InfoGAN step on a real batch x_real (B, 1, 28, 28): D's step, then G and Q's step.
    y_cut (B,): the cut's labels of x_real (cut_labels), or None before the first cut.
    pool (N, 1, 28, 28): the real images the balance term's further batches are drawn from (None: none).
    Returns detached loss tensors (no host sync: the caller reads them when it logs)."""
    B, device = len(x_real), x_real.device
    latent, cat_idx, cont = sample_latent(B, cfg, device, gen)
    ones, zeros = torch.ones(B, device=device), torch.zeros(B, device=device)
    with autocast(device, precision):
        x_fake = G(latent)  # (B, 1, 28, 28)

    # D step: minimise loss_d + λ_rot · rot (loss_d = -V(D, G)). The second warp of the real images,
    # and bal_batches - 1 batches more drawn from the pool (two warps each), are for the balance term,
    # which trains Q's head in the G step (no gradient here; D's BatchNorm statistics see them). One
    # autocast context, so the bf16 copies of D's weights are made once for all these passes.
    more = cfg.lambda_bal > 0 and cfg.bal_batches > 1 and pool is not None
    with autocast(device, precision):
        h_real = D.features(warp(x_real, cfg, gen))  # (B, 1024)
        logit_real = D.logit(h_real)
        logit_fake = D.logit(D.features(warp(x_fake.detach(), cfg, gen)))
        if cfg.lambda_rot > 0:  # the real images, warped again, each turned by k quarter turns; R learns k
            k = torch.randint(4, (B,), generator=gen, device=device)
            rot_logits = D.rot_head(D.features(turn(warp(x_real, cfg, gen), k)))  # (B, 4)
        with torch.no_grad():
            h_real2 = D.features(warp(x_real, cfg, gen)) if cfg.lambda_bal > 0 else None
            if more:  # (bal_batches - 1) · B real images, drawn with replacement
                x_more = pool[torch.randint(len(pool), ((cfg.bal_batches - 1) * B,), generator=gen, device=device)]
                h_more, h_more2 = D.features(warp(x_more, cfg, gen)), D.features(warp(x_more, cfg, gen))
    bce = F.binary_cross_entropy_with_logits
    loss_d = bce(logit_real.float(), ones) + bce(logit_fake.float(), zeros)
    rot = F.cross_entropy(rot_logits.float(), k) if cfg.lambda_rot > 0 else torch.zeros((), device=device)
    opt_d.zero_grad(set_to_none=True)
    (loss_d + cfg.lambda_rot * rot).backward()
    opt_d.step()

    # G/Q step: minimise loss_g + info + λ_bal · bal + λ_cut · cut over G and Q's head. D's trunk and
    # head are frozen, so the G loss never trains them and their weight gradients are not computed.
    D.freeze_d(True)
    with autocast(device, precision):
        h_fake = D.features(warp(x_fake, cfg, gen))
        logit_fake, q_fake = D.logit(h_fake), D.q(h_fake)
    loss_g = bce(logit_fake.float(), ones)
    ce, nll = info_terms(q_fake, cat_idx, cont, cfg)
    info = cfg.lambda_cat * ce + cfg.lambda_cont * nll
    bal = cut = torch.zeros((), device=device)
    if cfg.lambda_bal > 0:  # real features detached: only Q's head learns from bal and cut
        with autocast(device, precision):
            q_real, q_real2 = D.q(torch.cat([h_real.detach(), h_real2])).chunk(2)  # (B, n_q) each
        q_a, q_b = q_real, q_real2
        if more:  # its own autocast context: sharing the one above changes the step's numbers (measured)
            with autocast(device, precision):
                q_more, q_more2 = D.q(torch.cat([h_more, h_more2])).chunk(2)  # ((bal_batches - 1) · B, n_q) each
            q_a, q_b = torch.cat([q_real, q_more]), torch.cat([q_real2, q_more2])
        bal = balance_term(q_a, q_b, cfg)
    if y_cut is not None:
        if cfg.lambda_bal <= 0:
            with autocast(device, precision):
                q_real = D.q(h_real.detach())
        cut = F.cross_entropy(split_q(q_real.float(), cfg)[0][0], y_cut)
    opt_g.zero_grad(set_to_none=True)
    (loss_g + info + cfg.lambda_bal * bal + cfg.lambda_cut * cut).backward()
    opt_g.step()
    D.freeze_d(False)
    losses = dict(loss_d=loss_d, loss_g=loss_g, info=info, ce=ce, nll=nll, bal=bal, cut=cut, rot=rot)
    return {k: v.detach() for k, v in losses.items()}


# -----------------------------------------------------------------------------
# The weight average G_ema, and the training loop


@torch.no_grad()
def ema_update(avg, model, decay, step):
    """avg <- β avg + (1 - β) model over the weights, β = min(decay, (1 + step) / (10 + step)), so
    the average forgets the random initial weights within the first few hundred steps."""
    beta = min(decay, (1 + step) / (10 + step))
    torch._foreach_lerp_(list(avg.parameters()), list(model.parameters()), 1 - beta)  # one op, not one per tensor


@contextlib.contextmanager
def recounted_bn(model):
    """Inside: `model` in train mode with its BatchNorm statistics reset to a plain average over the
    batches it sees. After: eval mode. Averaged weights need statistics of their own: the running
    ones belong to the raw model. Callers draw from their own RNG, so resumed runs stay exact."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    model.train()
    yield
    for m in bns:
        m.momentum = 0.1
    model.eval()


@torch.no_grad()
def refresh_bn(G, cfg, n_batches=20, batch=256, seed=0):
    """G_ema's BatchNorm statistics for its current weights, from n_batches prior draws; returns G
    in eval mode."""
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    with recounted_bn(G):
        for _ in range(n_batches):
            G(sample_latent(batch, cfg, generator=g)[0].to(device))
    return G


@torch.no_grad()
def refresh_bn_real(D, data, cfg, n_batches=20, batch=256, seed=0):
    """D_ema's BatchNorm statistics (trunk and Q's head), from n_batches of warped real images drawn
    from `data`; returns D in eval mode. Real ones because Q is read on real digits: D's running
    statistics average its real and fake batches."""
    g = torch.Generator(data.device).manual_seed(seed)
    with recounted_bn(D):
        for _ in range(n_batches):
            x = data[torch.randint(len(data), (batch,), generator=g, device=data.device)]  # (batch, 1, 28, 28)
            D.q(D.features(warp(x, cfg, g)))
    return D


def data_permutation(seed, epoch, n, device):
    """The batch order of one epoch, a pure function of (seed, epoch), so resume is exact."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
    return torch.randperm(n, generator=g).to(device)


def step_seed(seed, step):
    """The seed of one step's latents and warps. Reseeding the device's generator every step makes them
    a pure function of (seed, step): a checkpoint holds no generator state, which differs between
    devices (a CUDA generator's cannot be restored into a CPU one). A resume on the same device type
    and thread count continues bit-for-bit on a CPU; on CUDA, grid_sample's backward adds with atomics,
    so only up to rounding. On another device type it continues, but the same seed draws other numbers."""
    return (seed * 2**32 + step + 1) % 2**63


def d_ema_key(ckpt):
    """The checkpoint entry D_ema, and so Q's reading, comes from: checkpoints from before it have only D."""
    return "D_ema" if "D_ema" in ckpt else "D"


def build_run(cfg, device, ckpt=None):
    """Fresh models and optimisers for `cfg`, or those of the checkpoint dict `ckpt`.
    Returns (G, G_ema, D, D_ema, opt_g, opt_d, step, train_seconds, y_cut); y_cut: the last cut's labels
    or None. A checkpoint from before D_ema starts it from D."""
    # seeding: weights from the global RNG; batches from (seed, epoch) and latents and warps from (seed, step),
    # in train(), so a checkpoint needs no RNG state and resumes on any device (step_seed)
    torch.manual_seed(cfg.seed)
    G, D = build_models(cfg, device)
    G_ema, D_ema = copy.deepcopy(G).requires_grad_(False), copy.deepcopy(D).requires_grad_(False)
    opt_g, opt_d = make_optimizers(G, D, cfg)
    if ckpt is None:
        return G, G_ema, D, D_ema, opt_g, opt_d, 0, 0.0, None
    d_ema = d_ema_key(ckpt)
    try:
        for module, key in ((G, "G"), (G_ema, "G_ema"), (D, "D"), (D_ema, d_ema), (opt_g, "opt_g"), (opt_d, "opt_d")):
            module.load_state_dict(ckpt[key])
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
        raise click.ClickException(
            f"the checkpoint's weights do not fit its config ({str(e).splitlines()[0][:120]})"
        ) from None
    problem = next(filter(None, (weights_problem(ckpt[k]) for k in ("G", "G_ema", "D", d_ema))), None)
    if problem:
        raise click.ClickException(f"the checkpoint's weights are unusable ({problem})")
    y_cut = ckpt.get("cut")  # absent in checkpoints from before the cut
    y_cut = y_cut.to(device, torch.long) if isinstance(y_cut, torch.Tensor) and len(y_cut) else None
    return G, G_ema, D, D_ema, opt_g, opt_d, ckpt["step"], ckpt["train_seconds"], y_cut


def train(cfg, out_dir, ckpt=None, echo=click.echo, hook=None, progress=True):
    """Train with `cfg` into `out_dir`, resuming from the checkpoint dict `ckpt` if given.
    hook(step, G, D, G_ema), if given, runs after every step (benchmarks evaluate from it; G_ema
    needs refresh_bn before it draws). Returns (G, D, G_ema, final step)."""
    out_dir, device = Path(out_dir), pick_device(cfg.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # cuda:N: kernels and handles that use the current device use N
    if device.type != "cpu":
        check_warp_backward(device)
    precision, why = resolve_precision(device, cfg.precision)
    data = to_tanh_range(load_mnist(cfg.data_dir, "train")[0], device)  # (60000, 1, 28, 28), once, on the device
    n, bs = len(data), cfg.batch_size
    steps_per_epoch = n // bs  # the last partial batch is dropped
    if steps_per_epoch == 0:
        raise click.ClickException(f"--batch-size {bs} is larger than the data set ({n} images)")
    total = min(cfg.epochs * steps_per_epoch, cfg.max_steps or math.inf)
    G, G_ema, D, D_ema, opt_g, opt_d, step, train_seconds, y_cut = build_run(cfg, device, ckpt)
    if y_cut is not None and len(y_cut) != n:
        raise click.ClickException(f"the checkpoint's cut is of {len(y_cut)} images, but the data has {n}")
    gen = torch.Generator(device)  # latents and warps, reseeded every step (step_seed)
    lock = lock_run_dir(out_dir)  # only now: a start that fails above leaves no directory behind
    with run_files(out_dir), lock:
        write_atomic(out_dir / "config.json", lambda tmp: tmp.write_text(json.dumps(asdict(cfg), indent=2) + "\n"))
        echo(
            f"device {device}, {precision} ({why}), {steps_per_epoch} steps/epoch, steps {step}..{total}, in {out_dir}"
        )
        auto, auto_why = resolve_precision(device, "auto") if cfg.precision != "auto" else (precision, why)
        if auto != precision:
            echo(f"warning: {precision} is the slower path here; auto picks {auto} ({auto_why})", err=True)
        nl = "\n" if progress and sys.stderr.isatty() else ""  # log lines start below a live progress bar
        sums, n_sum, t_log = {}, 0, time.perf_counter()
        with StopFlag() as stop, open_metrics(out_dir, step) as metrics:
            while step < total and not stop.set:
                epoch = step // steps_per_epoch
                perm = data_permutation(cfg.seed, epoch, n, device)
                if step % steps_per_epoch == 0 and cut_due(epoch + 1, cfg):
                    t_cut = time.perf_counter()
                    y_cut, moved = cut_labels(D, data, cfg, precision)
                    train_seconds += time.perf_counter() - t_cut
                    echo(f"cut at the start of epoch {epoch + 1}: {moved:.1%} of the images leave Q's cluster")
                batches = range(step % steps_per_epoch, min(steps_per_epoch, total - epoch * steps_per_epoch))
                label = f"epoch {epoch + 1}/{math.ceil(total / steps_per_epoch)}"
                shown = click.progressbar(batches, label=label, file=sys.stderr) if progress else None
                with shown if shown is not None else contextlib.nullcontext(batches) as bar:
                    for i in bar:
                        t0 = time.perf_counter()
                        gen.manual_seed(step_seed(cfg.seed, step))
                        idx = perm[i * bs : (i + 1) * bs]
                        y = y_cut[idx] if y_cut is not None else None
                        losses = train_step(G, D, opt_g, opt_d, data[idx], cfg, gen, precision, y, pool=data)
                        ema_update(G_ema, G, cfg.ema, step)
                        ema_update(D_ema, D, cfg.ema_d, step)
                        step, n_sum = step + 1, n_sum + 1
                        sums = {k: sums.get(k, 0) + v for k, v in losses.items()}
                        if step % cfg.log_every == 0 or step == total:
                            seconds = time.perf_counter() - t_log
                            echo(nl + log_losses(metrics, sums, n_sum, step, steps_per_epoch, seconds, cfg))
                            sums, n_sum, t_log = {}, 0, time.perf_counter()
                        train_seconds += time.perf_counter() - t0
                        if cfg.sample_every and step % cfg.sample_every == 0:
                            write_sample_grid(out_dir, refresh_bn(G_ema, cfg), cfg, step, precision)
                        if hook is not None:
                            hook(step, G, D, G_ema)
                        if stop.set:
                            break
                refresh_bn(G_ema, cfg)  # G_ema's own BatchNorm statistics, for the checkpoint and the grid
                refresh_bn_real(D_ema, data, cfg)
                state = checkpoint_state(cfg, G, G_ema, D, D_ema, opt_g, opt_d, step, train_seconds, y_cut)
                save_checkpoint(out_dir / "ckpt.pt", state)  # at every epoch end, on a stop, and at the end
                if not cfg.sample_every or step == total:
                    write_sample_grid(out_dir, G_ema, cfg, step, precision)
    if stop.set:
        resume = f"python infogan.py --resume {shlex.quote(str(out_dir / 'ckpt.pt'))}"
        raise click.ClickException(f"interrupted at step {step}; checkpoint saved. Resume with: {resume}")
    return G, D, G_ema, step


# =============================================================================
# Plumbing: settings, data, devices, checkpoints, images, run directories and the command line.
# Nothing below changes what is trained; it makes runs start, save, resume and fail cleanly.
# =============================================================================


# What a setting may be, from the command line or from a checkpoint's config: (lowest, highest).
# The caps keep a typo (--n-cont 100000000000) from becoming an allocator error deep inside torch.
LIMITS = {
    "epochs": (1, 100_000), "max_steps": (0, 10**12), "batch_size": (2, 60_000), "n_cont": (0, 100),
    "n_noise": (0, 10_000), "noise_scale": (0, 100), "lambda_cat": (0, 1e6), "lambda_cont": (0, 1e6),
    "lambda_bal": (0, 1e6), "bal_marginal": (0, 1e6), "bal_batches": (1, 100), "lambda_cut": (0, 1e6),
    "cut_from": (1, 100_000), "cut_every": (0, 100_000), "lambda_rot": (0, 1e6), "shift": (0, 28),
    "rotate": (0, 360), "zoom": (0, 0.99), "lr_g": (1e-12, 1e3), "lr_d": (1e-12, 1e3), "beta1": (0, 0.9999),
    "beta2": (0, 0.9999), "ema": (0, 1), "ema_d": (0, 1), "seed": (0, 2**32 - 1), "log_every": (1, 10**12),
    "sample_every": (0, 10**12),
}  # fmt: skip
# Settings added after checkpoints of this format were first written, with the values that continue
# such a run as it was trained.
ADDED_LATER = {"lambda_cut": 0.0, "cut_from": 3, "cut_every": 5, "bal_batches": 1, "ema_d": 0.99, "lambda_rot": 0.0}
MAX_CAT_VALUES, MAX_CAT_CODES = 1000, 10  # values of one categorical code; categorical codes
PRECISIONS = ("auto", "bf16", "fp32")


def config_problem(cfg):
    """What is wrong with a Config's values (types and LIMITS), in a few words, or None."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if f.type is bool and not isinstance(v, bool):
            return f"{f.name} is {v!r}, not true or false"
        if f.type is str and not isinstance(v, str):
            return f"{f.name} is {v!r}, not a string"
        if f.type in (int, float):
            number = isinstance(v, int | float) and not isinstance(v, bool) and (f.type is float or isinstance(v, int))
            if not number or not math.isfinite(v):
                return f"{f.name} is {v!r}, not a finite {f.type.__name__}"
            lo, hi = LIMITS[f.name]
            if not lo <= v <= hi:
                return f"{f.name} {v} is outside {lo}..{hi}"
    if len(cfg.cat) > MAX_CAT_CODES or not all(2 <= k <= MAX_CAT_VALUES for k in cfg.cat):
        return f"cat {cfg.cat}: at most {MAX_CAT_CODES} codes of 2..{MAX_CAT_VALUES} values each"
    if cfg.precision not in PRECISIONS:
        return f"precision {cfg.precision!r} is not one of {', '.join(PRECISIONS)}"
    return None


# -----------------------------------------------------------------------------
# Data


def read_idx(path, magic, n_dims):
    """A gzipped IDX file as a uint8 array; a one-line error naming the file if it is bad."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise click.ClickException(f"cannot read {path}: {e}") from None
    header = 4 * (1 + n_dims)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise click.ClickException(f"{path} is not an IDX file (bad magic number)")
    dims = [int.from_bytes(raw[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(n_dims)]
    if len(raw) != header + math.prod(dims):
        raise click.ClickException(f"{path} is truncated or corrupt: expected {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable


def load_mnist(data_dir=DEFAULT_DATA_DIR, split="train"):
    """MNIST as (images uint8 (N, 28, 28), labels int64 (N,)) from the original IDX .gz files."""
    data_dir, prefix = Path(data_dir), "train" if split == "train" else "t10k"
    if not data_dir.is_dir():
        raise click.ClickException(f"data directory {data_dir} does not exist")
    images = read_idx(data_dir / f"{prefix}-images-idx3-ubyte.gz", 0x803, 3)
    labels = read_idx(data_dir / f"{prefix}-labels-idx1-ubyte.gz", 0x801, 1).astype(np.int64)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise click.ClickException(f"{data_dir}: {prefix} images {images.shape} do not fit labels {labels.shape}")
    if len(labels) and labels.max() > 9:
        raise click.ClickException(f"{data_dir}: {prefix} labels hold {labels.max()}; digits are 0..9")
    return images, labels


def to_tanh_range(images_uint8, device):
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [-1, 1], the generator's output range."""
    return torch.as_tensor(images_uint8, device=device).unsqueeze(1).float().div_(127.5).sub_(1.0)


# -----------------------------------------------------------------------------
# Devices and precision


def pick_device(name="auto"):
    """'auto' -> cuda, then mps, then cpu. Anything else must be a usable torch device."""
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise click.ClickException(f"unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise click.ClickException(f"unsupported device '{name}' (use auto, cpu, cuda, cuda:N or mps)")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise click.ClickException(f"device '{name}' is not here ({torch.cuda.device_count()} CUDA devices)")
    if dev.type == "mps" and not mps:
        raise click.ClickException(f"device '{name}' requested but MPS is not available here")
    return dev


def cpu_flags(path="/proc/cpuinfo"):
    """The instruction-set flags of this CPU as Linux lists them (a set), or None where there is no such file."""
    try:
        with open(path) as f:
            line = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        return None
    return set(line.partition(":")[2].split()) or None


def cpu_features():
    """(bf16, amx) of this CPU: whether it has bf16 instructions, and whether the OS grants AMX tiles.
    oneDNN also says bf16 on AVX-512 CPUs without AVX512-BF16, where it emulates bf16 and our step runs
    slower than in fp32 (results.md), so where Linux lists the CPU's flags they decide. torch asks the OS
    for AMX through a private call; a torch without it counts as no AMX."""
    bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if bf16 and (flags := cpu_flags()) is not None:
        bf16 = bool(flags & {"avx512_bf16", "amx_bf16"})
    init_amx = getattr(torch._C._cpu, "_init_amx", None)
    return bf16, init_amx is not None and bool(init_amx())


@functools.cache
def cpu_bf16_speedup(batch=32, rounds=2):
    """Time of our training step in fp32 over its time in bf16, measured here (under two seconds): the
    bf16 instructions alone do not say which is faster. The same instructions (AVX512-BF16, no AMX) ran
    the step at 0.78x fp32 on an Intel Xeon and at 1.86x on an AMD Zen 4 (docs/results.md). The step
    timed is the core one, without the balance term's further batches and the turns: those are more
    passes of the same trunk, and leave the ratio as it is (docs/results.md)."""
    cfg = Config(batch_size=batch, bal_batches=1, lambda_rot=0.0)
    with torch.random.fork_rng():  # the run's own seeding is untouched
        torch.manual_seed(0)
        G, D = build_models(cfg)
        opt_g, opt_d = make_optimizers(G, D, cfg)
        x, gen = torch.rand(batch, 1, 28, 28) * 2 - 1, torch.Generator().manual_seed(0)
        best = {"fp32": math.inf, "bf16": math.inf}
        for r in range(rounds + 1):  # alternating, so both see the same machine; round 0 warms up
            for precision in best:
                t0 = time.perf_counter()
                train_step(G, D, opt_g, opt_d, x, cfg, gen, precision, pool=x)
                if r:
                    best[precision] = min(best[precision], time.perf_counter() - t0)
    return best["fp32"] / best["bf16"]


def resolve_precision(device, precision):
    """(precision, why): 'auto' becomes bf16 where it is the faster path, else fp32.
    CUDA: bf16 where it is native (compute capability 8.0 or newer; older GPUs emulate it).
    CPU: fp32 without bf16 instructions, bf16 with AMX, and in between whichever measures faster.
    MPS: fp32 (not measured with bf16)."""
    if precision != "auto":
        return precision, f"--precision {precision}"
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        native = "native" if major >= 8 else "emulated"
        return ("bf16" if major >= 8 else "fp32"), f"auto: bf16 is {native} on compute capability {major}.{minor}"
    if device.type == "cpu":
        bf16, amx = cpu_features()
        if not bf16:
            return "fp32", "auto: this CPU has no bf16 instructions"
        if amx:
            return "bf16", "auto: this CPU has AMX"
        speedup = cpu_bf16_speedup()
        return ("bf16" if speedup >= 1.15 else "fp32"), f"auto: the step measured {speedup:.2f}x as fast in bf16 here"
    return "fp32", "auto: fp32 on MPS"


def synchronize(device):
    """Wait for the device's queued work, so a clock read after it counts that work (GPUs run async)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def check_warp_backward(device):
    """Training differentiates through grid_sample (the warp). Some torch builds have no backward
    kernel for it on MPS; find out with one tiny call, before any data is read, not at the first step."""
    try:
        x = torch.zeros(1, 1, 4, 4, device=device, requires_grad=True)
        grid = torch.zeros(1, 4, 4, 2, device=device)
        F.grid_sample(x, grid, align_corners=False).sum().backward()
    except (NotImplementedError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0][:100] if str(e).strip() else type(e).__name__
        raise click.ClickException(
            f"this torch cannot train on {device.type}: grid_sample's backward failed ({reason}); use --device cpu"
        ) from None


def autocast(device, precision):
    """A bf16 autocast context for 'bf16', a no-op for 'fp32'."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


def weight_layout(device):
    """channels_last conv weights: oneDNN's bf16 kernels prefer them (docs/results.md);
    MPS's support for the layout is patchier, so it keeps the default."""
    return torch.contiguous_format if torch.device(device).type == "mps" else torch.channels_last


def build_models(cfg, device="cpu"):
    """(G, D) for the config, on `device`, freshly initialised from torch's global RNG."""
    G = Generator(cfg.n_latent).to(device, memory_format=weight_layout(device))
    D = Discriminator(cfg.n_q, rot_head=cfg.lambda_rot > 0).to(device, memory_format=weight_layout(device))
    return G, D


# -----------------------------------------------------------------------------
# Writing files, and checkpoints


def write_atomic(path, write):
    """write(tmp) to a temp file beside `path`, then rename it to `path`: a reader never sees half a
    file, and a failed write (a full disk) leaves what was there and no temp file, with a one-line error."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:  # torch.save reports a failed write as a RuntimeError
        tmp.unlink(missing_ok=True)
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0][:100]
        raise click.ClickException(f"cannot write {path}: {reason}") from None


def save_checkpoint(path, state):
    """torch.save, atomically (write_atomic)."""
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def read_checkpoint(path):
    """(Config, checkpoint dict) from one of our checkpoints, or a one-line ClickException."""
    path = Path(path)
    if not path.is_file():
        raise click.ClickException(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain types only
    except Exception as e:  # pickle and zip errors come in many types
        raise click.ClickException(
            f"{path} is not an InfoGAN checkpoint (torch.load failed: {type(e).__name__})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CKPT_FORMAT:
        raise click.ClickException(f"{path} is not an InfoGAN checkpoint of this version (no '{CKPT_FORMAT}' marker)")
    stored, names = ckpt.get("config"), {f.name for f in fields(Config)}
    if isinstance(stored, dict):
        stored = {**ADDED_LATER, **stored}
    if not isinstance(stored, dict) or set(stored) != names:
        raise click.ClickException(f"{path}: its config does not match this version of infogan.py")
    try:
        cfg = Config(**stored)
    except ValueError as e:
        raise click.ClickException(f"{path}: its config is invalid ({e})") from None
    problem = config_problem(cfg) or step_problem(ckpt)
    if problem:
        raise click.ClickException(f"{path}: its config is invalid ({problem})")
    return cfg, ckpt


def step_problem(ckpt):
    step, seconds = ckpt.get("step"), ckpt.get("train_seconds")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return f"step is {step!r}, not a count of steps"
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        return f"train_seconds is {seconds!r}, not a number of seconds"
    return None


def all_finite(t):
    """Whether every value of a floating tensor is finite. Its least and largest values are both finite
    exactly when all are (aminmax propagates NaN): one pass and no mask the size of the tensor, which
    matters because every checkpoint saved or loaded checks three models' weights this way. On other
    devices (MPS) the plain mask, which every backend has."""
    if t.device.type not in ("cpu", "cuda"):
        return bool(torch.isfinite(t).all())
    return t.numel() == 0 or bool(torch.isfinite(torch.stack(torch.aminmax(t))).all())


def weights_problem(state):
    """Why a state dict's floating tensors cannot be trained or drawn from (not float32, or not finite), or None."""
    for name, t in state.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            if t.dtype != torch.float32:
                return f"{name} is {t.dtype}, not float32"
            if not all_finite(t):
                return f"{name} is not finite"
    return None


def load_checkpoint(path, device="cpu", ema=True):
    """(G, D, cfg, checkpoint dict) with the models in eval mode on `device`.
    G is G_ema, the running average that samples are drawn from, unless ema=False (the raw G).
    D is D_ema, the running average that Q is read from (checkpoints from before it: the raw D)."""
    cfg, ckpt = read_checkpoint(path)
    with torch.device("meta"):  # shapes only, no random initialisation to throw away: the file has every weight
        G, D = build_models(cfg, "meta")
    try:
        G.load_state_dict(ckpt["G_ema"] if ema else ckpt["G"], assign=True)
        D.load_state_dict(ckpt[d_ema_key(ckpt)], assign=True)
    except (KeyError, RuntimeError, TypeError, AttributeError) as e:
        raise click.ClickException(f"{path}: weights do not fit its config ({str(e).splitlines()[0][:120]})") from None
    problem = weights_problem(G.state_dict()) or weights_problem(D.state_dict())
    if problem:
        raise click.ClickException(f"{path}: its weights are unusable ({problem})")
    G, D = (m.to(device, memory_format=weight_layout(device)) for m in (G, D))
    return G.eval(), D.eval(), cfg, ckpt


# -----------------------------------------------------------------------------
# Images


def to_unit(x):
    """Images from G's range [-1, 1] to [0, 1] (ink weights, pixel values), as float."""
    return (x.float() + 1) / 2


def grid_array(images, nrow):
    """(N, 1, H, W) images in [-1, 1] -> one uint8 grid: `nrow` images per row (fewer if N is
    smaller), 2 white pixels around each, -1 black and 1 white: torchvision's make_grid layout, without
    importing torchvision (a large import for one function)."""
    x = to_unit(images.detach().cpu().clamp(-1, 1))  # (N, 1, H, W) in [0, 1]
    n, _, h, w = x.shape
    cols, rows = min(nrow, n), math.ceil(n / nrow)
    grid = torch.ones(rows * (h + 2) + 2, cols * (w + 2) + 2)  # white background and gaps
    for k in range(n):
        top, left = 2 + (k // nrow) * (h + 2), 2 + (k % nrow) * (w + 2)
        grid[top : top + h, left : left + w] = x[k, 0]
    return grid.mul(255).round().to(torch.uint8).numpy()


def save_grid(images, path, nrow):
    """Save (N, 1, 28, 28) images in [-1, 1] as one image grid with `nrow` images per row, atomically;
    the format follows the file's extension."""
    from PIL import Image

    fmt = Image.registered_extensions()[Path(path).suffix.lower()]
    write_atomic(path, lambda tmp: Image.fromarray(grid_array(images, nrow)).save(tmp, format=fmt))


def grid_latents(cfg, n, seed, fixed=None, vary=None, values=None):
    """Latents for one grid, (rows * cols, n_latent) in row-major order, and the number of columns.

    fixed: per categorical code a value or None. vary: index of the continuous code swept over
    `values` along the columns. Layout:
      no fixed code, no vary: rows = values of code 1, cols = n draws, each shared down its column
      fixed code, no vary:    an n x n grid of independent draws with the fixed codes set
      vary, no fixed code:    rows = values of code 1, cols = the sweep; one draw for the whole grid
      vary and a fixed code:  rows = n draws with the fixed codes set, cols = the sweep
    """
    cats = cfg.cat
    fixed = fixed or [None] * len(cats)
    by_code = bool(cats) and all(v is None for v in fixed)  # rows walk through code 1's values
    rows = cats[0] if by_code else n
    cols = len(values) if vary is not None else n
    r = torch.arange(rows).repeat_interleave(cols)  # each cell's row, (rows * cols,)
    c = torch.arange(cols).repeat(rows)  # each cell's column
    if by_code:
        draw = torch.zeros_like(c) if vary is not None else c
    else:
        draw = r if vary is not None else r * cols + c
    g = torch.Generator().manual_seed(seed)
    z, cat_idx, cont = sample_codes(int(draw.max()) + 1, cfg, generator=g)
    z, cat_idx, cont = z[draw], cat_idx[draw], cont[draw]  # indexing copies
    if by_code:
        cat_idx[:, 0] = r
    for i, v in enumerate(fixed):
        if v is not None:
            cat_idx[:, i] = v
    if vary is not None:
        cont[:, vary] = torch.as_tensor(values, dtype=cont.dtype)[c]
    return make_latent(z, cat_idx, cont, cats), cols


@torch.no_grad()
def generate(G, latent, batch=1000):
    """G's images (N, 1, 28, 28) for latents (N, n_latent), in batches."""
    return torch.cat([G(latent[i : i + batch]) for i in range(0, len(latent), batch)])


# -----------------------------------------------------------------------------
# The run directory: lock, metrics, stop on Ctrl-C


class StopFlag:
    """The first Ctrl-C (or SIGTERM, which schedulers and `timeout` send) asks the loop to stop after
    the current step and save; a second Ctrl-C stops at once."""

    def __enter__(self):
        self.set = False
        self.old = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def handle(self, signum, frame):
        if self.set and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


def lock_run_dir(out_dir):
    """Make out_dir and hold an exclusive lock on it for this process's life (released when it
    exits, however it exits), so a second run writing there is refused. Returns the open lock file."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = open(out_dir / ".lock", "w")  # noqa: SIM115 (held for the whole run: train() closes it)
    except OSError as e:
        raise click.ClickException(f"cannot write the run directory {out_dir}: {e.strerror}") from None
    try:
        import fcntl  # POSIX; elsewhere runs go unlocked

        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:
        pass
    except OSError:
        raise click.ClickException(f"another run is writing to {out_dir}") from None
    for orphan in out_dir.glob(".ckpt.pt.*.tmp"):  # a save cut short by a kill; ours now: we hold the lock
        orphan.unlink(missing_ok=True)
    return lock


@contextlib.contextmanager
def run_files(out_dir):
    """Around a run's writes: a file that cannot be written (a full disk) is a one-line error, and a run
    that fails before its first checkpoint leaves nothing behind (discard_run_files)."""
    try:
        yield
    except OSError as e:
        raise click.ClickException(f"cannot write to {out_dir}: {e.strerror or e}") from None
    finally:
        if not (out_dir / "ckpt.pt").exists():
            discard_run_files(out_dir)


def discard_run_files(out_dir):
    """Remove what a run that saved no checkpoint wrote (config, metrics, grids, lock), and out_dir
    itself if that leaves it empty: a failed start leaves nothing half made behind."""
    for name in ("config.json", "metrics.jsonl", ".lock"):
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "samples", ignore_errors=True)
    with contextlib.suppress(OSError):
        out_dir.rmdir()


def open_metrics(out_dir, step):
    """metrics.jsonl for appending, cut back to the lines up to `step` (0: a fresh run starts it
    anew), so after a kill and a resume each step appears once."""
    path = out_dir / "metrics.jsonl"
    keep = []
    for line in path.read_text().splitlines() if step and path.exists() else []:
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line + "\n")
        except (ValueError, KeyError, TypeError):  # a line cut short by a kill
            pass
    path.write_text("".join(keep))
    return open(path, "a")


def log_losses(file, sums, n_steps, step, steps_per_epoch, seconds, cfg):
    """Append the mean losses since the last line to metrics.jsonl; return them as a line to print."""
    r = {k: round(v.item() / n_steps, 5) for k, v in sums.items()}  # .item(): the loop's one host sync
    if not all(math.isfinite(v) for v in r.values()):
        raise click.ClickException(f"non-finite loss by step {step}; training stopped (try lower rates)")
    r = {"step": step, "epoch": round(step / steps_per_epoch, 3), **r, "mi": round(entropy_cat(cfg) - r["ce"], 5)}
    r["img_per_s"] = round(n_steps * cfg.batch_size / seconds, 1)
    file.write(json.dumps(r) + "\n")
    file.flush()
    return (
        f"step {step:6d} | D {r['loss_d']:.3f} | G {r['loss_g']:.3f} | info {r['info']:.3f} | "
        f"MI {r['mi']:.3f}/{entropy_cat(cfg):.3f} | {r['img_per_s']:.0f} img/s"
    )


def checkpoint_state(cfg, G, G_ema, D, D_ema, opt_g, opt_d, step, train_seconds, y_cut=None):
    """Everything a checkpoint holds: tensors and plain config only (loads with weights_only=True).
    y_cut: the last cut's labels (int16; empty before the first cut), so that a resume goes on with them.
    G_ema's and D_ema's BatchNorm statistics must be fresh (refresh_bn, refresh_bn_real). Refuses
    non-finite weights, so a diverged step never overwrites the last good checkpoint."""
    models = {"G": G, "G_ema": G_ema, "D": D, "D_ema": D_ema}
    for name, model in models.items():  # weights and BatchNorm statistics
        if not all(all_finite(t) for t in model.state_dict().values() if t.is_floating_point()):
            raise click.ClickException(f"{name} has non-finite weights at step {step}; not saved (try lower rates)")
    return {"format": CKPT_FORMAT, "config": asdict(cfg), "step": step, "train_seconds": train_seconds,
            **{k: m.state_dict() for k, m in models.items()}, "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "cut": (y_cut if y_cut is not None else torch.zeros(0)).to("cpu", torch.int16)}  # fmt: skip


def write_sample_grid(out_dir, G_ema, cfg, step, precision):
    """samples/step_N.png from G_ema (with fresh BatchNorm statistics): rows are the values of the
    first categorical code, columns share their noise."""
    latent, cols = grid_latents(cfg, n=10, seed=0)
    device = next(G_ema.parameters()).device
    with autocast(device, precision):
        images = generate(G_ema.eval(), latent.to(device))
    (out_dir / "samples").mkdir(exist_ok=True)
    save_grid(images, out_dir / "samples" / f"step_{step:07d}.png", nrow=cols)


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


def command():
    """The click command of every script here: one-line usage errors, -h, defaults shown in --help."""
    return click.command(
        cls=OneLineCommand, context_settings={"help_option_names": ["-h", "--help"], "show_default": True}
    )


class Finite(click.FloatRange):
    """A FloatRange that also refuses nan and inf (which pass every range check)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def new_run_dir(runs="runs"):
    """Make and return runs/<date-time>, or runs/<date-time>-2, -3, ... if a run started in the same
    second made that one first (mkdir is atomic, so two runs never get the same directory)."""
    base = Path(runs) / time.strftime("%Y%m%d-%H%M%S")
    for i in range(1, 1000):
        out = base if i == 1 else base.with_name(f"{base.name}-{i}")
        try:
            out.mkdir(parents=True)
            return out
        except FileExistsError:
            continue
        except OSError as e:
            raise click.ClickException(f"cannot make the run directory {out}: {e.strerror}") from None
    raise click.ClickException(f"too many runs started in one second under {runs}/")


def parse_cat(ctx, param, text):
    """--cat '10' or '10,10' -> (10,) / (10, 10); '0' or '' -> () (no categorical code)."""
    text = text.replace(" ", "")
    if text in ("", "0"):
        return ()
    try:
        cats = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a comma-separated list of integers") from None
    if any(k < 2 for k in cats):
        raise click.BadParameter(f"'{text}': each categorical code needs at least 2 values")
    if len(cats) > MAX_CAT_CODES or max(cats) > MAX_CAT_VALUES:
        raise click.BadParameter(f"'{text}': at most {MAX_CAT_CODES} codes of at most {MAX_CAT_VALUES} values each")
    return cats


# may change when resuming (if given); every other option is the checkpoint's
RESUMABLE = {"epochs", "max_steps", "precision", "log_every", "sample_every"}
MACHINE = {"device", "data_dir"}  # always this command's: they describe the machine, not the run
C = Config  # every default below is Config's
INT0, INT1, FLOAT0 = click.IntRange(min=0), click.IntRange(min=1), Finite(min=0)
INT_CONT = click.IntRange(*LIMITS["n_cont"])
RATE, SEED = Finite(min=0, min_open=True), click.IntRange(0, 2**32 - 1)
DIR, FILE = click.Path(file_okay=False, path_type=Path), click.Path(dir_okay=False, path_type=Path)
PRECISION, CAT = click.Choice(["auto", "bf16", "fp32"]), ",".join(map(str, C.cat))  # CAT: "10"


# fmt: off
@command()
@click.option("--epochs", type=INT1, default=C.epochs, help="Passes over the 60k training images (paper: 50).")
@click.option("--max-steps", type=INT0, default=C.max_steps, help="Stop after this many steps in all (0: no cap).")
@click.option("--batch-size", type=click.IntRange(min=2), default=C.batch_size, help="Images per step (paper: 128).")
@click.option("--cat", default=CAT, callback=parse_cat, help="Values of each categorical code: 10, 10,10 or 0.")
@click.option("--n-cont", type=INT_CONT, default=C.n_cont, help="Continuous codes ~ Unif(-1, 1) (paper: 2).")
@click.option("--learn-std", is_flag=True, help="Q learns σ of the continuous codes (else σ = 1).")
@click.option("--lambda-cat", type=FLOAT0, default=C.lambda_cat, help="λ of the categorical information term.")
@click.option("--lambda-cont", type=FLOAT0, default=C.lambda_cont, help="λ of the continuous information term.")
@click.option("--lambda-bal", type=FLOAT0, default=C.lambda_bal, help="λ_bal of the balance term (0: off).")
@click.option("--lambda-cut", type=FLOAT0, default=C.lambda_cut, help="λ_cut of the cut's labels for Q (0: no cuts).")
@click.option("--lambda-rot", type=FLOAT0, default=C.lambda_rot, help="λ_rot of the rotation loss on D (0: off).")
@click.option("--lr-g", type=RATE, default=C.lr_g, help="Adam rate for G and Q's head (paper: 1e-3).")
@click.option("--lr-d", type=RATE, default=C.lr_d, help="Adam rate for D (paper: 2e-4).")
@click.option("--seed", type=SEED, default=C.seed, help="Seeds weights, codes, warps, batches.")
@click.option("--device", default=C.device, help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@click.option("--precision", type=PRECISION, default=C.precision, help="auto: bf16 where it is the faster path.")
@click.option("--out", type=DIR, help="Run directory [default: runs/<date-time>].")
@click.option("--resume", type=FILE, help="Continue from this ckpt.pt (in its directory unless --out).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=C.data_dir, help="Folder of the MNIST IDX files.")
@click.option("--log-every", type=INT1, default=C.log_every, help="Print and log the losses every N steps.")
@click.option("--sample-every", type=INT0, default=C.sample_every, help="Sample grid every N steps (0: every epoch).")
# fmt: on
@click.pass_context
def main(ctx, out, resume, **opts):
    """Train InfoGAN on MNIST.

    \b
    Examples:
      python infogan.py                                 # the default: 10 epochs
      python infogan.py --epochs 50 --n-cont 2          # the paper's length
      python infogan.py --max-steps 20 --out /tmp/smoke
      python infogan.py --cat 10,10 --n-cont 0          # two categorical codes
      python infogan.py --resume runs/<run>/ckpt.pt --epochs 20
    """
    ckpt = None
    if out is not None and str(out) in ("", "."):  # click.Path turns '' into '.'
        raise click.ClickException("--out needs a directory name (runs go in a directory of their own)")
    if resume is None:
        cfg = Config(**opts)
        if problem := config_problem(cfg):
            raise click.ClickException(f"bad setting: {problem}")
        if out is not None and (out / "ckpt.pt").exists():
            raise click.ClickException(f"{out} already holds a run; use --resume {out / 'ckpt.pt'} or another --out")
    else:
        cfg, ckpt = read_checkpoint(resume)
        given = {k: v for k, v in opts.items() if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
        for key, value in given.items():
            if key not in RESUMABLE | MACHINE and value != getattr(cfg, key):
                raise click.ClickException(
                    f"--{key.replace('_', '-')} cannot change on resume (the checkpoint has {getattr(cfg, key)})"
                )
        cfg = replace(cfg, **{k: v for k, v in given.items() if k in RESUMABLE}, **{k: opts[k] for k in MACHINE})
        same = out is None or (out / "ckpt.pt").exists() and (out / "ckpt.pt").samefile(resume)
        if not same and any((out / f).exists() for f in ("ckpt.pt", "config.json", "metrics.jsonl")):
            raise click.ClickException(f"{out} already holds another run; resume into an empty directory")
        out = out or resume.parent
    pick_device(cfg.device)  # a bad device fails before the data is read
    made = out is None
    if made:
        out = new_run_dir()  # made now, so a run started in the same second cannot take it
    try:
        step = train(cfg, out, ckpt)[-1]
    except BaseException:
        if made:  # a start that failed before writing anything leaves no empty run directory
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    click.echo(f"done at step {step}: {out / 'ckpt.pt'}")


if __name__ == "__main__":
    main()

"""Throughput: images/s of the project's training step vs a plain fp32 eager PyTorch step.

Both train the same paper networks on the same batch size. The reference is the textbook step: fp32,
default (for-each) Adam, D then G/Q with D run again on the fakes and every parameter's gradient
computed. The project step is infogan.train_step with the default config (fused Adam, D's trunk
frozen in the G step so its weight gradients are not computed, the random warps of D's inputs, the
balance term's second view and its further batches of real images, the rotation loss's turned view)
plus the update of G_ema that the training loop does after every step. They run alternately in one
process, --repeats times, and the median of the per-repeat ratios is printed as one JSON line per
precision of the project step: the one `--precision auto` picks on this machine
(infogan.resolve_precision), fp32, and bf16 where the hardware has bf16 instructions.

    python benchmarks/throughput.py
    python benchmarks/throughput.py --batch-size 256 --repeats 7
"""

import copy
import dataclasses
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import click
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import infogan as ig  # noqa: E402


def reference_step(G, D, opt_g, opt_d, x_real, cfg):
    """A plain fp32 InfoGAN step, the way most implementations write it."""
    B = x_real.shape[0]
    latent, cat_idx, cont = ig.sample_latent(B, cfg, x_real.device)
    ones, zeros = torch.ones(B, device=x_real.device), torch.zeros(B, device=x_real.device)
    x_fake = G(latent)
    logit_real, _ = D(x_real)
    logit_fake, _ = D(x_fake.detach())
    loss_d = F.binary_cross_entropy_with_logits(logit_real, ones) + F.binary_cross_entropy_with_logits(
        logit_fake, zeros
    )
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    logit_fake, q = D(x_fake)
    ce, nll = ig.info_terms(q, cat_idx, cont, cfg)
    loss_g = F.binary_cross_entropy_with_logits(logit_fake, ones) + cfg.lambda_cat * ce + cfg.lambda_cont * nll
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()


def timed(fn, steps, device):
    """Seconds for `steps` calls of fn, counting the device's queued work (a GPU runs ahead of the host)."""
    ig.synchronize(device)
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    ig.synchronize(device)
    return time.perf_counter() - t


@click.command(context_settings={"show_default": True})
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Default: the training default.")
@click.option("--steps", type=click.IntRange(min=1), default=20, help="Timed steps per side per repeat.")
@click.option("--repeats", type=click.IntRange(min=1), default=5, help="Alternations of reference and project.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, help="Untimed steps per side first.")
@click.option("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
def main(batch_size, steps, repeats, warmup, device):
    """Print {ref_img_s, ours_img_s, ratio} for the default training step on this machine, auto and fp32."""
    cfg = ig.Config()
    bs = batch_size or cfg.batch_size
    device = ig.pick_device(device)
    x = torch.rand(bs, 1, 28, 28, device=device) * 2 - 1

    torch.manual_seed(0)
    Gr, Dr = ig.build_models(dataclasses.replace(cfg, lambda_rot=0.0), device)  # the paper's D: no rotation head
    Gr, Dr = Gr.to(memory_format=torch.contiguous_format), Dr.to(memory_format=torch.contiguous_format)  # plain layout
    betas = (cfg.beta1, cfg.beta2)
    opt_dr = torch.optim.Adam(Dr.d_parameters(), lr=cfg.lr_d, betas=betas)
    opt_gr = torch.optim.Adam([*Gr.parameters(), *Dr.q_parameters()], lr=cfg.lr_g, betas=betas)
    ref = lambda: reference_step(Gr, Dr, opt_gr, opt_dr, x, cfg)  # noqa: E731
    timed(ref, warmup, device)
    # auto's pick, fp32, and bf16 where the hardware has bf16 instructions but auto does not pick them
    if device.type == "cuda":
        native = torch.cuda.get_device_capability(device)[0] >= 8
    else:
        native = device.type == "cpu" and ig.cpu_features()[0]
    candidates = [ig.resolve_precision(device, cfg.precision)[0], "fp32", *(["bf16"] if native else [])]
    for precision in dict.fromkeys(candidates):
        torch.manual_seed(0)
        G, D = ig.build_models(cfg, device)
        opt_g, opt_d = ig.make_optimizers(G, D, cfg)
        G_ema, D_ema = copy.deepcopy(G), copy.deepcopy(D)

        def ours():
            ig.train_step(G, D, opt_g, opt_d, x, cfg, None, precision, pool=x)  # noqa: B023 (called in this loop)
            ig.ema_update(G_ema, G, cfg.ema, step=1000)  # noqa: B023
            ig.ema_update(D_ema, D, cfg.ema_d, step=1000)  # noqa: B023

        timed(ours, warmup, device)
        ratios, ref_ips, our_ips = [], [], []
        for _ in range(repeats):
            tr, to = timed(ref, steps, device), timed(ours, steps, device)
            ref_ips.append(bs * steps / tr)
            our_ips.append(bs * steps / to)
            ratios.append(tr / to)
        line = {
            "batch_size": bs,
            "device": str(device),
            "precision": precision,
            "threads": torch.get_num_threads(),
            "ref_img_s": round(statistics.median(ref_ips), 1),
            "ours_img_s": round(statistics.median(our_ips), 1),
            "ratio": round(statistics.median(ratios), 3),
            "ratios": [round(r, 3) for r in ratios],
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
        }
        click.echo(json.dumps(line))


if __name__ == "__main__":
    main()

"""Time to quality: train with the defaults under a wall-clock budget, evaluating agreement as it goes.

For each seed: train `python infogan.py`'s default config (plus any --set overrides), pause every
--eval-every steps to measure code/digit agreement with evaluate.py's functions (the pause is not
counted as training time), and report when agreement first reached --target. One JSON line per
seed, then a summary line with the median time over seeds.

    python benchmarks/time_to_quality.py --seeds 0,1,2 --budget 240
    python benchmarks/time_to_quality.py --seeds 0 --set lambda_cat=2 --set rotate=30
    python benchmarks/time_to_quality.py --seeds 0,1,2,3,4 --budget 1e9 --steps 1000 --eval-every 100
"""

import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import evaluate as ev  # noqa: E402
import infogan as ig  # noqa: E402


class Budget(Exception):
    pass


def parse_set(items):
    """key=value overrides of the default config; values parsed as JSON where possible (true, 2e-4, [10,10])."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_seed(seed, budget, steps, eval_every, target, n, overrides, clf, stop_at_target, log):
    try:  # the budget ends the run, not the epochs
        cfg = ig.Config(**{**overrides, "seed": seed, "epochs": 1000, "max_steps": steps})
    except TypeError as e:
        raise click.ClickException(f"--set: {e}") from None
    trace, state = [], {"train": 0.0, "mark": None, "hit": None}
    device = ig.pick_device(cfg.device)
    clf = clf.to(device)

    def hook(step, G, D, G_ema):
        # training time runs from mark to now; the budget is read off the host clock, and at each
        # evaluation the device's queue is waited for first, so the figures logged count all of it
        last = state["train"] + time.perf_counter() - state["mark"] >= budget or step == steps
        if step % eval_every == 0 or last:
            ig.synchronize(device)
            state["train"] += time.perf_counter() - state["mark"]
            # score what a checkpoint of this step would hold: the weight average when the run keeps one
            rep = ev.evaluate(ig.refresh_bn(G_ema, cfg), D, cfg, clf, n=n, seed=0, device=device, full=False)
            trace.append(
                {
                    "step": step,
                    "train_s": round(state["train"], 1),
                    "agreement": rep["agreement"],
                    "coverage": rep["coverage"],
                }
            )
            log(json.dumps({"seed": seed, **trace[-1]}))
            if state["hit"] is None and rep["agreement"] >= target:
                state["hit"] = trace[-1]
            if last or (stop_at_target and state["hit"]):
                raise Budget
            ig.synchronize(device)
            state["mark"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        state["mark"] = time.perf_counter()
        with contextlib.suppress(Budget):
            ig.train(cfg, out, hook=hook, echo=lambda *a, **k: None, progress=False)
    hit = state["hit"]
    return {
        "seed": seed,
        "target": target,
        "reached_s": hit["train_s"] if hit else None,
        "reached_step": hit["step"] if hit else None,
        "final": trace[-1] if trace else None,
        "best_agreement": max(t["agreement"] for t in trace) if trace else None,
        # the lowest agreement measured after the target was first reached (None: never reached)
        "lowest_after": min(t["agreement"] for t in trace if t["step"] >= hit["step"]) if hit else None,
        "overrides": overrides,
    }


@click.command(context_settings={"show_default": True})
@click.option("--seeds", default="0,1,2", help="Comma-separated training seeds.")
@click.option("--budget", type=float, default=240.0, help="Seconds of training per seed.")
@click.option(
    "--steps", type=click.IntRange(min=0), default=0, help="Also end each seed after this many steps (0: no cap)."
)
@click.option("--eval-every", type=click.IntRange(min=1), default=200, help="Steps between agreement checks.")
@click.option("--target", type=float, default=0.95, help="Agreement to reach.")
@click.option("--n", type=click.IntRange(min=10), default=200, help="Images per categorical value per check.")
@click.option(
    "--set", "sets", multiple=True, help="Override a field of infogan.Config: --set lambda_cat=2 (repeatable)."
)
@click.option("--stop-at-target", is_flag=True, help="End each seed as soon as it reaches --target.")
def main(seeds, budget, steps, eval_every, target, n, sets, stop_at_target):
    """Seconds of CPU training until code/digit agreement reaches --target (median over seeds)."""
    overrides = parse_set(sets)
    clf = ev.load_classifier()
    results = []
    for seed in [int(s) for s in seeds.split(",")]:
        res = run_seed(
            seed,
            budget,
            steps,
            eval_every,
            target,
            n,
            overrides,
            clf,
            stop_at_target,
            lambda s: click.echo(s, err=True),
        )
        click.echo(json.dumps(res))
        results.append(res)
    times = [r["reached_s"] if r["reached_s"] is not None else float("inf") for r in results]
    med = statistics.median(times)
    click.echo(
        json.dumps(
            {
                "summary": True,
                "target": target,
                "budget_s": budget,
                "seeds": len(results),
                "median_reached_s": None if med == float("inf") else med,
                "reached_steps": [r["reached_step"] for r in results],
                "lowest_after": [r["lowest_after"] for r in results],
                "reached": sum(t != float("inf") for t in times),
                "final_agreement": [r["final"]["agreement"] for r in results if r["final"]],
                "threads": torch.get_num_threads(),
                "overrides": overrides,
            }
        )
    )


if __name__ == "__main__":
    main()

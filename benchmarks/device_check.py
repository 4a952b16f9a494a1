"""One prepared check for a machine with a GPU: everything a GPU run needs, timed, into one folder.

In order: what the device is and which precision auto picks; throughput (fp32 and bf16 against the
textbook step); 50 training steps with every device-to-host sync an error; the card's command
`python infogan.py --epochs 50 --n-cont 2`, stopped by SIGTERM at its first log line (it saves) and
resumed to the end; the checkpoint scored and sampled on the CPU; the test suite. Each writes a file
in OUT (at most 8, all small) and summary.json gathers the figures. The run directory itself (a large
checkpoint) goes to --run-dir.

    python benchmarks/device_check.py /tmp/gpu_check                     # on the GPU, ~8 minutes
    python benchmarks/device_check.py /tmp/c --device cpu --max-steps 6 --batch-size 8 --data-dir D --quick
"""

import contextlib
import io
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import throughput  # noqa: E402  (beside this file)

import evaluate  # noqa: E402
import infogan as ig  # noqa: E402
import sample  # noqa: E402


def run(command, args):
    """A click command of the project, in this process: (exit code, seconds, what it printed)."""
    buf, t0 = io.StringIO(), time.perf_counter()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            command.main(args=[str(a) for a in args], standalone_mode=False)
            code = 0
        except click.ClickException as e:
            e.show()
            code = e.exit_code
    return code, round(time.perf_counter() - t0, 1), buf.getvalue()


def sync_free_steps(device, precision, steps, batch_size):
    """`steps` training steps with torch.cuda.set_sync_debug_mode('error'): a hidden host sync raises."""
    cfg = ig.Config(batch_size=batch_size)
    G, D = ig.build_models(cfg, device)
    opt_g, opt_d = ig.make_optimizers(G, D, cfg)
    x, gen = torch.rand(batch_size, 1, 28, 28, device=device) * 2 - 1, torch.Generator(device)
    ig.train_step(G, D, opt_g, opt_d, x, cfg, gen, precision, pool=x)  # first step: allocations, lazy inits
    if device.type == "cuda":
        torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(steps):
            ig.train_step(G, D, opt_g, opt_d, x, cfg, gen, precision, pool=x)
        return {"steps": steps, "ok": True}
    except RuntimeError as e:
        return {"steps": steps, "ok": False, "error": str(e).splitlines()[0][:200]}
    finally:
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("default")


def stop_and_resume(train_args, run_dir, data_dir, out):
    """Start training, SIGTERM it at its first log line, then resume the saved checkpoint to the end
    (on the same data: a resume reads --data-dir's default unless given one, like a device)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "infogan.py", *train_args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    first = []
    for line in proc.stdout:  # ends early if the run fails or ends before logging
        first.append(line)
        if line.startswith("step "):
            proc.send_signal(signal.SIGTERM)
            break
    first = "".join(first) + proc.communicate()[0]
    if not (run_dir / "ckpt.pt").exists():
        raise click.ClickException(f"the training run saved no checkpoint: {first.strip().splitlines()[-1:]}")
    step = ig.read_checkpoint(run_dir / "ckpt.pt")[1]["step"]
    code, _, rest = run(ig.main, ["--resume", run_dir / "ckpt.pt", "--data-dir", data_dir])
    (out / "train.log").write_text(first + rest)
    ckpt = ig.read_checkpoint(run_dir / "ckpt.pt")[1]
    return {
        "sigterm_stopped_it": proc.returncode == 1 and "interrupted at step" in first,
        "stopped_at_step": step,
        "resume_rc": code,
        "final_step": ckpt["step"],
        "wall_s": round(time.perf_counter() - t0, 1),
        "train_s": round(ckpt["train_seconds"], 1),
    }


@ig.command()
@click.argument("out", type=ig.DIR)
@click.option("--device", default="auto", help="The device to check: auto, cuda, cuda:N, mps or cpu.")
@click.option("--epochs", type=ig.INT1, default=50, help="Epochs of the training run (the card's 50).")
@click.option("--max-steps", type=ig.INT0, default=0, help="Cap the training run's steps (0: none).")
@click.option("--batch-size", type=click.IntRange(min=2), default=ig.Config.batch_size, help="Training batch.")
@click.option("--data-dir", type=ig.DIR, default=ig.DEFAULT_DATA_DIR, help="Folder of the MNIST IDX files.")
@click.option("--run-dir", type=ig.DIR, help="Where the training run goes [default: a temporary folder].")
@click.option("--precision", type=ig.PRECISION, default="auto", help="Of the training run and the sync check.")
@click.option("--quick", is_flag=True, help="A smoke run: short benchmarks, --quick evaluation, no test suite.")
def main(out, device, epochs, max_steps, batch_size, data_dir, run_dir, precision, quick):
    """Check training, speed and checkpoints on one device; figures into OUT/summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    dev = ig.pick_device(device)
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="device_check_")) / "run"
    precision, why = ig.resolve_precision(dev, precision)
    summary = {"device": str(dev), "torch": torch.__version__, "precision": precision, "why": why}
    if dev.type == "cuda":
        summary["gpu"] = torch.cuda.get_device_name(dev)
        summary["capability"] = torch.cuda.get_device_capability(dev)

    bench = ["--device", dev, "--batch-size", batch_size, *(["--steps", 1, "--repeats", 1, "--warmup", 0] * quick)]
    _, _, text = run(throughput.main, bench)
    (out / "throughput.jsonl").write_text(text)
    summary["throughput"] = [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    summary["sync_free"] = sync_free_steps(dev, precision, 3 if quick else 50, batch_size)

    train_args = ["--epochs", epochs, "--n-cont", 2, "--max-steps", max_steps, "--batch-size", batch_size,
                  "--device", dev, "--precision", precision, "--data-dir", data_dir, "--out", run_dir,
                  "--log-every", 1 if quick else 100]  # fmt: skip
    summary["train"] = stop_and_resume(list(map(str, train_args)), run_dir, data_dir, out)

    score = ["--device", "cpu", "--data-dir", data_dir, "--json", out / "eval.jsonl", *(["--quick", "--n", 10] * quick)]
    summary["evaluate_rc"], summary["evaluate_s"], _ = run(evaluate.main, [run_dir / "ckpt.pt", *score])
    summary["evaluate"] = json.loads((out / "eval.jsonl").read_text()) if (out / "eval.jsonl").exists() else None
    draw = ["--device", "cpu", "--out", out / "grid.png"]
    summary["sample_rc"], summary["sample_s"], _ = run(sample.main, [run_dir / "ckpt.pt", *draw])

    if not quick:
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "pytest", "-q"], capture_output=True, text=True, cwd=ROOT)
        (out / "pytest.txt").write_text(res.stdout + res.stderr)
        summary["pytest"] = {"rc": res.returncode, "s": round(time.perf_counter() - t0, 1),
                             "last_line": (res.stdout.strip().splitlines() or [""])[-1]}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    click.echo(json.dumps(summary))


if __name__ == "__main__":
    main()

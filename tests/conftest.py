import ctypes
import gc
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from torch.utils import serialization

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scripts are modules at the repository root

import infogan as ig  # noqa: E402

# glibc hands freed blocks larger than its mmap threshold back to the OS, and the next model built
# faults them in again, page by page: the tests build and drop dozens of models of ~50 MB with their
# Adam states, and that was a quarter of the suite's time as system time. Keep such blocks in the
# heap, here and in the scripts the tests start (their environment). Not glibc: nothing to do.
_KEEP = {"MALLOC_MMAP_THRESHOLD_": 32 << 20, "MALLOC_TRIM_THRESHOLD_": (1 << 31) - 1}  # glibc's largest
os.environ.update({k: str(v) for k, v in _KEEP.items()})
try:
    _mallopt = ctypes.CDLL("libc.so.6").mallopt
    _mallopt(-3, _KEEP["MALLOC_MMAP_THRESHOLD_"])  # M_MMAP_THRESHOLD
    _mallopt(-1, _KEEP["MALLOC_TRIM_THRESHOLD_"])  # M_TRIM_THRESHOLD
except (OSError, AttributeError):
    pass


def write_idx(path, array, magic):
    """Write a uint8 array as a gzipped IDX file (big-endian header, then raw bytes)."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def script(name, *args, cwd=None):
    """Run one of the project's scripts in a fresh Python process; returns the CompletedProcess."""
    cmd = [sys.executable, str(ROOT / name), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


def train_cli(tiny_data, *args):
    """infogan.py's CLI in-process on the tiny data set (batch 8: 3 steps per epoch; a step of the
    paper's networks at batch 8 costs half one at batch 32, and the tests run dozens)."""
    fixed = ["--batch-size", "8", "--data-dir", str(tiny_data), "--device", "cpu", "--log-every", "1"]
    return CliRunner().invoke(ig.main, [*map(str, args), *fixed])


@pytest.fixture(scope="session", autouse=True)
def cheap_bn_refresh():
    """G_ema's and D_ema's BatchNorm statistics from 2 x 32 draws instead of 20 x 256 at every save:
    the same code, ~80x less work (it was most of a tiny run's time). The tests of refresh_bn and
    refresh_bn_real pass their own sizes. Session-wide and autouse, so it is in place before the shared
    runs below are made."""
    with pytest.MonkeyPatch.context() as mp:
        for f in (ig.refresh_bn, ig.refresh_bn_real):
            mp.setattr(f.__wrapped__, "__defaults__", (2, 32, 0))
        yield


@pytest.fixture(scope="session", autouse=True)
def cheap_style_sweeps():
    """evaluate.py's sweeps of the continuous codes over 8 draws instead of 200 (sample.py --vary runs
    them too): the same code, 25x less work. The test of what they measure passes its own size."""
    import evaluate as ev

    with pytest.MonkeyPatch.context() as mp:
        f = ev.cont_effects.__wrapped__  # under torch.no_grad
        mp.setattr(f, "__defaults__", (8, *f.__defaults__[1:]))
        yield


@pytest.fixture(scope="session", autouse=True)
def checkpoints_without_crc():
    """torch.save without the zip's CRC-32 of each record: a checkpoint (G, G_ema, D and both Adam
    states, ~190 MB) is written dozens of times here, and the checksum is two thirds of each write.
    Such a file loads the same. Session-wide, in this process."""
    save = serialization.config.save
    was, save.compute_crc32 = save.compute_crc32, False
    yield
    save.compute_crc32 = was


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A 24-image "train" split and a 50-image "test" split in IDX files, both cut from MNIST's test
    set (the smaller file to read)."""
    d = tmp_path_factory.mktemp("tiny_mnist")
    images, labels = ig.load_mnist(ig.DEFAULT_DATA_DIR, "test")
    for split, part in (("train", slice(0, 24)), ("t10k", slice(96, 146))):
        write_idx(d / f"{split}-images-idx3-ubyte.gz", images[part], 0x803)
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", labels[part], 0x801)
    return d


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_data, tmp_path_factory):
    """A 4-step run (epoch 1 is steps 1-3) with codes of 10 and 3 values and 2 continuous codes
    (read-only: copy to change)."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    res = train_cli(tiny_data, "--max-steps", 4, "--out", out, "--cat", "10,3")
    assert res.exit_code == 0, res.output
    return out / "ckpt.pt"


def pytest_collection_finish(session):
    """Freeze the objects the imports made (torch's, numpy's and the test modules'), so that the cyclic
    garbage collector's passes (about 1,700 a run) skip them: 1.3-1.4 s of collection a run against
    2.2-2.4 s (docs/results.md)."""
    gc.freeze()

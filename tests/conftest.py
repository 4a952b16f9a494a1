import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scripts are modules at the repository root

import infogan as ig  # noqa: E402


def write_idx(path, array, magic):
    """Write a uint8 array as a gzipped IDX file (big-endian header, then raw bytes)."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A 96-image MNIST train split (and 50-image test split) in IDX files: 3 steps per epoch at batch 32."""
    d = tmp_path_factory.mktemp("tiny_mnist")
    for split, n in (("train", 96), ("t10k", 50)):
        images, labels = ig.load_mnist(ig.DEFAULT_DATA_DIR, "train" if split == "train" else "test")
        write_idx(d / f"{split}-images-idx3-ubyte.gz", images[:n], 0x803)
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", labels[:n], 0x801)
    return d

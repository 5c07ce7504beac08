"""Data sets: the embedded digits default, synthetic sets, MNIST/CIFAR-10 from local files.

Every loader returns a :class:`Split`. Nothing is downloaded: digits ship with
scikit-learn, MNIST and CIFAR-10 are read from a folder the user provides, and a missing
file is reported by name together with the expected layout. See ``docs/adapters.md``,
section "Data".
"""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Split:
    """A train/test split. ``shape`` is the shape of one input sample."""

    X_train: Tensor
    y_train: Tensor
    X_test: Tensor
    y_test: Tensor
    name: str
    shape: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        """Number of classes (``max label + 1``) for integer labels."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def __repr__(self) -> str:
        return (
            f"Split({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"shape={self.shape})"
        )


def _split_indices(n: int, test_fraction: float, seed: int, labels: np.ndarray | None):
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    from sklearn.model_selection import train_test_split

    return train_test_split(
        np.arange(n), test_size=test_fraction, random_state=seed, stratify=labels
    )


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature z-score with the *train* mean and std (constant features: std 1)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std < 1e-8] = 1.0
    return (train - mean) / std, (test - mean) / std


def _select_classes(
    X: np.ndarray, y: np.ndarray, classes: Sequence[int] | None, relabel: bool
) -> tuple[np.ndarray, np.ndarray]:
    if classes is None:
        return X, y
    classes = list(classes)
    unknown = sorted(set(classes) - set(np.unique(y).tolist()))
    if unknown or len(set(classes)) != len(classes):
        raise ValueError(
            f"classes must be distinct labels present in the data; bad: {unknown or classes}"
        )
    keep = np.isin(y, classes)
    X, y = X[keep], y[keep]
    if relabel:
        y = np.searchsorted(np.array(sorted(classes)), y)
    return X, y


def digits(
    seed: int = 0,
    test_fraction: float = 0.25,
    flat: bool = True,
    dtype: torch.dtype = torch.float32,
    classes: Sequence[int] | None = None,
    *,
    relabel: bool = True,
    standardize: bool = True,
) -> Split:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), split stratified by ``seed``.

    Pixels are scaled by 1/16 and, with ``standardize``, z-scored per pixel with the train
    statistics. ``flat=False`` gives ``(N, 1, 8, 8)`` images. ``classes`` keeps a subset,
    relabelled to ``0..k-1`` in increasing order of the original label unless
    ``relabel=False``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = _select_classes(bunch.data / 16.0, bunch.target, classes, relabel)
    tr, te = _split_indices(len(y), test_fraction, seed, y)
    Xtr, Xte = X[tr], X[te]
    if standardize:
        Xtr, Xte = _standardize(Xtr, Xte)
    shape = (64,) if flat else (1, 8, 8)
    return Split(
        torch.tensor(Xtr, dtype=dtype).reshape(-1, *shape),
        torch.tensor(y[tr], dtype=torch.long),
        torch.tensor(Xte, dtype=dtype).reshape(-1, *shape),
        torch.tensor(y[te], dtype=torch.long),
        "digits" if classes is None else f"digits{tuple(classes)}",
        shape,
    )


def synthetic_blobs(
    n: int = 200,
    d: int = 2,
    k: int = 3,
    separation: float = 3.0,
    seed: int = 0,
    test_fraction: float = 0.25,
    dtype: torch.dtype = torch.float32,
) -> Split:
    """``k`` Gaussian blobs (unit covariance) in ``R^d`` with centres drawn at scale
    ``separation``; ``n`` points in total, labels ``0..k-1``."""
    if n < 2 * k or k < 2:
        raise ValueError(f"need k >= 2 and n >= 2k, got n={n}, k={k}")
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=separation, size=(k, d))
    y = np.arange(n) % k
    X = centres[y] + rng.normal(size=(n, d))
    tr, te = _split_indices(n, test_fraction, seed, y)
    return Split(
        torch.tensor(X[tr], dtype=dtype),
        torch.tensor(y[tr], dtype=torch.long),
        torch.tensor(X[te], dtype=dtype),
        torch.tensor(y[te], dtype=torch.long),
        "blobs",
        (d,),
    )


def synthetic_regression(
    n: int = 200,
    d: int = 3,
    noise: float = 0.1,
    seed: int = 0,
    test_fraction: float = 0.25,
    dtype: torch.dtype = torch.float32,
) -> Split:
    """Linear regression data ``y = X w + noise`` with ``X, w ~ N(0, 1)``; ``y`` is ``(N, 1)``.
    The true ``w`` is not returned; fit it by least squares if a test needs it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=(d, 1))
    y = X @ w + noise * rng.normal(size=(n, 1))
    tr, te = _split_indices(n, test_fraction, seed, None)
    return Split(
        torch.tensor(X[tr], dtype=dtype),
        torch.tensor(y[tr], dtype=dtype),
        torch.tensor(X[te], dtype=dtype),
        torch.tensor(y[te], dtype=dtype),
        "regression",
        (d,),
    )


# -- MNIST ------------------------------------------------------------------------------
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_LAYOUT = (
    "expected the four MNIST idx files (optionally .gz) in the folder, or in <folder>/MNIST/raw: "
    + ", ".join(MNIST_FILES.values())
)


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (the MNIST format: magic ``0 0 dtype ndim``, big-endian sizes)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file (bad magic number)")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but holds {body.size} bytes")
    return body.reshape(dims)


def _find(
    folder: Path, names: Sequence[str], subdirs: Sequence[str], layout: str, exts=("",)
) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist; {layout}")
    found = []
    for name in names:
        candidates = [folder / s / (name + ext) for s in subdirs for ext in exts]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            raise FileNotFoundError(f"missing file {name} in {folder}; {layout}")
        found.append(hit)
    return found


def load_mnist(
    folder: str | Path,
    flat: bool = True,
    dtype: torch.dtype = torch.float32,
    limit: int | None = None,
) -> Split:
    """MNIST from the standard idx files in ``folder`` (see :data:`MNIST_FILES`), pixels
    scaled to ``[0, 1]``; ``limit`` keeps the first ``limit`` samples of each part."""
    paths = _find(
        Path(folder),
        list(MNIST_FILES.values()),
        [".", "MNIST/raw", "raw"],
        MNIST_LAYOUT,
        ("", ".gz"),
    )
    Xtr, ytr, Xte, yte = (read_idx(p)[:limit] for p in paths)
    for X, y, part in ((Xtr, ytr, "train"), (Xte, yte, "test")):
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"MNIST {part}: images {X.shape} do not match labels {y.shape}")
    h, w = Xtr.shape[1:]
    shape = (h * w,) if flat else (1, h, w)
    return Split(
        torch.tensor(Xtr / 255.0, dtype=dtype).reshape(-1, *shape),
        torch.tensor(ytr, dtype=torch.long),
        torch.tensor(Xte / 255.0, dtype=dtype).reshape(-1, *shape),
        torch.tensor(yte, dtype=torch.long),
        "mnist",
        shape,
    )


# -- CIFAR-10 ---------------------------------------------------------------------------
CIFAR10_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR10_TEST = "test_batch"
CIFAR10_LAYOUT = (
    "expected the CIFAR-10 python batches (pickled dicts with b'data' (N, 3072) uint8 and "
    "b'labels') in <folder>/cifar-10-batches-py or in the folder itself: "
    + ", ".join([*CIFAR10_TRAIN, CIFAR10_TEST])
)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a CIFAR-10 python batch ({exc!r})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{path}: data {data.shape} / labels {labels.shape} are not CIFAR-10")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(
    folder: str | Path,
    dtype: torch.dtype = torch.float32,
    standardize: bool = True,
    limit: int | None = None,
) -> Split:
    """CIFAR-10 from the python pickle batches, ``(N, 3, 32, 32)`` in ``[0, 1]``; with
    ``standardize`` each channel is z-scored with the train statistics. ``limit`` keeps the
    first ``limit`` samples of each part."""
    names = [*CIFAR10_TRAIN, CIFAR10_TEST]
    paths = _find(Path(folder), names, ["cifar-10-batches-py", "."], CIFAR10_LAYOUT)
    parts = [_read_cifar_batch(p) for p in paths]
    Xtr = np.concatenate([p[0] for p in parts[:-1]])[:limit] / 255.0
    ytr = np.concatenate([p[1] for p in parts[:-1]])[:limit]
    Xte, yte = parts[-1][0][:limit] / 255.0, parts[-1][1][:limit]
    if standardize:
        mean = Xtr.mean(axis=(0, 2, 3), keepdims=True)
        std = Xtr.std(axis=(0, 2, 3), keepdims=True) + 1e-8
        Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
    return Split(
        torch.tensor(Xtr, dtype=dtype),
        torch.tensor(ytr, dtype=torch.long),
        torch.tensor(Xte, dtype=dtype),
        torch.tensor(yte, dtype=torch.long),
        "cifar10",
        (3, 32, 32),
    )

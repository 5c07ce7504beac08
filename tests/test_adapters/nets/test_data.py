"""Data loaders: split sizes, determinism, class subsets, and local MNIST/CIFAR-10 files."""

from __future__ import annotations

import gzip
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from adapters.nets.data import (
    digits,
    load_cifar10,
    load_mnist,
    read_idx,
    synthetic_blobs,
    synthetic_regression,
)


def test_digits_sizes_shapes_and_stratification() -> None:
    d = digits()
    assert len(d.y_test) == math.ceil(0.25 * 1797) and len(d.y_train) + len(d.y_test) == 1797
    assert d.X_train.shape == (len(d.y_train), 64) and d.X_train.dtype == torch.float32
    assert d.shape == (64,) and d.n_classes == 10
    counts = np.bincount(load_digits().target)
    test_counts = np.bincount(d.y_test.numpy())
    assert np.all(np.abs(test_counts - 0.25 * counts) <= 1)  # stratified


def test_digits_standardized_by_train_statistics() -> None:
    d = digits()
    raw = load_digits().data / 16.0
    mean, std = d.X_train.mean(0), d.X_train.std(0, unbiased=False)
    varying = std > 0
    assert torch.allclose(mean, torch.zeros(64), atol=1e-5)
    assert torch.allclose(std[varying], torch.ones(int(varying.sum())), atol=1e-4)
    assert int(varying.sum()) <= int((raw.std(0) > 0).sum())
    plain = digits(standardize=False)
    assert float(plain.X_train.min()) >= 0.0 and float(plain.X_train.max()) <= 1.0
    rows = {tuple(r) for r in (raw * 16).round().astype(int).tolist()}
    assert tuple((plain.X_train[0] * 16).round().int().tolist()) in rows


def test_digits_deterministic_by_seed() -> None:
    a, b, c = digits(seed=3), digits(seed=3), digits(seed=4)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_train, c.y_train)


def test_digits_images_and_dtype() -> None:
    d = digits(flat=False, dtype=torch.float64)
    assert d.X_train.shape[1:] == (1, 8, 8) and d.shape == (1, 8, 8)
    assert d.X_test.dtype == torch.float64
    assert torch.equal(d.X_train.reshape(-1, 64), digits(dtype=torch.float64).X_train)


def test_digits_class_subset_relabelled() -> None:
    d = digits(classes=(7, 2, 9))
    target = load_digits().target
    assert set(d.y_train.tolist()) == {0, 1, 2}
    total = np.bincount(np.concatenate([d.y_train.numpy(), d.y_test.numpy()]))
    assert total.tolist() == [int((target == c).sum()) for c in (2, 7, 9)]  # sorted order
    keep = digits(classes=(7, 2, 9), relabel=False)
    assert set(keep.y_test.tolist()) == {2, 7, 9}
    with pytest.raises(ValueError, match="bad: \\[11\\]"):
        digits(classes=(1, 11))


def test_synthetic_sets() -> None:
    b = synthetic_blobs(n=90, d=4, k=3, separation=20.0, seed=1)
    assert b.X_train.shape[1] == 4 and len(b.y_train) + len(b.y_test) == 90
    centres = torch.stack([b.X_train[b.y_train == c].mean(0) for c in range(3)])
    nearest = torch.cdist(b.X_test, centres).argmin(1)
    assert float((nearest == b.y_test).float().mean()) == 1.0
    r = synthetic_regression(n=200, d=3, noise=0.01, seed=2, dtype=torch.float64)
    w = torch.linalg.lstsq(r.X_train, r.y_train).solution
    assert float((r.X_test @ w - r.y_test).abs().max()) < 0.05
    assert torch.equal(synthetic_blobs(seed=5).X_train, synthetic_blobs(seed=5).X_train)


# -- MNIST ------------------------------------------------------------------------------
def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _fake_mnist(folder: Path, n_train: int = 5, n_test: int = 3, gz: bool = False) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        if gz:
            with gzip.open(folder / (name + ".gz"), "wb") as fh:
                fh.write(_idx(a))
        else:
            (folder / name).write_bytes(_idx(a))
    return arrays


def test_mnist_missing_folder_and_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist.*train-images-idx3-ubyte"):
        load_mnist(tmp_path / "nowhere")
    _fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="missing file t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path: Path, gz: bool) -> None:
    arrays = _fake_mnist(tmp_path / "MNIST" / "raw", gz=gz)
    s = load_mnist(tmp_path)
    assert s.X_train.shape == (5, 784) and s.X_test.shape == (3, 784)
    expected = torch.tensor(arrays["train-images-idx3-ubyte"].reshape(5, -1) / 255.0).float()
    assert torch.equal(s.X_train, expected)
    assert s.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    images = load_mnist(tmp_path, flat=False, limit=2)
    assert images.X_train.shape == (2, 1, 28, 28)


def test_read_idx_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(_idx(np.zeros(4))[:-1])
    with pytest.raises(ValueError, match="holds 3 bytes"):
        read_idx(short)


# -- CIFAR-10 ---------------------------------------------------------------------------
def _fake_cifar(folder: Path, n: int = 4) -> list[np.ndarray]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    datas = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        datas.append(data)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": labels}, fh)
    return datas


def test_cifar10_reads_pickled_batches(tmp_path: Path) -> None:
    datas = _fake_cifar(tmp_path / "cifar-10-batches-py")
    s = load_cifar10(tmp_path, standardize=False)
    assert s.X_train.shape == (20, 3, 32, 32) and s.X_test.shape == (4, 3, 32, 32)
    first = torch.tensor(datas[0][0].reshape(3, 32, 32) / 255.0).float()
    assert torch.equal(s.X_train[0], first)
    z = load_cifar10(tmp_path)
    assert torch.allclose(z.X_train.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)


def test_cifar10_missing_file_is_named(tmp_path: Path) -> None:
    _fake_cifar(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="missing file data_batch_3.*cifar-10-batches-py"):
        load_cifar10(tmp_path)

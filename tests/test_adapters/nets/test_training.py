"""Training with recording: repeatability, bounded checkpoints, resume, branching."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from adapters.nets.data import synthetic_blobs
from adapters.nets.models import cnn_bn, mlp
from adapters.nets.params import ParamSpace
from adapters.nets.training import train
from adapters.nets.trajectory import Trajectory


def _blobs():
    return synthetic_blobs(n=120, d=4, k=3, separation=3.0, seed=0)


def _net(seed: int = 0):
    torch.manual_seed(seed)
    return mlp(4, (8,), 3)


def test_same_seed_bit_identical_and_seed_matters() -> None:
    kw = dict(lr=0.2, momentum=0.9, batch_size=16, steps=30, record_every=5)
    a = train(_net(), _blobs(), seed=1, **kw)
    b = train(_net(), _blobs(), seed=1, **kw)
    c = train(_net(), _blobs(), seed=2, **kw)
    assert a.trajectory.steps == list(range(0, 31, 5))
    assert torch.equal(a.trajectory.points(), b.trajectory.points())
    assert torch.equal(a.trajectory[0], c.trajectory[0])  # same start
    assert not torch.equal(a.trajectory[-1], c.trajectory[-1])  # different data order
    assert torch.equal(a.trajectory[-1], a.theta)


def test_one_sgd_step_by_hand() -> None:
    data = _blobs()
    net = _net()
    space = ParamSpace(net)
    theta0 = space.vector()
    res = train(net, (data.X_train, data.y_train), lr=0.5, batch_size=10_000, steps=1)
    grad_net = _net()
    F.cross_entropy(grad_net(data.X_train), data.y_train).backward()
    grad = torch.cat([p.grad.flatten() for p in grad_net.parameters()])
    torch.testing.assert_close(res.theta, theta0 - 0.5 * grad, rtol=0, atol=1e-6)
    assert res.test_acc is None and res.trajectory.steps == [0, 1]


def test_learns_blobs_and_reports_metrics() -> None:
    res = train(
        _net(), _blobs(), optimizer="adam", lr=0.05, epochs=10, batch_size=16, schedule="cosine"
    )
    assert res.train_acc > 0.9 and res.test_acc is not None and res.test_acc > 0.85
    with torch.no_grad():
        out = res.model(_blobs().X_test)
    assert res.test_loss == pytest.approx(float(F.cross_entropy(out, _blobs().y_test)), abs=1e-6)
    assert res.steps == 10 * 6 and not res.model.training


def test_disk_recording_is_bounded_and_evenly_spaced(tmp_path: Path) -> None:
    res = train(_net(), _blobs(), lr=0.1, steps=50, record_every=2, keep=6, out_dir=tmp_path)
    traj = res.trajectory
    assert len(traj) <= 6 and traj.steps[0] == 0 and traj.steps[-1] == 50
    gaps = {b - a for a, b in zip(traj.steps[:-1], traj.steps[1:-1])}
    assert len(gaps) <= 1  # even spacing, except possibly the final step
    files = sorted(p.name for p in tmp_path.glob("ckpt_*.pt"))
    assert files == sorted(p.name for p in traj.paths)
    assert not list(tmp_path.glob("*.tmp"))
    reopened = Trajectory.open(tmp_path)
    assert reopened.steps == traj.steps
    assert torch.equal(reopened.points(), traj.points())


def test_resume_after_interruption_is_bit_identical(tmp_path: Path) -> None:
    kw = dict(lr=0.1, momentum=0.9, batch_size=16, steps=40, record_every=4, seed=3, keep=5)
    full = train(_net(), _blobs(), out_dir=tmp_path / "full", **kw)

    def crash_at_25(step: int, total: int) -> float:
        if step == 25:
            raise KeyboardInterrupt
        return 1.0

    with pytest.raises(KeyboardInterrupt):
        train(_net(), _blobs(), out_dir=tmp_path / "cut", schedule=crash_at_25, **kw)
    resumed = train(_net(9), _blobs(), out_dir=tmp_path / "cut", resume=True, **kw)
    assert resumed.trajectory.steps == full.trajectory.steps
    assert torch.equal(resumed.trajectory.points(), full.trajectory.points())
    assert resumed.history == full.history


def test_branching_from_a_checkpoint(tmp_path: Path) -> None:
    trunk = train(_net(), _blobs(), lr=0.1, steps=10, out_dir=tmp_path)
    ckpt = trunk.trajectory.paths[-1]
    a = train(_net(5), _blobs(), lr=0.1, steps=5, init=ckpt, seed=1)
    b = train(_net(6), _blobs(), lr=0.1, steps=5, init=trunk.theta, seed=2)
    assert torch.equal(a.trajectory[0], trunk.theta) and torch.equal(b.trajectory[0], trunk.theta)
    assert not torch.equal(a.theta, b.theta)


def test_label_noise_flips_the_requested_fraction() -> None:
    from adapters.nets.training import _noisy_labels

    y = torch.arange(100) % 4
    noisy = _noisy_labels(y, 0.3, seed=0)
    assert int((noisy != y).sum()) == 30
    assert int(noisy.max()) <= 3
    res = train(_net(), _blobs(), lr=0.1, steps=5, label_noise=0.5)
    assert res.train_acc >= 0.0


def test_batchnorm_model_records_its_statistics() -> None:
    torch.manual_seed(0)
    net = cnn_bn(channels=2, out_features=3)
    X = torch.randn(32, 1, 8, 8)
    y = torch.randint(0, 3, (32,))
    res = train(net, (X, y), lr=0.1, steps=3, batch_size=8)
    assert res.space.buffers == "include"
    assert res.theta.numel() == ParamSpace(net, buffers="include").n
    assert torch.equal(res.theta[-4:], net[4].running_var)
    assert not torch.equal(res.trajectory[0][-4:], res.theta[-4:])


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of epochs= or steps="):
        train(_net(), _blobs(), epochs=1, steps=1)
    with pytest.raises(ValueError, match="optimizer"):
        train(_net(), _blobs(), steps=1, optimizer="lbfgs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keep"):
        train(_net(), _blobs(), steps=1, keep=1)
    with pytest.raises(ValueError, match="schedule"):
        train(_net(), _blobs(), steps=1, schedule="exp")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="trajectory.json"):
        Trajectory.open(tmp_path)

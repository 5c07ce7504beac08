"""Training with a recorded trajectory (the morphisms of Param come from here).

:func:`train` runs minibatch SGD/Adam and records the flat parameter vector every
``record_every`` steps. With ``out_dir`` each checkpoint is one file written atomically
(temporary file, then ``os.replace``); memory and disk are bounded by ``keep`` (the number
of checkpoints kept), not by the number of steps: when more than ``keep`` checkpoints
exist, every other interior one is dropped and the recording interval doubles, so the
kept checkpoints stay evenly spaced over the whole run. A run is a deterministic function
of its arguments (data order, label noise and dropout come from ``seed``), and a run in
``out_dir`` that was interrupted continues where it stopped with ``resume=True`` and ends
bit-identical to an uninterrupted run. See ``docs/adapters.md``, section "Training and
recording".
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.nets.data import Split
from adapters.nets.metrics import accuracy_of
from adapters.nets.params import BufferPolicy, ParamSpace

Schedule = Literal["constant", "cosine", "linear"] | Callable[[int, int], float] | None
INDEX = "trajectory.json"
STATE = "state.pt"


def _atomic_save(obj: object, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_json(obj: object, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


class Trajectory:
    """Checkpoints ``theta_{s_0}, theta_{s_1}, ...`` of one run, loaded lazily.

    Each entry is a file path (a ``torch.save``'d dict with ``"theta"`` and ``"step"``) or
    an in-memory tensor. ``points()`` stacks them into ``(K, n)``.
    """

    def __init__(self, steps: list[int], items: list[Path | Tensor]) -> None:
        if len(steps) != len(items):
            raise ValueError(f"{len(steps)} steps but {len(items)} checkpoints")
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(f"checkpoint steps must increase strictly, got {steps}")
        self.steps = list(steps)
        self._items = list(items)

    @classmethod
    def open(cls, folder: str | Path) -> Trajectory:
        """The trajectory recorded in ``folder`` (reads its ``trajectory.json`` index)."""
        folder = Path(folder)
        index = folder / INDEX
        if not index.is_file():
            raise FileNotFoundError(f"no trajectory index {INDEX} in {folder}")
        data = json.loads(index.read_text())
        return cls(data["steps"], [folder / f for f in data["files"]])

    @property
    def paths(self) -> list[Path]:
        """Checkpoint files (empty for an in-memory trajectory)."""
        return [p for p in self._items if isinstance(p, Path)]

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Tensor:
        item = self._items[i]
        if isinstance(item, Tensor):
            return item
        return torch.load(item, map_location="cpu", weights_only=True)["theta"]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def points(self) -> Tensor:
        """All checkpoints as a ``(K, n)`` tensor."""
        return torch.stack(list(self))

    def __repr__(self) -> str:
        where = "disk" if self.paths else "memory"
        return f"Trajectory(K={len(self)}, steps={self.steps[:1]}..{self.steps[-1:]}, {where})"


@dataclass
class TrainResult:
    """What :func:`train` returns. Accuracies and losses are full-batch, in eval mode;
    test values are ``None`` when no test set was given."""

    model: nn.Module
    space: ParamSpace
    trajectory: Trajectory
    theta: Tensor
    steps: int
    train_loss: float
    train_acc: float
    test_loss: float | None
    test_acc: float | None
    history: list[tuple[int, float]] = field(default_factory=list)


class _Recorder:
    """Keeps at most ``keep`` evenly spaced checkpoints (thinning by halves)."""

    def __init__(self, every: int, keep: int | None, out_dir: Path | None, resume: bool) -> None:
        if every < 1:
            raise ValueError(f"record_every must be positive, got {every}")
        if keep is not None and keep < 2:
            raise ValueError(f"keep must be at least 2 (first and last), got {keep}")
        self.every, self.keep, self.out_dir = every, keep, out_dir
        self.steps: list[int] = []
        self.items: list[Path | Tensor] = []
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            if resume and (out_dir / INDEX).is_file():
                data = json.loads((out_dir / INDEX).read_text())
                self.every = data["every"]
                self.steps = data["steps"]
                self.items = [out_dir / f for f in data["files"]]

    def due(self, step: int) -> bool:
        return step % self.every == 0 and (not self.steps or step > self.steps[-1])

    def add(self, step: int, theta: Tensor) -> None:
        if self.steps and step <= self.steps[-1]:
            return
        if self.out_dir is None:
            item: Path | Tensor = theta.clone()
        else:
            item = self.out_dir / f"ckpt_{step:09d}.pt"
            _atomic_save({"step": step, "theta": theta}, item)
        self.steps.append(step)
        self.items.append(item)
        if self.keep is not None and len(self.steps) > self.keep:
            self._thin()
        self._write_index()

    def _thin(self) -> None:
        """Drop every other checkpoint whose step is not a multiple of ``2 * every``
        (the first is kept; the last too, it may be the off-grid final step)."""
        self.every *= 2
        keep_idx = [
            i for i, s in enumerate(self.steps) if s % self.every == 0 or i == len(self.steps) - 1
        ]
        kept = set(keep_idx)
        dropped = [item for i, item in enumerate(self.items) if i not in kept]
        self.steps = [self.steps[i] for i in keep_idx]
        self.items = [self.items[i] for i in keep_idx]
        self._write_index()
        for item in dropped:
            if isinstance(item, Path):
                item.unlink(missing_ok=True)
        if len(self.steps) > self.keep:  # type: ignore[operator]
            self._thin()

    def _write_index(self) -> None:
        if self.out_dir is not None:
            files = [p.name for p in self.items if isinstance(p, Path)]
            _atomic_json(
                {"every": self.every, "steps": self.steps, "files": files}, self.out_dir / INDEX
            )

    def trajectory(self) -> Trajectory:
        return Trajectory(self.steps, self.items)


def _lr_factor(schedule: Schedule, step: int, total: int) -> float:
    if schedule is None or schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * step / max(total, 1)))
    if schedule == "linear":
        return 1.0 - step / max(total, 1)
    if callable(schedule):
        return float(schedule(step, total))
    raise ValueError(
        f"schedule must be 'constant', 'cosine', 'linear' or a callable, got {schedule!r}"
    )


def _batch_order(n: int, batch_size: int, seed: int, epoch: int) -> list[Tensor]:
    """The minibatches of one epoch: a permutation drawn from ``(seed, epoch)``."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return list(torch.randperm(n, generator=g).split(batch_size))


def _noisy_labels(y: Tensor, fraction: float, seed: int) -> Tensor:
    """Replace a ``fraction`` of labels by a different class, chosen by ``seed``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {fraction}")
    if fraction == 0.0:
        return y
    if y.dtype != torch.long:
        raise ValueError("label_noise needs integer class labels")
    g = torch.Generator().manual_seed(seed + 7919)
    k = int(y.max()) + 1
    flip = torch.randperm(len(y), generator=g)[: round(fraction * len(y))]
    y = y.clone()
    y[flip] = (y[flip] + torch.randint(1, k, (len(flip),), generator=g)) % k
    return y


def _evaluate(model: nn.Module, X: Tensor, y: Tensor, loss_fn: Callable) -> tuple[float, float]:
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(X)
            loss = float(loss_fn(out, y))
            acc = float(accuracy_of(out, y)) if y.dtype == torch.long else math.nan
    finally:
        model.train(training)
    return loss, acc


def train(
    model: nn.Module,
    data: Split | tuple[Tensor, Tensor],
    *,
    optimizer: Literal["sgd", "adam"] = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    epochs: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    record_every: int | None = None,
    out_dir: str | Path | None = None,
    keep: int | None = None,
    schedule: Schedule = None,
    label_noise: float = 0.0,
    init: Tensor | str | Path | None = None,
    resume: bool = False,
    buffers: BufferPolicy = "include",
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    progress: bool = False,
) -> TrainResult:
    """Train ``model`` in place on ``data`` and record its trajectory.

    Exactly one of ``epochs`` / ``steps``. ``init`` (a point of ``ParamSpace(model,
    buffers)`` or a checkpoint file) replaces the starting parameters, which is how several
    runs branch from one checkpoint. ``record_every=None`` records only the first and the
    last point. ``schedule`` scales ``lr`` by a factor of ``(step, total_steps)``.
    ``resume=True`` continues an interrupted run found in ``out_dir``.
    """
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= or steps=")
    if isinstance(data, Split):
        X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    else:
        X, y = data
        X_test = y_test = None
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X has {len(X)} samples and y has {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    space = ParamSpace(model, buffers=buffers)
    if init is not None:
        theta0 = init if isinstance(init, Tensor) else torch.load(init, weights_only=True)["theta"]
        space.load(model, theta0.to(space.dtype))
    y_fit = _noisy_labels(y, label_noise, seed)
    per_epoch = math.ceil(len(X) / batch_size)
    total = steps if steps is not None else epochs * per_epoch  # type: ignore[operator]
    out = Path(out_dir) if out_dir is not None else None
    rec = _Recorder(record_every or max(total, 1), keep, out, resume)
    opt = _optimizer(model, optimizer, lr, momentum, weight_decay)
    start, history = 0, []
    if resume and out is not None and (out / STATE).is_file():
        state = torch.load(out / STATE, weights_only=False)
        space.load(model, state["theta"])
        opt.load_state_dict(state["optimizer"])
        torch.random.set_rng_state(state["rng"])
        start, history = state["step"], state["history"]
    rng = torch.random.get_rng_state() if start else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if rng is not None:
            torch.random.set_rng_state(rng)
        history = _loop(
            model,
            space,
            opt,
            rec,
            X,
            y_fit,
            loss_fn,
            lr,
            schedule,
            batch_size,
            seed,
            start,
            total,
            out,
            history,
            progress,
        )
    train_loss, train_acc = _evaluate(model, X, y, loss_fn)
    test_loss = test_acc = None
    if X_test is not None and y_test is not None and len(X_test):
        test_loss, test_acc = _evaluate(model, X_test, y_test, loss_fn)
    return TrainResult(
        model,
        space,
        rec.trajectory(),
        space.vector(),
        total,
        train_loss,
        train_acc,
        test_loss,
        test_acc,
        history,
    )


def _optimizer(model: nn.Module, name: str, lr: float, momentum: float, wd: float):
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def _loop(
    model,
    space,
    opt,
    rec,
    X,
    y,
    loss_fn,
    lr,
    schedule,
    batch_size,
    seed,
    start,
    total,
    out,
    history,
    progress,
):
    per_epoch = math.ceil(len(X) / batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start, desc="train", unit="step")
    model.train()
    if start == 0:
        rec.add(0, space.vector(model))
    epoch, order = -1, []
    for step in range(start, total):
        if step // per_epoch != epoch:
            epoch = step // per_epoch
            order = _batch_order(len(X), batch_size, seed, epoch)
        idx = order[step % per_epoch]
        for group in opt.param_groups:
            group["lr"] = lr * _lr_factor(schedule, step, total)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
        done = step + 1
        if rec.due(done) or done == total:
            history.append((done, float(loss.detach())))
            rec.add(done, space.vector(model))
            if out is not None:
                _atomic_save(
                    {
                        "step": done,
                        "theta": space.vector(model),
                        "history": history,
                        "optimizer": opt.state_dict(),
                        "rng": torch.random.get_rng_state(),
                    },
                    out / STATE,
                )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    model.eval()
    return history

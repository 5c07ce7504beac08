"""Training with a recorded trajectory (the morphisms of Param come from here).

:func:`descend` is the one training loop; :func:`train` descends on minibatch losses as
a :class:`TrainSettings` says and records the flat parameter vector every
``record_every`` steps (:mod:`adapters.nets.trajectory`: atomic checkpoint files, at most
``keep`` of them, evenly spaced). A run is a deterministic function of its arguments (data
order, label noise and dropout come from ``seed``), and a run in ``out_dir`` that was
interrupted continues where it stopped with ``resume=True`` and ends bit-identical to an
uninterrupted run. See ``docs/adapters.md``, section "Training and recording".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.nets.data import Split
from adapters.nets.metrics import accuracy_of
from adapters.nets.model_io import as_output
from adapters.nets.params import BufferPolicy, ParamSpace
from adapters.nets.trajectory import STATE, Recorder, Trajectory, atomic_save

Schedule = Literal["constant", "cosine", "linear"] | Callable[[int, int], float] | None
Targets = Tensor | Mapping[str, Tensor]


@dataclass
class TrainResult:
    """What :func:`train` returns. Accuracies and losses are full-batch, in eval mode;
    test values are ``None`` when no test set was given; ``seconds``: wall time of the
    optimizer steps (evaluation excluded)."""

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
    seconds: float = 0.0


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


def _noisy_labels(y: Targets, fraction: float, seed: int) -> Targets:
    """Replace a ``fraction`` of labels by a different class, chosen by ``seed``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {fraction}")
    if fraction == 0.0:
        return y
    if not isinstance(y, Tensor) or y.dtype != torch.long:
        raise ValueError("label_noise needs integer class labels")
    g = torch.Generator().manual_seed(seed + 7919)
    k = int(y.max()) + 1
    flip = torch.randperm(len(y), generator=g)[: round(fraction * len(y))]
    y = y.clone()
    y[flip] = (y[flip] + torch.randint(1, k, (len(flip),), generator=g)) % k
    return y


def _take(y: Targets, idx: Tensor) -> Targets:
    return {k: v[idx] for k, v in y.items()} if isinstance(y, Mapping) else y[idx]


def _evaluate(model: nn.Module, X: Tensor, y: Targets, loss_fn: Callable) -> tuple[float, float]:
    """Full-batch loss and accuracy in eval mode (accuracy NaN unless ``y`` holds classes)."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = as_output(model(X))
            loss = float(loss_fn(out, y))
            classes = isinstance(y, Tensor) and y.dtype == torch.long
            acc = float(accuracy_of(out, y)) if classes else math.nan
    finally:
        model.train(training)
    return loss, acc


@dataclass(frozen=True)
class TrainSettings:
    """How a training run descends (``docs/adapters.md``, "Training and recording").

    Exactly one of ``epochs`` / ``steps``. ``optimizer`` ``"sgd"`` (with ``momentum``) or
    ``"adam"``, over the parameters that require grad; ``schedule`` scales ``lr`` by a
    factor of ``(step, total_steps)``; ``label_noise``: fraction of class labels replaced,
    chosen by ``seed`` (which also fixes the batch order and dropout); ``record_every``:
    checkpoint interval (``None``: first and last point only); ``keep``: most checkpoints
    kept (thinned evenly).
    """

    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int | None = None
    steps: int | None = None
    seed: int = 0
    schedule: Schedule = None
    label_noise: float = 0.0
    record_every: int | None = None
    keep: int | None = None

    def __post_init__(self) -> None:
        if (self.epochs is None) == (self.steps is None):
            raise ValueError("give exactly one of epochs= or steps=")
        if (self.epochs is not None and self.epochs < 1) or (
            self.steps is not None and self.steps < 0
        ):
            raise ValueError(f"epochs must be positive and steps >= 0, got "
                             f"{self.epochs}, {self.steps}")  # fmt: skip
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        _lr_factor(self.schedule, 0, 1)  # an unknown schedule fails here

    def total(self, n: int) -> int:
        """Optimizer steps of a run on ``n`` samples."""
        if self.steps is not None:
            return self.steps
        return self.epochs * math.ceil(n / self.batch_size)  # type: ignore[operator]


def optimizer_for(params: Iterable[Tensor], settings: TrainSettings) -> torch.optim.Optimizer:
    """The optimizer ``settings`` names, over ``params`` (those that require grad)."""
    live = [p for p in params if p.requires_grad]
    if not live:
        raise ValueError("nothing to train: no parameter requires grad")
    if settings.optimizer == "sgd":
        return torch.optim.SGD(live, lr=settings.lr, momentum=settings.momentum,
                               weight_decay=settings.weight_decay)  # fmt: skip
    return torch.optim.Adam(live, lr=settings.lr, weight_decay=settings.weight_decay)


def descend(
    opt: torch.optim.Optimizer,
    objective: Callable[[int], Tensor],
    settings: TrainSettings,
    total: int,
    *,
    start: int = 0,
    after: Callable[[int, Tensor], None] | None = None,
    progress: bool = False,
) -> None:
    """The training loop: for ``step`` in ``start .. total-1``, set the scheduled learning
    rate, minimize ``objective(step)`` (a differentiable scalar) by one optimizer step, then
    call ``after(step + 1, loss)``. :func:`train`, the transfer and multi-task studies and
    the Bezier fit of a curved homotopy test all descend here."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start, desc="train", unit="step")
    for step in range(start, total):
        for group in opt.param_groups:
            group["lr"] = settings.lr * _lr_factor(settings.schedule, step, total)
        opt.zero_grad(set_to_none=True)
        loss = objective(step)
        loss.backward()
        opt.step()
        if after is not None:
            after(step + 1, loss)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()


def settings_with(settings: TrainSettings | None, **overrides: Any) -> TrainSettings:
    """``settings`` with fields replaced; giving ``epochs`` clears ``steps`` and the other
    way round (unless both are given)."""
    if settings is None:
        return TrainSettings(**overrides)
    if "epochs" in overrides and "steps" not in overrides:
        overrides["steps"] = None
    if "steps" in overrides and "epochs" not in overrides:
        overrides["epochs"] = None
    return replace(settings, **overrides)


class _Batches:
    """The minibatch of each step: epoch ``e`` is a permutation drawn from ``(seed, e)``."""

    def __init__(self, n: int, cfg: TrainSettings) -> None:
        self.n, self.cfg = n, cfg
        self.per_epoch = math.ceil(n / cfg.batch_size)
        self.epoch, self.order = -1, []

    def __getitem__(self, step: int) -> Tensor:
        if step // self.per_epoch != self.epoch:
            self.epoch = step // self.per_epoch
            self.order = _batch_order(self.n, self.cfg.batch_size, self.cfg.seed, self.epoch)
        return self.order[step % self.per_epoch]


def train(
    model: nn.Module,
    data: Split | tuple[Tensor, Targets],
    settings: TrainSettings | None = None,
    *,
    out_dir: str | Path | None = None,
    init: Tensor | str | Path | None = None,
    resume: bool = False,
    buffers: BufferPolicy = "include",
    loss_fn: Callable[[Any, Any], Tensor] = F.cross_entropy,
    progress: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Train ``model`` in place on ``data`` and record its trajectory.

    ``settings``: a :class:`TrainSettings`; keyword ``overrides`` replace its fields
    (``train(model, data, steps=100, lr=0.05)``). ``data``: a
    :class:`~adapters.nets.data.Split` or ``(X, y)``, where ``y`` may be a dict of target
    tensors (multi-task; ``loss_fn(model(xb), yb)`` then receives the dict; a structured
    output is read by :func:`~adapters.nets.model_io.as_output`). ``init`` (a
    point of ``ParamSpace(model, buffers)`` or a checkpoint file) replaces the starting
    parameters, which is how several runs branch from one checkpoint. ``resume=True``
    continues an interrupted run found in ``out_dir``.
    """
    cfg = settings_with(settings, **overrides)
    if isinstance(data, Split):
        X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    else:
        X, y = data
        X_test = y_test = None
    n_y = {len(v) for v in y.values()} if isinstance(y, Mapping) else {len(y)}
    if n_y != {len(X)} or len(X) == 0:
        raise ValueError(f"X has {len(X)} samples and y has {sorted(n_y)}")
    space = ParamSpace(model, buffers=buffers)
    if init is not None:
        theta0 = init if isinstance(init, Tensor) else torch.load(init, weights_only=True)["theta"]
        space.load(model, theta0.to(space.dtype))
    y_fit = _noisy_labels(y, cfg.label_noise, cfg.seed)
    total = cfg.total(len(X))
    out = Path(out_dir) if out_dir is not None else None
    rec = Recorder(cfg.record_every or max(total, 1), cfg.keep, out, resume)
    opt = optimizer_for(model.parameters(), cfg)
    run = _Run(model, space, rec, out, [])
    if resume and out is not None and (out / STATE).is_file():
        run.restore(opt)
    rng = torch.random.get_rng_state() if run.start else None
    clock = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if rng is not None:
            torch.random.set_rng_state(rng)
        batches = _Batches(len(X), cfg)

        def objective(step: int) -> Tensor:
            idx = batches[step]
            return loss_fn(as_output(model(X[idx])), _take(y_fit, idx))

        model.train()
        if run.start == 0:
            rec.add(0, space.vector(model))
        descend(opt, objective, cfg, total, start=run.start,
                after=lambda done, loss: run.after(done, loss, total, opt), progress=progress)
        model.eval()
    seconds = time.perf_counter() - clock
    train_loss, train_acc = _evaluate(model, X, y, loss_fn)
    test_loss = test_acc = None
    if X_test is not None and y_test is not None and len(X_test):
        test_loss, test_acc = _evaluate(model, X_test, y_test, loss_fn)
    return TrainResult(model, space, rec.trajectory(), space.vector(), total, train_loss,
                       train_acc, test_loss, test_acc, run.history, seconds)  # fmt: skip


class _Run:
    """The recording side of a run: checkpoints, the loss history, the resumable state."""

    def __init__(self, model, space, rec, out, history) -> None:
        self.model, self.space, self.rec, self.out, self.history = model, space, rec, out, history
        self.start = 0

    def restore(self, opt: torch.optim.Optimizer) -> None:
        assert self.out is not None
        state = torch.load(self.out / STATE, weights_only=False)
        self.space.load(self.model, state["theta"])
        opt.load_state_dict(state["optimizer"])
        torch.random.set_rng_state(state["rng"])
        self.start, self.history = state["step"], state["history"]

    def after(self, done: int, loss: Tensor, total: int, opt: torch.optim.Optimizer) -> None:
        if not (self.rec.due(done) or done == total):
            return
        self.history.append((done, float(loss.detach())))
        self.rec.add(done, self.space.vector(self.model))
        if self.out is not None:
            atomic_save({"step": done, "theta": self.space.vector(self.model),
                          "history": self.history, "optimizer": opt.state_dict(),
                          "rng": torch.random.get_rng_state()}, self.out / STATE)  # fmt: skip

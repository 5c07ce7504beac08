"""The trained ensemble of the homotopy study: run specifications (hyperparameters, seeds,
shared-prefix spawning), training them as work items, and the loss they are compared on
(``docs/homotopy.md``, "The study"; ``docs/cluster.md`` for executors).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from adapters.nets.data import Split, digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.nets.training import train
from adapters.runtime.executor import Executor, LocalExecutor, WorkItem, run_items
from adapters.runtime.store import Store, digest


@dataclass(frozen=True)
class RunSpec:
    """One network of the ensemble. ``parent``/``spawn_step``: the run it branches from and
    the step of the parent's checkpoint it starts at (``None``/0 for a root)."""

    name: str
    seed: int
    optimizer: str
    lr: float
    batch_size: int
    weight_decay: float
    momentum: float
    steps: int
    parent: str | None = None
    spawn_step: int = 0

    def key(self, hidden: Sequence[int], data_seed: int) -> str:
        return digest("homotopy-run", asdict(self), list(hidden), data_seed)


_HYPER = [  # (optimizer, lr, momentum)
    ("sgd", 0.05, 0.9),
    ("sgd", 0.1, 0.0),
    ("sgd", 0.2, 0.0),
    ("adam", 1e-3, 0.0),
    ("adam", 3e-3, 0.0),
]


_BATCH = [32, 64, 128]


_DECAY = [0.0, 1e-4, 1e-3]


def ensemble_plan(
    n: int, *, roots: int | None = None, steps: int = 600, seed: int = 0
) -> list[RunSpec]:
    """``n`` run specifications: ``roots`` independent runs (default ``ceil(n / 4)``) with
    varied optimizer, learning rate, batch size, weight decay and seed, and children that
    branch from the roots' checkpoints at steps 0 (the shared initialization), 1/4 and 1/2
    of training (round robin), each continuing for the remaining steps with its own
    data-order seed and, for every other child, a different learning rate / batch size /
    weight decay (the optimizer state is not inherited).

    >>> [(r.name, r.parent, r.spawn_step) for r in ensemble_plan(5, roots=2, steps=400)]
    [('r0', None, 0), ('r1', None, 0), ('r0c0', 'r0', 0), ('r1c0', 'r1', 0), ('r0c1', 'r0', 100)]
    """
    if n < 2:
        raise ValueError(f"an ensemble needs at least 2 networks, got {n}")
    if steps < 4:
        raise ValueError(f"steps must be at least 4 (spawn points at quarters), got {steps}")
    roots = max(1, min(n, roots if roots is not None else math.ceil(n / 4)))
    rng = np.random.default_rng(seed)
    plan = []
    for r in range(roots):
        opt, lr, mom = _HYPER[rng.integers(len(_HYPER))]
        batch, decay = int(rng.choice(_BATCH)), float(rng.choice(_DECAY))
        plan.append(RunSpec(f"r{r}", int(rng.integers(2**31)), opt, lr, batch, decay, mom, steps))
    k = 0
    while len(plan) < n:
        root = plan[k % roots]
        child = k // roots
        at = (steps // 4) * (child % 3)
        lr, batch, wd = root.lr, root.batch_size, root.weight_decay
        if child % 2 == 1:
            lr *= float(rng.choice([0.5, 2.0]))
            batch = int(rng.choice(_BATCH))
            wd = float(rng.choice(_DECAY))
        plan.append(RunSpec(f"{root.name}c{child}", int(rng.integers(2**31)), root.optimizer,
                            lr, batch, wd, root.momentum, steps - at, root.name, at))  # fmt: skip
        k += 1
    return plan


def train_ensemble(
    plan: Sequence[RunSpec],
    data: Split | None = None,
    *,
    hidden: Sequence[int] = (32,),
    data_seed: int = 0,
    store: Store | None = None,
    progress: bool | None = None,
    executor: Executor | None = None,
) -> dict[str, torch.Tensor]:
    """Train every run of ``plan`` and return ``name -> theta``, in two rounds of work items
    (:func:`adapters.runtime.executor.run_items`): the roots, then the children from their parents'
    stored checkpoints. Roots record checkpoints at the quarters; a finished run (and each
    root's checkpoints, in the same transaction) is stored under its specification's key
    (``run/...``, ``ckpt/...``) and not retrained.

    ``data``: the split to train on, ``digits(seed=data_seed)`` when ``None`` (the keys
    assume it). ``executor``: where the runs train (default: this process, one after the
    other, torch threads unchanged); a pool or Ray worker rebuilds ``digits(seed=data_seed)``
    itself, so with an executor ``data`` must be that split. See ``docs/cluster.md``."""
    store = store if store is not None else Store(None)
    if executor is not None and data is not None and not _is_digits(data, data_seed):
        raise ValueError(f"with an executor the workers train on digits(seed={data_seed}); "
                         f"got a different split {data!r}")  # fmt: skip
    if executor is None:
        executor, ship = LocalExecutor(0, threads=None), data
    else:
        ship = None
    by_name = {r.name: r for r in plan}
    for spec in plan:
        parent = by_name.get(spec.parent) if spec.parent is not None else None
        if spec.parent is not None and (parent is None or parent.parent is not None):
            raise ValueError(f"run {spec.name} must branch from a root of the plan, "
                             f"got parent {spec.parent!r}")  # fmt: skip
    keys = {r.name: r.key(hidden, data_seed) for r in plan}
    from tqdm.auto import tqdm

    show = progress if progress is not None else _isatty()
    out: dict[str, torch.Tensor] = {}
    with tqdm(total=len(plan), desc="train ensemble", unit="net", disable=not show) as bar:
        roots = [r for r in plan if r.parent is None]
        items = [WorkItem(f"run/{keys[r.name]}", train_run, (asdict(r), list(hidden), data_seed),
                          {"data": ship}) for r in roots]  # fmt: skip
        view = _RootStore(store, {f"run/{keys[r.name]}": f"ckpt/{keys[r.name]}" for r in roots})
        done = run_items(items, executor, view, bar, desc="train ensemble")
        children = [r for r in plan if r.parent is not None]
        items = []
        for r in children:
            ckpts = store.get(f"ckpt/{keys[r.parent]}")
            if ckpts is None:
                raise ValueError(f"parent {r.parent} of {r.name} has not been trained")
            items.append(WorkItem(f"run/{keys[r.name]}", train_run,
                                  (asdict(r), list(hidden), data_seed, ckpts[str(r.spawn_step)]),
                                  {"data": ship}))  # fmt: skip
        done.update(run_items(items, executor, store, bar, desc="train ensemble"))
    for r in plan:
        out[r.name] = torch.tensor(done[f"run/{keys[r.name]}"]["theta"], dtype=torch.float32)
    return out


def train_run(
    spec: dict[str, Any],
    hidden: Sequence[int],
    data_seed: int,
    init: Sequence[float] | None = None,
    *,
    data: Split | None = None,
) -> dict[str, Any]:
    """Train one run of the ensemble (the work item of :func:`train_ensemble`): ``spec`` is
    a :class:`RunSpec` as a dict, ``init`` the parent's checkpoint it starts from (``None``
    for a root). Returns ``theta``, ``train_loss``, ``test_acc`` and, for a root, its
    checkpoints (``ckpt``: step -> theta). ``data``: default ``digits(seed=data_seed)``,
    built once per worker process."""
    run = RunSpec(**spec)
    data = data if data is not None else _digits(data_seed)
    torch.manual_seed(run.seed)
    model = mlp(data.X_train.shape[1], tuple(hidden), data.n_classes)
    start = None if init is None else torch.tensor(init, dtype=torch.float32)
    res = train(model, data, optimizer=run.optimizer, lr=run.lr, momentum=run.momentum,
                weight_decay=run.weight_decay, batch_size=run.batch_size, steps=run.steps,
                seed=run.seed, init=start, record_every=max(1, run.steps // 4))  # fmt: skip
    out = {"theta": res.theta.tolist(), "train_loss": res.train_loss, "test_acc": res.test_acc}
    if run.parent is None:
        traj = res.trajectory
        out["ckpt"] = {str(s): traj[i].tolist() for i, s in enumerate(traj.steps)}
    return out


@functools.lru_cache(maxsize=4)
def _digits(seed: int) -> Split:
    return digits(seed=seed)


def _is_digits(data: Split, seed: int) -> bool:
    ref = _digits(seed)
    return all(torch.equal(getattr(data, f), getattr(ref, f))
               for f in ("X_train", "y_train", "X_test", "y_test"))  # fmt: skip


def digits_engine(hidden: Sequence[int], seed: int) -> Engine:
    """The study's loss, full-batch cross-entropy of a digits MLP of width ``hidden`` on
    the train split of ``digits(seed=seed)``: what a worker builds to compute barriers."""
    data = _digits(seed)
    model = mlp(data.X_train.shape[1], tuple(hidden), data.n_classes)
    return Engine(model, data.X_train, data.y_train)


class _RootStore:
    """The store as :func:`~adapters.runtime.executor.run_items` sees it for root runs: a root's
    result carries its checkpoints, which are stored under ``ckpt/...`` in the same
    transaction as the run, so a root counts as done only when both are there."""

    def __init__(self, store: Store, ckpt_of: dict[str, str]) -> None:
        self.store, self.ckpt_of = store, ckpt_of

    def __contains__(self, key: object) -> bool:
        return key in self.store and self.ckpt_of[key] in self.store  # type: ignore[index]

    def get(self, key: str, default: Any = None) -> Any:
        return self.store.get(key, default)

    def put(self, key: str, value: Any) -> None:
        run = {k: v for k, v in value.items() if k != "ckpt"}
        self.store.put_many({self.ckpt_of[key]: value["ckpt"], key: run})


def _isatty() -> bool:

    return sys.stderr.isatty()

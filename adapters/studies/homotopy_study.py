"""The homotopy-class experiment: do networks in one class generalize alike?

The paper reports 7 homotopy classes among 100 MNIST networks, test accuracies within a
class spread by less than 0.5% and classes differing by more than 3%. This module trains a
digits ensemble with varied hyperparameters and *shared-prefix spawning* (children branched
from a parent's checkpoints at several times, so that the ensemble can contain nontrivial
classes), computes the classes with and without permutation alignment, and reports the
accuracy spreads beside the paper's numbers. See ``docs/homotopy.md``, "The study".

Spreads (test accuracy, in fractions): *within* a class, max minus min over its members
(reported for classes with at least two members: the largest, and the mean); *between*
classes, max minus min of the class means; also the mean absolute accuracy difference over
pairs in one class vs pairs in different classes (these are defined even when every class
is a singleton or there is one class).

Everything is resumable through a :class:`~adapters.runtime.store.Store`: trained networks (and
the parents' checkpoints) and finished barrier pairs are stored as they finish.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adapters.constructions.bezier import CurveFit
from adapters.constructions.class_search import homotopy_classes
from adapters.constructions.homotopy import Classes, are_homotopic
from adapters.nets.data import Split, digits
from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.nets.models import mlp
from adapters.nets.training import train
from adapters.runtime.executor import Executor, LocalExecutor, WorkItem, run_items
from adapters.runtime.store import Store, digest

PAPER = {
    "source": "paper (MNIST)",
    "n_networks": 100,
    "n_classes": 7,
    "within_spread_max": 0.005,
    "between_spread_min": 0.03,
}


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
    import sys

    return sys.stderr.isatty()


def spreads(labels: Sequence[int], acc: Sequence[float]) -> dict[str, Any]:
    """Within- and between-class test-accuracy spreads (module docstring).

    >>> s = spreads([0, 0, 1], [0.90, 0.91, 0.95])
    >>> round(s["within_max"], 4), round(s["between"], 4), s["classes_with_2plus"]
    (0.01, 0.045, 1)
    """
    labels, acc = np.asarray(labels), np.asarray(acc, dtype=float)
    groups = [acc[labels == k] for k in np.unique(labels)]
    within = [float(g.max() - g.min()) for g in groups if len(g) >= 2]
    means = [float(g.mean()) for g in groups]
    same, diff = [], []
    for i in range(len(acc)):
        for j in range(i + 1, len(acc)):
            (same if labels[i] == labels[j] else diff).append(abs(acc[i] - acc[j]))
    return {
        "within_max": max(within) if within else None,
        "within_mean": float(np.mean(within)) if within else None,
        "between": (max(means) - min(means)) if len(means) >= 2 else None,
        "pair_within_mean": float(np.mean(same)) if same else None,
        "pair_between_mean": float(np.mean(diff)) if diff else None,
        "classes_with_2plus": len(within),
    }


def classes_vs_eps(linkage: np.ndarray, thresholds: Sequence[float] | None = None) -> dict:
    """Number of classes at each threshold, read off an exact single-linkage tree
    (``1 +`` the number of merges above the threshold).

    >>> classes_vs_eps(np.array([[0, 1, 0.5, 2], [2, 3, 2.0, 3]]), [0.1, 1.0, 3.0])
    {'0.1': 3, '1': 2, '3': 1}
    """
    Z = np.asarray(linkage, dtype=float).reshape(-1, 4)
    if thresholds is None:
        thresholds = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    return {f"{e:g}": int(1 + np.sum(Z[:, 2] > e)) for e in thresholds}


def _verdict(n_classes: int, s: dict[str, Any]) -> dict[str, Any]:
    within, between = s["within_max"], s["between"]
    return {
        "within_below_0.5%": None if within is None else within < PAPER["within_spread_max"],
        "between_above_3%": None if between is None else between > PAPER["between_spread_min"],
        "nontrivial_partition": bool(1 < n_classes < s["n"]),
    }


def _summary(c: Classes, acc: np.ndarray) -> dict[str, Any]:
    s = spreads(c.labels, acc)
    s["n"] = len(acc)
    return {
        "n_classes": c.n_classes,
        "class_sizes": sorted((len(m) for m in c.classes), reverse=True),
        "labels": c.labels.tolist(),
        "evaluations": c.evaluations,
        "pairs_tested": c.pairs_tested,
        "pairs_total": c.pairs_total,
        "spreads": s,
        "verdict": _verdict(c.n_classes, s),
        "linkage": c.linkage.tolist(),
        "barrier_matrix": [[None if math.isnan(x) else x for x in row]
                           for row in c.barrier_matrix().tolist()],  # fmt: skip
    }


def homotopy_study(
    n_networks: int = 24,
    *,
    eps: float = 0.1,
    steps: int = 600,
    hidden: Sequence[int] = (32,),
    roots: int | None = None,
    seed: int = 0,
    align: bool = True,
    exact: bool = True,
    curved: int = 0,
    store: Store | str | Path | None = None,
    progress: bool | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Train the ensemble (:func:`ensemble_plan`), compute homotopy classes on the training
    loss (full-batch cross-entropy on the digits train split) at threshold ``eps`` with
    union-find pruning, and, with ``align``, up to permutation of hidden units (weight
    matching). With ``exact`` the all-pairs barriers are computed too (for the heatmap and
    an exact dendrogram; the partition is checked to be the same). With ``curved > 0``, up
    to that many pairs of plain-class representatives are tested with a trained Bezier
    curve (:func:`adapters.constructions.homotopy.are_homotopic`), which says whether the classes
    are
    separated by every path or only by straight ones. Returns a
    JSON-serializable dict with settings, networks, per-variant classes and spreads, and
    the paper's numbers beside them.

    ``executor`` (default: this process): where the ensemble trains and where the exact
    all-pairs barriers are computed (chunks of pairs as work items); the pruned search
    stays in this process. The results do not depend on it (``docs/cluster.md``)."""
    if n_networks < 2:
        raise ValueError(f"the study needs at least 2 networks, got {n_networks}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    if not isinstance(store, Store):
        store = Store(store)
    data = digits(seed=seed)
    plan = ensemble_plan(n_networks, roots=roots, steps=steps, seed=seed)
    thetas = train_ensemble(plan, data, hidden=hidden, data_seed=seed, store=store,
                            progress=progress, executor=executor)  # fmt: skip
    points = torch.stack([thetas[r.name] for r in plan])
    model = mlp(data.X_train.shape[1], tuple(hidden), data.n_classes)
    engine = Engine(model, data.X_train, data.y_train)
    test = Engine(model, data.X_test, data.y_test)
    acc = LossFunction(test).accuracy(points)
    train_loss = LossFunction(engine, nonfinite="keep")(points)
    result: dict[str, Any] = {
        "settings": {"n_networks": n_networks, "eps": eps, "steps": steps,
                     "hidden": list(hidden), "seed": seed, "data": data.name,
                     "loss": "train cross-entropy (full batch)",
                     "roots": sum(r.parent is None for r in plan)},  # fmt: skip
        "paper": PAPER,
        "networks": [{**asdict(r), "test_acc": float(a), "train_loss": float(t)}
                     for r, a, t in zip(plan, acc, train_loss)],  # fmt: skip
    }
    variants = {"plain": None, "aligned": True} if align else {"plain": None}
    for name, al in variants.items():
        c = homotopy_classes(engine, points, eps, align=al, store=store, progress=progress)
        summary = _summary(c, acc)
        if exact:
            e = homotopy_classes(engine, points, eps, align=al, exact=True, store=store,
                                 progress=progress, executor=executor,
                                 loss_recipe=(digits_engine, (list(hidden), seed)))  # fmt: skip
            summary["partition_agrees_with_all_pairs"] = bool(
                np.array_equal(c.labels, e.labels))
            summary["exact_evaluations"] = e.evaluations
            summary["linkage"] = e.linkage.tolist()
            summary["classes_vs_eps"] = classes_vs_eps(e.linkage)
            summary["barrier_matrix"] = e.barrier_matrix().tolist()
        result[name] = summary
        if name == "plain" and curved > 0:
            result["curved"] = _curved(engine, points, c, eps, curved, store)
    return result


def _curved(engine: Engine, points: torch.Tensor, c: Classes, eps: float, count: int,
            store: Store) -> dict[str, Any]:  # fmt: skip
    """Bezier-curve tests between representatives (first members) of different classes."""
    reps = [members[0] for members in c.classes]
    pairs = [(i, j) for k, i in enumerate(reps) for j in reps[k + 1 :]][:count]
    out = []
    for i, j in pairs:
        key = "curved/" + digest(points[i].numpy().tobytes(), points[j].numpy().tobytes(), eps)
        hit = store.get(key)
        if hit is None:
            r = are_homotopic(engine, points[i], points[j], eps, curved=True,
                             fit=CurveFit(steps=100))
            hit = {"i": i, "j": j, "homotopic": r.homotopic, "method": r.method,
                   "linear": r.linear.height, "linear_status": r.linear.status,
                   "curved": None if r.curved is None else r.curved.height,
                   "evaluations": r.evaluations + r.fit_evaluations}  # fmt: skip
            store.put(key, hit)
        out.append(hit)
    linked = sum(bool(h["homotopic"]) for h in out)
    return {"pairs": out, "connected_by_curve": linked, "tested": len(out)}


def plot_barrier_matrix(result: dict[str, Any], path: str | Path, variant: str = "plain") -> Path:
    """Heatmap of the barrier matrix of ``result[variant]`` (rows ordered by class), saved
    as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = result[variant]
    M = np.array([[np.nan if x is None else x for x in row] for row in v["barrier_matrix"]])
    order = np.argsort(np.asarray(v["labels"]), kind="stable")
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(M[np.ix_(order, order)], cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="loss barrier")
    ax.set_title(f"{variant}: {v['n_classes']} classes at eps={result['settings']['eps']:g}")
    ax.set_xlabel("network (sorted by class)")
    ax.set_ylabel("network (sorted by class)")
    return _save(fig, path)


def plot_dendrogram(result: dict[str, Any], path: str | Path, variant: str = "plain") -> Path:
    """Single-linkage dendrogram of minimal barriers of ``result[variant]`` with the
    threshold ``eps`` drawn, saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    v = result[variant]
    Z = np.asarray(v["linkage"], dtype=float)
    eps = result["settings"]["eps"]
    fig, ax = plt.subplots(figsize=(8, 4))
    names = [n["name"] for n in result["networks"]]
    if len(Z):
        dendrogram(Z, ax=ax, labels=names, color_threshold=eps, leaf_rotation=90)
    top = max(float(Z[:, 2].max()) if len(Z) else 0.0, eps)
    ax.set_ylim(0.0, 1.1 * top)
    ax.axhline(eps, color="red", linestyle="--", linewidth=1, label=f"eps = {eps:g}")
    ax.set_ylabel("minimax loss barrier")
    ax.set_title(f"{variant}: single linkage of barriers")
    ax.legend()
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

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

import math
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adapters.constructions.bezier import CurveFit
from adapters.constructions.class_search import homotopy_classes
from adapters.constructions.homotopy import Classes, are_homotopic
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.nets.models import mlp
from adapters.runtime.executor import Executor
from adapters.runtime.store import Store, digest
from adapters.studies.ensemble import digits_engine, ensemble_plan, train_ensemble
from adapters.studies.fisher_order import fisher_order

PAPER = {
    "source": "paper (MNIST)",
    "n_networks": 100,
    "n_classes": 7,
    "within_spread_max": 0.005,
    "between_spread_min": 0.03,
}


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
        "evaluations_reused": c.evaluations_reused,
        "pairs_tested": c.pairs_tested,
        "pairs_total": c.pairs_total,
        "certified": c.certified,
        "undecided": [list(p) for p in c.undecided],
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
    fisher_probe: int = 256,
    store: Store | str | Path | None = None,
    progress: bool | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Train the ensemble (:func:`ensemble_plan`), compute homotopy classes on the training
    loss (full-batch cross-entropy on the digits train split) at threshold ``eps`` with
    union-find pruning, and, with ``align``, up to permutation of hidden units (weight
    matching). The classes come from certified decisions
    (:mod:`adapters.constructions.certified`). With ``exact`` the all-pairs barriers are
    computed too, sampled (uncertified, ~15 evaluations a pair instead of ~150 for a
    certified barrier to tolerance), for the heatmap and the dendrogram; their partition is
    compared with the certified one (``partition_agrees_with_all_pairs``). With ``curved > 0``, up
    to that many pairs of plain-class representatives are tested with a trained Bezier
    curve (:func:`adapters.constructions.homotopy.are_homotopic`), which says whether the classes
    are
    separated by every path or only by straight ones. With ``exact`` and
    ``fisher_probe > 0``, every pair's Fisher distance (Def 8.1, the metric on that many
    training inputs) and Euclidean distance are compared with its barrier
    (:func:`adapters.studies.fisher_order.fisher_order`). Returns a
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
                                 progress=progress, executor=executor, certify=False,
                                 loss_recipe=(digits_engine, (list(hidden), seed)))  # fmt: skip
            summary["partition_agrees_with_all_pairs"] = bool(
                np.array_equal(c.labels, e.labels))
            summary["all_pairs_certified"] = e.certified
            summary["exact_evaluations"] = e.evaluations
            summary["exact_evaluations_reused"] = e.evaluations_reused
            summary["linkage"] = e.linkage.tolist()
            summary["classes_vs_eps"] = classes_vs_eps(e.linkage)
            summary["barrier_matrix"] = e.barrier_matrix().tolist()
        result[name] = summary
        if name == "plain" and exact and fisher_probe:
            result["fisher"] = fisher_order(model, data.X_train[:fisher_probe], points,
                                            np.asarray(e.barrier_matrix()), eps, store)  # fmt: skip
        if name == "plain" and curved > 0:
            result["curved"] = _curved(engine, points, c, eps, curved, store, progress)
    return result


def _curved(engine: Engine, points: torch.Tensor, c: Classes, eps: float, count: int,
            store: Store, progress: bool | None) -> dict[str, Any]:  # fmt: skip
    """Bezier-curve tests between representatives (first members) of different classes;
    one progress line per computed pair on stderr (when ``progress`` or stderr is a
    terminal)."""
    reps = [members[0] for members in c.classes]
    pairs = [(i, j) for k, i in enumerate(reps) for j in reps[k + 1 :]][:count]
    show = sys.stderr.isatty() if progress is None else progress
    out = []
    for k, (i, j) in enumerate(pairs, 1):
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
            if show:
                curve = "not fitted" if hit["curved"] is None else f"{hit['curved']:.3g}"
                print(f"  Bezier curve {k}/{len(pairs)}: networks {i}-{j}, barrier straight "
                      f"{hit['linear']:.3g}, curved {curve}", file=sys.stderr, flush=True)
        out.append(hit)
    linked = sum(bool(h["homotopic"]) for h in out)
    return {"pairs": out, "connected_by_curve": linked, "tested": len(out)}



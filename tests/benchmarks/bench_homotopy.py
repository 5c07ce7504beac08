"""Certified homotopy classes against the paper's plain algorithm and the sampled pruned
search, on one ensemble of 32 digits networks, in one process.

The paper's algorithm computes the barrier of every one of the N(N-1)/2 pairs on a
25-point grid and takes connected components of "barrier <= eps" (uncertified). The
pruned heuristic is ``homotopy_classes(..., certify=False)`` (union-find, nearest pairs
first, sampled decisions); the certified search is ``homotopy_classes`` (certified
decisions, :mod:`adapters.constructions.certified`). The truth every decision is checked
against is the certified decision of every pair. Costs are forward-equivalents (one
network evaluation at one point; a certified interval bound counts its matrix products).

Run: ``python -m pytest tests/benchmarks/bench_homotopy.py --run-benchmarks -s -q``.
Asserted: the certified search makes no wrong decision and its partition is the truth's
(and the exact mode's); the other figures are printed.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from adapters.constructions.barrier_scan import BarrierSettings
from adapters.constructions.certified import certified_barrier
from adapters.constructions.class_search import homotopy_classes
from adapters.constructions.taylor import SegmentLoss
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.studies.ensemble import ensemble_plan, train_ensemble

N_NETWORKS = 32
EPS = 0.1
GRID = 25


def plain_classes(engine: Engine, pts: torch.Tensor, eps: float, grid: int = GRID):
    """The paper's algorithm: every pair on a ``grid``-point segment grid (one batched call
    per pair), chord-corrected barrier, connected components."""
    N = len(pts)
    ts = torch.linspace(0, 1, grid, dtype=pts.dtype)
    B = np.zeros((N, N))
    for i in range(N):
        for j in range(i + 1, N):
            L = engine.loss(pts[i] + ts[:, None] * (pts[j] - pts[i])).double()
            excess = L - ((1 - ts.double()) * L[0] + ts.double() * L[-1])
            B[i, j] = B[j, i] = float(excess.max())
    rows, cols = np.nonzero(np.triu(B <= eps, k=1))
    adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(N, N))
    return connected_components(adj, directed=False)[1], B


def canonical(labels) -> list[int]:
    seen: dict[int, int] = {}
    return [seen.setdefault(int(x), len(seen)) for x in labels]


def certified_truth(engine: Engine, pts: torch.Tensor, eps: float) -> np.ndarray:
    """The certified decision of every pair: 1 linked, 0 separated, -1 undecided."""
    N, settings = len(pts), BarrierSettings()
    T = np.full((N, N), 1)
    for i in range(N):
        for j in range(i + 1, N):
            r = certified_barrier(SegmentLoss(engine, pts[i], pts[j]), settings, eps)
            T[i, j] = T[j, i] = {"below": 1, "above": 0}.get(r.status, -1)
    return T


def wrong(decided: dict[tuple[int, int], bool], truth: np.ndarray) -> int:
    return sum(truth[p] >= 0 and bool(truth[p]) != linked for p, linked in decided.items())


def decisions_of(c) -> dict[tuple[int, int], bool]:
    return {(u, v): d["connected"] for u, v, d in c.graph.edges(data=True)}


@pytest.mark.benchmark
def test_certified_classes_vs_the_paper_grid_and_the_pruned_heuristic() -> None:
    torch.set_num_threads(1)
    data = digits(seed=0)
    plan = ensemble_plan(N_NETWORKS, steps=600, seed=0)
    thetas = train_ensemble(plan, data, progress=False)
    pts = torch.stack([thetas[r.name] for r in plan])
    engine = Engine(mlp(64, (32,), 10), data.X_train, data.y_train)
    engine.loss(pts[:2])  # warm-up
    N, pairs = N_NETWORKS, N_NETWORKS * (N_NETWORKS - 1) // 2

    before, start = engine.evaluations, time.perf_counter()
    plain_labels, B = plain_classes(engine, pts, EPS)
    t_plain, e_plain = time.perf_counter() - start, engine.evaluations - before

    start = time.perf_counter()
    heur = homotopy_classes(engine, pts, EPS, progress=False, certify=False)
    t_heur = time.perf_counter() - start

    start = time.perf_counter()
    cert = homotopy_classes(engine, pts, EPS, progress=False)
    t_cert = time.perf_counter() - start
    assert cert.certified and not heur.certified

    start = time.perf_counter()
    exact = homotopy_classes(engine, pts, EPS, exact=True, progress=False)
    t_exact = time.perf_counter() - start

    truth = certified_truth(engine, pts, EPS)
    grid_decisions = {(i, j): bool(B[i, j] <= EPS) for i in range(N) for j in range(i + 1, N)}
    w_grid, w_heur, w_cert = wrong(grid_decisions, truth), wrong(decisions_of(heur), truth), wrong(
        decisions_of(cert), truth)  # fmt: skip
    rows, cols = np.nonzero(np.triu(truth == 1, k=1))
    adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(N, N))
    true_labels = connected_components(adj, directed=False)[1]
    print(
        f"\n{N} digits MLPs 64-32-10, eps={EPS}; certified truth: {len(set(true_labels))} "
        f"classes, {int((truth[np.triu_indices(N, 1)] == -1).sum())} undecided pairs"
        f"\npaper grid, all {pairs} pairs x {GRID} points (uncertified): {e_plain} "
        f"forward-equivalents, {t_plain:.2f} s, {len(set(plain_labels))} classes, "
        f"{w_grid} wrong decisions"
        f"\npruned heuristic (sampled, uncertified): {heur.evaluations} forward-equivalents, "
        f"{t_heur:.2f} s, {heur.n_classes} classes, {w_heur} wrong of "
        f"{heur.pairs_tested} tested"
        f"\ncertified pruned search: {cert.evaluations} forward-equivalents, {t_cert:.2f} s, "
        f"{cert.n_classes} classes, {w_cert} wrong of {cert.pairs_tested} tested, "
        f"{len(cert.undecided)} undecided"
        f"\ncertified exact (all pairs to tol {exact.settings['tol']}): {exact.evaluations} "
        f"forward-equivalents, {t_exact:.2f} s, {exact.n_classes} classes"
        f"\ncertified vs paper grid: {e_plain / cert.evaluations:.1f}x fewer "
        f"forward-equivalents, {w_cert} wrong decisions (paper grid: {w_grid} wrong, "
        f"pruned heuristic: {w_heur} wrong)"
    )
    assert w_cert == 0
    assert canonical(cert.labels) == canonical(true_labels) == canonical(exact.labels)

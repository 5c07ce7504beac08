"""homotopy_classes against the paper's plain algorithm on an ensemble of 32 digits networks.

The plain algorithm computes the barrier of every one of the N(N-1)/2 pairs on a 25-point
grid and takes connected components of "barrier <= eps". ``homotopy_classes`` prunes with
union-find, orders pairs nearest first and stops each test early. Both use the same
engine (training cross-entropy, batched over points), measured in this process.

Run: ``python -m pytest tests/benchmarks/bench_homotopy.py --run-benchmarks -s -q``.
Only the partition is asserted (identical); ratios are printed.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from adapters.constructions.class_search import homotopy_classes
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


@pytest.mark.benchmark
def test_homotopy_classes_vs_plain_all_pairs(tmp_path) -> None:
    torch.set_num_threads(1)
    data = digits(seed=0)
    plan = ensemble_plan(N_NETWORKS, steps=600, seed=0)
    thetas = train_ensemble(plan, data, progress=False)
    pts = torch.stack([thetas[r.name] for r in plan])
    engine = Engine(mlp(64, (32,), 10), data.X_train, data.y_train)
    engine.loss(pts[:2])  # warm-up

    before = engine.evaluations
    start = time.perf_counter()
    plain_labels, B = plain_classes(engine, pts, EPS)
    t_plain = time.perf_counter() - start
    e_plain = engine.evaluations - before

    before = engine.evaluations
    start = time.perf_counter()
    ours = homotopy_classes(engine, pts, EPS, progress=False)
    t_ours = time.perf_counter() - start
    e_ours = engine.evaluations - before
    assert e_ours == ours.evaluations

    start = time.perf_counter()
    exact = homotopy_classes(engine, pts, EPS, exact=True, progress=False)
    t_exact = time.perf_counter() - start

    pairs = N_NETWORKS * (N_NETWORKS - 1) // 2
    close = np.sort(np.abs(B[np.triu_indices(N_NETWORKS, 1)] - EPS))[:3]
    print(
        f"\n{N_NETWORKS} digits MLPs, eps={EPS}: plain {len(set(plain_labels))} classes, "
        f"ours {ours.n_classes} classes (sizes {sorted(map(len, ours.classes), reverse=True)})"
        f"\nplain all-pairs ({pairs} pairs x {GRID} points): {e_plain} evaluations, "
        f"{t_plain:.2f} s"
        f"\nhomotopy_classes (pruned): {e_ours} evaluations, {t_ours:.2f} s, "
        f"{ours.pairs_tested}/{pairs} pairs tested"
        f"\nhomotopy_classes (exact, all pairs to tol): {exact.evaluations} evaluations, "
        f"{t_exact:.2f} s"
        f"\nratio evaluations plain/ours: {e_plain / e_ours:.1f}x (target >= 5x)"
        f"\nratio wall time plain/ours: {t_plain / t_ours:.1f}x (target >= 4x)"
        f"\nsmallest |barrier - eps| on the 25-point grid: {np.round(close, 4).tolist()}"
    )
    assert canonical(ours.labels) == canonical(plain_labels)
    assert canonical(exact.labels) == canonical(plain_labels)

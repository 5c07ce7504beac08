"""Cost of one landscape's persistence on the digits MLP, split into its stages.

Stages: sampling (filter-normalized directions), evaluation (the engine's batched path,
against a baseline that writes every sample into the model with ``load_state_dict``),
graph building (symmetric kNN graph, k=10) and persistence (ripser on the flag complex,
H0 only and H0+H1). Scaling at 1k, 5k and 20k samples in the full parameter space and in
an 8-D subspace, where distances follow from the subspace coordinates (k-d tree graph).
Each size ends in a line ``landscape total/eval at 5000 samples: 1.25x``. Run:
``python -m pytest tests/benchmarks/bench_persistence.py --run-benchmarks -s -q``.
Times are measured once each in this process (one thread), the evaluation twice (the
faster counts); only correctness is asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist

from adapters.constructions.persistence import elder_rule_h0, graph_persistence, knn_edges
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.nets.params import ParamSpace
from adapters.nets.sampling import ball_samples, evaluate

SIZES = (1_000, 5_000, 20_000)
K = 10
#: the subspace dimension of the second set of rows
SUBSPACE = 8


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _state_dict_loop(model, space, pts, X, y) -> np.ndarray:
    """The baseline: load each sample's state dict into the model, forward, loss."""
    out = np.empty(len(pts))
    with torch.no_grad():
        for i, theta in enumerate(pts):
            model.load_state_dict(space.unflatten(theta))
            out[i] = float(F.cross_entropy(model(X), y))
    return out


def _trained_mlp(X, y):
    torch.manual_seed(0)
    model = mlp(64, (32,), 10)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    return model


@pytest.mark.benchmark
def test_landscape_cost_split_and_scaling() -> None:
    torch.set_num_threads(1)
    data = digits()
    X, y = data.X_train, data.y_train
    model = _trained_mlp(X, y)
    engine = Engine(model, X, y)
    space = engine.space
    baseline_model = mlp(64, (32,), 10)
    print(f"\ndigits MLP 64-32-10 (n={space.n}), N={len(X)} training samples, k={K}, "
          f"radius 0.1, threads={torch.get_num_threads()}, "
          f"engine strategy={engine.strategy}")  # fmt: skip
    header = (f"{'samples':>8} {'sample':>7} {'eval':>7} {'baseline':>9} {'speedup':>8} "
              f"{'graph':>7} {'edges':>7} {'H0':>6} {'H0+H1':>7} {'#H1':>6} {'total':>7} "
              f"{'eval %':>6} {'graph %':>7} {'PH %':>5} {'contrast':>8}")  # fmt: skip
    print(header)
    lines = []
    for dim in (None, SUBSPACE):
        for n in SIZES:
            lines.append(_row(engine, baseline_model, X, y, n, dim))
    print("times in seconds; 'total' = sample + eval + graph + H0+H1; baseline = "
          "load_state_dict per sample; contrast = median over points of (distance to the "
          f"{K}-th neighbour) / (median distance)")  # fmt: skip
    print("\n".join(lines))


def _row(engine, baseline_model, X, y, n: int, dim: int | None) -> str:
    space = engine.space
    t_sample, samples = _timed(lambda: ball_samples(space, n, 0.1, dim=dim, seed=0))
    pts = samples.points
    # the denominator of every ratio: the faster of two timings (the first may pay for
    # allocations), which makes the ratios conservative
    t_eval, values = min((_timed(lambda: evaluate(engine, pts)) for _ in range(2)),
                         key=lambda r: r[0])
    t_base, base = _timed(lambda: _state_dict_loop(baseline_model, ParamSpace(baseline_model),
                                                   pts, X, y))  # fmt: skip
    np.testing.assert_allclose(values, base, rtol=1e-4, atol=1e-6)  # float32 sums
    emb = samples.embedding()
    t_graph, edges = _timed(lambda: knn_edges(emb, K))
    t_h0, h0 = _timed(lambda: graph_persistence(values, edges, maxdim=0))
    t_h1, dgms = _timed(lambda: graph_persistence(values, edges, maxdim=1))
    np.testing.assert_array_equal(dgms[0], h0[0])
    np.testing.assert_array_equal(elder_rule_h0(values, edges), h0[0])
    total = t_sample + t_eval + t_graph + t_h1
    label = f"{n}" if dim is None else f"{n} ({dim}-D)"
    print(f"{label:>8} {t_sample:7.2f} {t_eval:7.2f} {t_base:9.2f} {t_base / t_eval:7.1f}x "
          f"{t_graph:7.2f} {len(edges):7d} {t_h0:6.2f} {t_h1:7.2f} {len(dgms[1]):6d} "
          f"{total:7.2f} {t_eval / total:6.0%} {t_graph / total:7.0%} {t_h1 / total:5.0%} "
          f"{_contrast(emb):8.3f}")  # fmt: skip
    where = "full space" if dim is None else f"a {dim}-D subspace, distances from coordinates"
    return (f"landscape total/eval at {n} samples: {total / t_eval:.2f}x "
            f"({where}; exact kNN graph, edge recall 100%)")


def _contrast(emb: np.ndarray, m: int = 1000) -> float:
    """Median over the first ``m`` points of d_K / median distance (1: no contrast)."""
    d = cdist(emb[:m], emb[:m])
    np.fill_diagonal(d, np.inf)
    s = np.sort(d, axis=1)[:, :-1]
    return float(np.median(s[:, K - 1] / np.median(s, axis=1)))

"""How the certified class search grows with the ensemble: forward-equivalents and wall
time of ``homotopy_classes`` (certified, pruned) on digits ensembles of growing size, and
the exponent of a power-law fit ``cost ~ N^k`` (the paper's all-pairs grid has ``k = 2``).

Run: ``python -m pytest tests/benchmarks/bench_homotopy_scaling.py --run-benchmarks -s -q``
(``BENCH_SIZES=100,300,1000`` to choose the ensemble sizes). Printed, not asserted, except
that every decision is certified.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from adapters.constructions.class_search import homotopy_classes
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.studies.ensemble import ensemble_plan, train_ensemble

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "32,64,128,256").split(","))
EPS, STEPS = 0.1, 300


@pytest.mark.benchmark
def test_certified_search_scaling() -> None:
    torch.set_num_threads(1)
    data = digits(seed=0)
    plan = ensemble_plan(max(SIZES), steps=STEPS, seed=0)
    thetas = train_ensemble(plan, data, progress=False)
    pts = torch.stack([thetas[r.name] for r in plan])
    engine = Engine(mlp(64, (32,), 10), data.X_train, data.y_train)
    rows = []
    for n in SIZES:
        start = time.perf_counter()
        c = homotopy_classes(engine, pts[:n], EPS, progress=False)
        rows.append((n, c.evaluations, time.perf_counter() - start, c))
        assert c.certified
    N = np.log([r[0] for r in rows])
    k_fe = np.polyfit(N, np.log([r[1] for r in rows]), 1)[0]
    k_t = np.polyfit(N, np.log([r[2] for r in rows]), 1)[0]
    print()
    for n, fe, secs, c in rows:
        print(f"N={n}: {c.n_classes} classes, {fe} forward-equivalents, {secs:.2f} s, "
              f"{c.pairs_tested} of {c.pairs_total} pairs tested, {len(c.undecided)} undecided, "
              f"paper grid would cost {25 * c.pairs_total}")  # fmt: skip
    print(f"observed exponent: forward-equivalents ~ N^{k_fe:.2f}, wall time ~ N^{k_t:.2f}")

"""The homotopy study's parallel parts on each executor, through the study code itself.

Workloads (what ``homotopy_study`` runs): :func:`train_ensemble` on a 16-network
shared-prefix plan (4 roots, then 12 children from their checkpoints; hidden 32, 600 steps),
then :func:`homotopy_classes` with ``exact=True`` on the 120 pairs (8 chunks of 16 pairs
as work items). Baseline: ``executor=None`` (this process: the sequential exact search),
one torch thread, measured in this process. Each executor runs once cold (the first round
includes starting its workers), then ``REPEATS`` warm rounds interleaved across executors,
each on a fresh in-memory store (nothing reused); the best warm time counts. Ray's own
start is timed separately.

Run: ``python -m pytest tests/benchmarks/bench_reproduce_executor.py --run-benchmarks -s -q``.
Only the results are asserted (the same thetas, partition and barrier matrix everywhere).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import parallel_executors as parallel
import pytest
import torch

from adapters.constructions.class_search import homotopy_classes
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.runtime.executor import Executor
from adapters.runtime.store import Store
from adapters.studies.ensemble import digits_engine, ensemble_plan, train_ensemble

NETS, HIDDEN, STEPS, EPS, SEED = 16, (32,), 600, 0.1, 0
REPEATS = 3


def _round(executor: Executor | None) -> tuple[float, float, np.ndarray, np.ndarray]:
    plan = ensemble_plan(NETS, steps=STEPS, seed=SEED)
    t0 = time.perf_counter()
    thetas = train_ensemble(plan, None, hidden=HIDDEN, data_seed=SEED, store=Store(None),
                            progress=False, executor=executor)  # fmt: skip
    t1 = time.perf_counter()
    points = torch.stack([thetas[r.name] for r in plan])
    data = digits(seed=SEED)
    engine = Engine(digits_engine(HIDDEN, SEED).model, data.X_train, data.y_train)
    c = homotopy_classes(
        engine,
        points,
        EPS,
        exact=True,
        store=Store(None),
        progress=False,
        executor=executor,
        loss_recipe=(digits_engine, (list(HIDDEN), SEED)),
    )
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, c.labels, c.barrier_matrix()


@pytest.mark.benchmark
def test_study_speedups_per_executor() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    load = os.getloadavg()
    executors = parallel.executors("in-process (executor=None)", None)
    first: dict[str, float] = {}
    best = {name: [math.inf, math.inf] for name in executors}
    results = {}
    try:
        for name, (ex, _) in executors.items():
            train, pairs, labels, matrix = _round(ex)
            first[name], results[name] = train + pairs, (labels, matrix)
        for _ in range(REPEATS):
            for name, (ex, _) in executors.items():
                train, pairs, _, _ = _round(ex)
                best[name] = [min(best[name][0], train), min(best[name][1], pairs)]
    finally:
        for ex, _ in executors.values():
            if ex is not None:
                ex.close()
        torch.set_num_threads(before)
    base_train, base_pairs = next(iter(best.values()))
    print(f"\nhomotopy study path: {NETS} MLPs {HIDDEN} x {STEPS} steps (train_ensemble); "
          f"{NETS * (NETS - 1) // 2} exact barriers (homotopy_classes, exact=True); warm: best "
          f"of {REPEATS}; x = in-process / executor")  # fmt: skip
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    print(f"{'executor':<30}{'start s':>9}{'1st round s':>13}{'train s':>9}{'x':>7}"
          f"{'pairs s':>9}{'x':>7}")  # fmt: skip
    for name, (_, start) in executors.items():
        train, pairs = best[name]
        print(f"{name:<30}{start:>9.2f}{first[name]:>13.2f}{train:>9.2f}"
              f"{base_train / train:>7.2f}{pairs:>9.2f}{base_pairs / pairs:>7.2f}")  # fmt: skip
    ref_labels, ref_matrix = next(iter(results.values()))
    for name, (labels, matrix) in results.items():
        assert np.array_equal(labels, ref_labels), name
        np.testing.assert_allclose(matrix, ref_matrix, rtol=1e-9, atol=1e-12, err_msg=name)

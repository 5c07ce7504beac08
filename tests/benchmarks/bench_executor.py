"""Executors on this machine: ensemble training and all-pairs barriers, local against Ray.

Workloads: 8 digits MLPs (hidden 64, 1000 SGD steps each), then the linear barriers of all
28 pairs (grid 33). Each executor runs both workloads once cold (the first round includes
starting its workers: process spawn, imports, Ray's worker start), then ``REPEATS`` warm
rounds interleaved across executors; the best warm time counts. Ray's own start
(``ray.init`` of a local instance) is timed separately. Baseline: in-process,
one torch thread per item, measured in this process. On a machine shared with other jobs
the ratios move with the load (more processes also take a larger share of a busy CPU).

Run: ``python -m pytest tests/benchmarks/bench_executor.py --run-benchmarks -s -q``.
Only the results are asserted (identical on every executor with one thread per item).
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from pathlib import Path

import parallel_executors as parallel
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests folder

import executor_work as w  # noqa: E402

from adapters.runtime.executor import Executor, LocalExecutor, WorkItem, run_items, work_key  # noqa: E402

NETS, HIDDEN, STEPS, GRID = 8, (64,), 1000, 33
REPEATS = 3


def _train_items() -> list[WorkItem]:
    return [WorkItem(work_key("net", s, HIDDEN, STEPS), w.train_net, (s, HIDDEN, STEPS))
            for s in range(NETS)]  # fmt: skip


def _pair_items(nets: dict) -> list[WorkItem]:
    keys, thetas = list(nets), [r["theta"] for r in nets.values()]
    return [WorkItem(work_key("pair", keys[i], keys[j], GRID), w.pair_barrier,
                     (thetas[i], thetas[j], HIDDEN), {"grid": GRID})
            for i, j in itertools.combinations(range(len(keys)), 2)]  # fmt: skip


def _timed_round(executor: Executor) -> tuple[float, float, dict, dict]:
    t0 = time.perf_counter()
    nets = run_items(_train_items(), executor, progress=False)
    t1 = time.perf_counter()
    pairs = run_items(_pair_items(nets), executor, progress=False)
    return t1 - t0, time.perf_counter() - t1, nets, pairs


@pytest.mark.benchmark
def test_executor_speedups() -> None:
    executors = parallel.executors("in-process, 1 thread/item", LocalExecutor(0))
    first: dict[str, float] = {}
    best: dict[str, list[float]] = {name: [math.inf, math.inf] for name in executors}
    results = {}
    try:
        for name, (ex, _) in executors.items():
            train, pairs, nets, barriers = _timed_round(ex)
            first[name], results[name] = train + pairs, (nets, barriers)
        for _ in range(REPEATS):  # interleaved, so that load changes hit every executor
            for name, (ex, _) in executors.items():
                train, pairs, _, _ = _timed_round(ex)
                best[name] = [min(best[name][0], train), min(best[name][1], pairs)]
    finally:
        for ex, _ in executors.values():
            ex.close()
    base_train, base_pairs = next(iter(best.values()))
    print(f"\n{NETS} MLPs {HIDDEN} x {STEPS} steps; {NETS * (NETS - 1) // 2} barrier pairs "
          f"(grid {GRID}); warm: best of {REPEATS}, x = in-process / executor")  # fmt: skip
    print(f"{'executor':<30}{'start s':>9}{'1st round s':>13}{'train s':>9}{'x':>7}"
          f"{'pairs s':>9}{'x':>7}")  # fmt: skip
    for name, (_, start) in executors.items():
        train, pairs = best[name]
        print(f"{name:<30}{start:>9.2f}{first[name]:>13.2f}{train:>9.2f}"
              f"{base_train / train:>7.2f}{pairs:>9.2f}{base_pairs / pairs:>7.2f}")  # fmt: skip
    reference = next(iter(results.values()))
    for name, result in results.items():
        assert result == reference, f"{name}: results differ from in-process"

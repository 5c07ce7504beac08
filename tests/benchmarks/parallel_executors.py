"""The executors the benchmarks compare: a baseline, a 2-process pool and a 2-CPU Ray."""

from __future__ import annotations

import time

from adapters.runtime.executor import Executor, LocalExecutor


def executors(baseline: str, first: Executor | None) -> dict[str, tuple[Executor | None, float]]:
    """Name -> (executor, seconds to start it), baseline first; Ray only when installed."""
    out: dict[str, tuple[Executor | None, float]] = {
        baseline: (first, 0.0),
        "process pool (2 workers)": (LocalExecutor(2), 0.0),
    }
    try:
        from adapters.runtime.ray_executor import RayExecutor

        t0 = time.perf_counter()
        ray_ex = RayExecutor(num_cpus=2)
        ray_ex.connect()
        out["ray, local instance (2 CPUs)"] = (ray_ex, time.perf_counter() - t0)
    except ImportError:
        print("\nray is not installed: its row is left out")
    return out

"""Engine throughput on the digits MLP against a load_state_dict loop and the matmul limit.

Run: ``python -m pytest tests/benchmarks/bench_engine.py --run-benchmarks -s -q``.
All numbers are measured in this process, interleaved, best of several repeats; only
correctness is asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.nets.params import ParamSpace

POINTS = 128
REPEATS = 3


def _flops_per_point(model: nn.Module, n_samples: int) -> int:
    """Multiply-adds of the forward pass, times 2: the work one parameter point costs."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return 2 * n_samples * sum(m.in_features * m.out_features for m in linears)


def _matmul_gflops(size: int = 2048) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(REPEATS))
    return 2 * size**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _state_dict_loop(model: nn.Module, space: ParamSpace, pts, X, y) -> torch.Tensor:
    """The baseline: write each point with load_state_dict, run forward, take the loss."""
    out = []
    with torch.no_grad():
        for theta in pts:
            model.load_state_dict(space.unflatten(theta), strict=True)
            out.append(F.cross_entropy(model(X), y))
    return torch.stack(out)


@pytest.mark.benchmark
@pytest.mark.parametrize("hidden", [(32,), (128, 128)])
def test_engine_throughput_digits_mlp(hidden: tuple[int, ...]) -> None:
    data = digits()
    X, y = data.X_train, data.y_train
    torch.manual_seed(0)
    model = mlp(64, hidden, 10)
    space = ParamSpace(model)
    pts = space.vector() + 0.05 * torch.randn(POINTS, space.n)
    engines = {
        path: Engine(model, X, y, strategy=path)
        for path in ("auto", "load", "functional", "vmap", "bmm")
    }
    runs: dict[str, Callable[[], torch.Tensor]] = {
        "load_state_dict loop": lambda: _state_dict_loop(model, space, pts, X, y),
        **{f"engine {p}": (lambda e=e: e.loss(pts)) for p, e in engines.items()},
    }
    reference = runs["load_state_dict loop"]()
    for name, run in runs.items():
        torch.testing.assert_close(run(), reference, rtol=0, atol=1e-5, msg=name)
    best = {name: float("inf") for name in runs}
    for _ in range(REPEATS):
        for name, run in runs.items():
            best[name] = min(best[name], _timed(run))
    peak = _matmul_gflops()
    flops = _flops_per_point(model, len(X))
    base = best["load_state_dict loop"]
    print(
        f"\ndigits MLP 64-{'-'.join(map(str, hidden))}-10, N={len(X)}, P={POINTS}, "
        f"threads={torch.get_num_threads()}, auto strategy={engines['auto'].strategy}, "
        f"chunk={engines['auto'].chunk_points}"
    )
    print(f"{'method':24s} {'points/s':>10s} {'GFLOP/s':>8s} {'vs loop':>8s} {'of peak':>8s}")
    for name, t in best.items():
        gf = POINTS * flops / t / 1e9
        print(f"{name:24s} {POINTS / t:10.0f} {gf:8.1f} {base / t:7.2f}x {gf / peak:7.1%}")
    print(f"{'matmul 2048^2 (limit)':24s} {'':>10s} {peak:8.1f}")

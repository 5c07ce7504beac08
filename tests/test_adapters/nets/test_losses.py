"""The loss protocol: one wrapper for engines and callables, its counts, its gradient and
its three policies for non-finite values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.nets.models import mlp


def pole(p: torch.Tensor) -> torch.Tensor:
    """``1 / p_0`` squared: infinite at ``p_0 = 0``, NaN where ``p_0`` is NaN."""
    return 1.0 / p[0] ** 2


POINTS = torch.tensor([[1.0, 0.0], [0.0, 0.0], [float("nan"), 0.0], [2.0, 0.0]])


def test_the_three_policies_on_a_pole_and_a_nan() -> None:
    kept = LossFunction(pole, nonfinite="keep")(POINTS)
    assert kept[0] == 1.0 and math.isinf(kept[1]) and math.isnan(kept[2]) and kept[3] == 0.25
    inf = LossFunction(pole)(POINTS)
    assert np.isinf(inf[1:3]).all() and inf[3] == 0.25
    with pytest.raises(ValueError, match=r"not finite at point 1 \(inf\); lower the radius"):
        LossFunction(pole, nonfinite="raise", hint="lower the radius")(POINTS)
    with pytest.raises(ValueError, match="nonfinite"):
        LossFunction(pole, nonfinite="clip")  # type: ignore[arg-type]


def test_engine_and_callable_agree_and_are_counted() -> None:
    torch.manual_seed(0)
    net, X, y = mlp(3, (4,), 2), torch.randn(10, 3), torch.randint(0, 2, (10,))
    eng = Engine(net, X, y, dtype=torch.float64)
    by_engine = LossFunction(eng)
    by_callable = LossFunction(eng.loss_fn_at)
    pts = torch.randn(5, eng.space.n, dtype=torch.float64)
    np.testing.assert_allclose(by_engine(pts), by_callable(pts), rtol=1e-12)
    assert by_engine.evaluations == 5 and by_callable.evaluations == 5
    theta = pts[0].clone().requires_grad_(True)
    by_engine.at(theta).backward()
    h = 1e-6
    e0 = torch.zeros_like(pts[0])
    e0[0] = h
    numeric = (by_callable(torch.stack([pts[0] + e0]))[0] - by_callable(pts[:1])[0]) / h
    assert float(theta.grad[0]) == pytest.approx(numeric, rel=1e-4, abs=1e-6)
    assert by_engine.evaluations == 6
    acc = by_engine.accuracy(pts)
    hand = [(net_out.argmax(-1) == y).double().mean() for net_out in eng.outputs(pts)]
    np.testing.assert_allclose(acc, torch.stack(hand).numpy())
    with pytest.raises(TypeError, match="accuracy needs an Engine"):
        by_callable.accuracy(pts)


def test_a_gradient_needs_a_torch_scalar() -> None:
    with pytest.raises(TypeError, match="torch scalar"):
        LossFunction(lambda p: 1.0).at(torch.zeros(2))

"""Loss barriers along paths in parameter space, with few loss evaluations.

The barrier of a path ``gamma: [0, 1] -> R^n`` from ``a = gamma(0)`` to ``b = gamma(1)`` is

    B(gamma) = max_t  loss(gamma(t)) - ((1 - t) loss(a) + t loss(b)),

the largest excess of the loss over the chord between the endpoint losses (DESIGN.md
section 5: *not* "max minus mean of the endpoints", which invents barriers when the
endpoint losses differ). ``B >= 0`` since the excess is 0 at both ends. For the straight
segment ``gamma(t) = a + t (b - a)`` this is the linear-mode-connectivity barrier.

How it is found (``docs/homotopy.md``, "Barriers"): the excess ``g`` is sampled on a coarse
uniform grid (``grid`` points, one batched evaluation). Its curvature ``M = max |g''|`` is
estimated from the grid's second differences (times a safety factor 2). Between two
samples ``(t0, g0)``, ``(t1, g1)`` a function with ``|g''| <= M`` stays below the *interval
bound* ``max_s g0 + (g1 - g0) s + M (t1 - t0)^2 s (1 - s) / 2``. The best interior local
maxima of the grid (at most ``peaks``, best first: the excess may be multimodal, and a
narrow peak can look lower on the grid than a wide one) are each refined by Brent's method
(parabolic interpolation safeguarded by golden sections) inside the bracket of their grid
neighbours, to the step ``sqrt(2 tol / M)`` in ``t`` that makes the height accurate to
``tol``. Then
branch and bound: the interval with the highest bound is split at its bound's maximizer
until every bound is within ``tol`` of the best sample (``status="resolved"``) or
``max_evals`` is spent (``"budget"``). So ``tol`` is the tolerance on the *height*, under
the curvature estimate; a feature narrower than the grid spacing that the second
differences do not see can be missed by this, as by any grid method. The returned samples
let the caller look at the curve.

Decisions ("is the barrier at most ``eps``?") stop early: grid points are visited in
bisection order (``t = 1/2``, then ``1/4, 3/4``, ...) and the test rejects as soon as one
sample exceeds ``eps`` (``"above"``: the height is then a lower bound); when all grid
samples are below, branch and bound runs until every interval bound is below
``max(eps, best + tol)`` (``"below"``) or a sample exceeds ``eps``.

A non-finite loss at an interior point counts as ``+inf`` (the path leaves the region where
the loss is defined); a non-finite endpoint loss is an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from adapters.constructions.barrier_scan import (
    DEFAULT,
    Barrier,
    BarrierSettings,
    Curve,
    Scan,
    evaluate_stage,
    refine,
)
from adapters.nets.losses import LossFunction, as_pair

__all__ = [
    "DEFAULT",
    "Barrier",
    "BarrierSettings",
    "barrier_below",
    "curve_barrier",
    "decide_scan",
    "endpoint_losses",
    "linear_curve",
    "loss_barrier",
]


def linear_curve(a: Tensor, b: Tensor) -> Curve:
    """``t -> a + t (b - a)`` for an array of ``t``: ``(len(t), n)`` points."""
    d = b - a

    def curve(ts: np.ndarray) -> Tensor:
        t = torch.as_tensor(np.asarray(ts, dtype=np.float64), dtype=a.dtype)
        return a + t[:, None] * d

    return curve


def endpoint_losses(
    lf: LossFunction, a: Tensor, b: Tensor, loss_a: float | None, loss_b: float | None
) -> tuple[float, float]:
    """The endpoint losses, evaluating (in one call) only those not given."""
    missing = [p for p, v in ((a, loss_a), (b, loss_b)) if v is None]
    values = iter(lf(torch.stack(missing)).tolist() if missing else [])
    la = float(next(values)) if loss_a is None else float(loss_a)
    lb = float(next(values)) if loss_b is None else float(loss_b)
    return la, lb


def curve_barrier(
    loss: Any,
    curve: Curve,
    *,
    loss_a: float,
    loss_b: float,
    settings: BarrierSettings = DEFAULT,
) -> Barrier:
    """The barrier along any curve ``t -> curve([t])`` with known endpoint losses (see
    :func:`loss_barrier`; the curve is sampled at parameters in ``[0, 1]``)."""
    lf = LossFunction.of(loss)
    scan = Scan(curve, loss_a, loss_b, settings.grid)
    evaluate_stage(lf, [scan], all_levels=True)
    return scan.result(refine(lf, scan, settings))


def loss_barrier(
    loss: Any,
    a: Any,
    b: Any,
    *,
    settings: BarrierSettings = DEFAULT,
    loss_a: float | None = None,
    loss_b: float | None = None,
) -> Barrier:
    """The barrier along the straight segment from ``a`` to ``b`` (module docstring).

    ``loss``: an :class:`~adapters.nets.engine.Engine` or a callable on a flat 1-D tensor
    returning a scalar; ``settings``: a :class:`BarrierSettings`. ``loss_a`` / ``loss_b``:
    endpoint losses if already known (they are then not re-evaluated). Returns a
    :class:`Barrier`.

    >>> import torch
    >>> well = lambda p: (p[0] ** 2 - 1) ** 2          # double well, minima at -1 and +1
    >>> r = loss_barrier(well, torch.tensor([-1.0]), torch.tensor([1.0]))
    >>> round(r.height, 6), round(r.t, 4), r.evaluations < 25
    (1.0, 0.5, True)
    """
    a, b = as_pair(a, b)
    lf = LossFunction.of(loss)
    before = lf.evaluations
    la, lb = endpoint_losses(lf, a, b, loss_a, loss_b)
    r = curve_barrier(lf, linear_curve(a, b), loss_a=la, loss_b=lb, settings=settings)
    r.evaluations = lf.evaluations - before
    return r


def barrier_below(
    loss: Any,
    curve: Curve,
    eps: float,
    *,
    loss_a: float,
    loss_b: float,
    settings: BarrierSettings = DEFAULT,
) -> Barrier:
    """Decide whether the barrier along ``curve`` is at most ``eps``, stopping early.

    Grid levels are evaluated one call each in bisection order; see the module docstring
    and :class:`Barrier` for what ``status`` and ``height`` mean. ``result.below(eps)`` is
    the decision.
    """
    lf = LossFunction.of(loss)
    scan = Scan(curve, loss_a, loss_b, settings.grid)
    while not scan.coarse_done:
        evaluate_stage(lf, [scan], all_levels=False)
        if scan.best()[1] > eps:
            return scan.result("above")
    return decide_scan(lf, scan, eps, settings)


def decide_scan(
    lf: LossFunction, scan: Scan, eps: float, settings: BarrierSettings = DEFAULT
) -> Barrier:
    """Finish a decision on a scan whose coarse grid is complete (``barrier_below``)."""
    return scan.result(refine(lf, scan, settings, stop_above=eps))

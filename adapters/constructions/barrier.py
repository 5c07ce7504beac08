"""Loss barriers along paths in parameter space, with few loss evaluations.

The barrier of a morphism of Param, a path ``gamma`` from ``a = gamma(0)`` to ``b = gamma(1)``
read at normalized time ``t`` in ``[0, 1]`` (:class:`catcore.instances.paths.Path`), is

    B(gamma) = max_t  loss(gamma(t)) - ((1 - t) loss(a) + t loss(b)),

the largest excess of the loss over the chord between the endpoint losses (DESIGN.md
section 5: *not* "max minus mean of the endpoints", which invents barriers when the
endpoint losses differ). ``B >= 0`` since the excess is 0 at both ends. For the straight
segment ``gamma(t) = a + t (b - a)`` (``param.linear(a, b)``, or :func:`segment`) this is
the linear-mode-connectivity barrier; any other morphism (a trajectory, a Bezier curve, a
composite) is measured the same way.

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

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from adapters.constructions.barrier_scan import (
    DEFAULT,
    Barrier,
    BarrierSettings,
    Scan,
    evaluate_stage,
    refine,
)
from adapters.constructions.certified import certified_barrier
from adapters.constructions.taylor import SegmentLoss, Unsupported, unsupported
from adapters.nets.losses import LossFunction, as_pair
from catcore.instances.paths import Path, Paths

__all__ = [
    "DEFAULT",
    "Barrier",
    "BarrierSettings",
    "barrier_below",
    "certifier",
    "decide_scan",
    "endpoint_losses",
    "loss_barrier",
    "segment",
]


def segment(a: Any, b: Any, category: Paths | None = None) -> Path:
    """The straight segment ``a -> b`` as a morphism of ``category`` (a Param, or by
    default the path category ``Paths(n)``): ``category.linear(a, b)``."""
    a, b = as_pair(a, b)
    K = category if category is not None else Paths(a.numel())
    return K.linear(_numpy(a), _numpy(b))


def _numpy(x: Tensor) -> np.ndarray:
    return x.detach().cpu().to(torch.float64).numpy()


def _path(path: Any, b: Any, category: Paths | None) -> tuple[Path, torch.dtype]:
    """The morphism to measure and the dtype its points are evaluated in."""
    if isinstance(path, Path):
        if b is not None:
            raise TypeError("give a path, or two points a and b, not a path and a point")
        return path, torch.float64
    if b is None:
        raise TypeError(f"expected a Path (a Param morphism) or two points, got one "
                        f"{type(path).__name__}")  # fmt: skip
    a, b = as_pair(path, b)
    return segment(a, b, category), a.dtype


def _dtype(lf: LossFunction, default: torch.dtype) -> torch.dtype:
    return lf.engine.dtype if lf.engine is not None else default


def certifier(loss: Any, path: Path) -> SegmentLoss | None:
    """The rigorous bound of ``loss`` along ``path``
    (:class:`~adapters.constructions.taylor.SegmentLoss`) when it can see through it: a
    straight segment and an engine whose network and loss the Taylor model supports.
    ``None`` otherwise: the barrier is then sampled and labelled uncertified."""
    lf = LossFunction.of(loss)
    if lf.engine is None or getattr(path, "kind", "") != "linear" or unsupported(lf.engine):
        return None
    try:
        return SegmentLoss(lf.engine, torch.from_numpy(path.dom), torch.from_numpy(path.cod))
    except Unsupported:
        return None


def _certified(lf: LossFunction, seg: SegmentLoss, path: Path, settings: BarrierSettings,
               eps: float | None) -> Barrier:  # fmt: skip
    r = certified_barrier(seg, settings, eps)
    r.path = path
    lf.evaluations += r.evaluations
    return r


def _scan(lf: LossFunction, path: Path, dtype: torch.dtype, loss_a: float | None,
          loss_b: float | None, settings: BarrierSettings) -> Scan:  # fmt: skip
    """A sampled scan along ``path`` (in the engine's dtype, else ``dtype``), its endpoint
    losses evaluated unless given."""
    dtype = _dtype(lf, dtype)
    la, lb = endpoint_losses(lf, path, dtype, loss_a, loss_b)
    return Scan(path, la, lb, settings.grid, dtype)


def endpoint_losses(
    lf: LossFunction,
    path: Path,
    dtype: torch.dtype,
    loss_a: float | None = None,
    loss_b: float | None = None,
) -> tuple[float, float]:
    """The losses at the ends of ``path``, evaluating (in one call) only those not given."""
    ends = [p for p, v in ((path.dom, loss_a), (path.cod, loss_b)) if v is None]
    pts = torch.from_numpy(np.stack(ends)).to(dtype) if ends else None
    values = iter(lf(pts).tolist() if pts is not None else [])
    la = float(next(values)) if loss_a is None else float(loss_a)
    lb = float(next(values)) if loss_b is None else float(loss_b)
    return la, lb


def loss_barrier(
    loss: Any,
    path: Any,
    b: Any = None,
    *,
    settings: BarrierSettings = DEFAULT,
    loss_a: float | None = None,
    loss_b: float | None = None,
    category: Paths | None = None,
    certify: bool = True,
    tol: float | None = None,
) -> Barrier:
    """The barrier along ``path``, a morphism of Param (module docstring); given two points
    ``a, b`` instead, along the straight segment ``segment(a, b, category)``.

    ``loss``: an :class:`~adapters.nets.engine.Engine` or a callable on a flat 1-D tensor
    returning a scalar; ``settings``: a :class:`BarrierSettings` (``tol`` overrides its
    tolerance). With ``certify`` (default) and a loss the bound sees through
    (:func:`certifier`), the barrier is certified: ``upper - height <= tol`` with ``upper``
    a rigorous upper bound (:mod:`adapters.constructions.certified`; endpoint losses are then
    recomputed in float64). Otherwise it is sampled (``certified`` is ``False``) and
    ``loss_a`` / ``loss_b``, endpoint losses if already known, are not re-evaluated.
    Returns a :class:`Barrier` whose ``path`` is the morphism measured.

    >>> import torch
    >>> well = lambda p: (p[0] ** 2 - 1) ** 2          # double well, minima at -1 and +1
    >>> r = loss_barrier(well, torch.tensor([-1.0]), torch.tensor([1.0]))
    >>> round(r.height, 6), round(r.t, 4), r.evaluations < 25
    (1.0, 0.5, True)
    """
    gamma, dtype = _path(path, b, category)
    lf = LossFunction.of(loss)
    settings = settings if tol is None else replace(settings, tol=tol)
    seg = certifier(lf, gamma) if certify else None
    if seg is not None:
        return _certified(lf, seg, gamma, settings, None)
    before = lf.evaluations
    scan = _scan(lf, gamma, dtype, loss_a, loss_b, settings)
    evaluate_stage(lf, [scan], all_levels=True)
    return scan.result(refine(lf, scan, settings), evaluations=lf.evaluations - before)


def barrier_below(
    loss: Any,
    path: Path,
    eps: float,
    *,
    loss_a: float | None = None,
    loss_b: float | None = None,
    settings: BarrierSettings = DEFAULT,
    dtype: torch.dtype = torch.float64,
    certify: bool = True,
) -> Barrier:
    """Decide whether the barrier along ``path`` (a Param morphism) is at most ``eps``,
    stopping early. With ``certify`` and a loss the bound sees through, the decision is
    certified (``"below"``: ``upper <= eps``; ``"above"``: a sample exceeds the chord by more
    than ``eps``; ``"undecided"`` when ``settings.budget`` runs out first).

    Grid levels are evaluated one call each in bisection order; see the module docstring
    and :class:`Barrier` for what ``status`` and ``height`` mean. ``result.below(eps)`` is
    the decision. Points are evaluated in the engine's dtype (else ``dtype``).
    """
    lf = LossFunction.of(loss)
    seg = certifier(lf, path) if certify else None
    if seg is not None:
        return _certified(lf, seg, path, settings, eps)
    before = lf.evaluations
    scan = _scan(lf, path, dtype, loss_a, loss_b, settings)
    while not scan.coarse_done:
        evaluate_stage(lf, [scan], all_levels=False)
        if scan.best()[1] > eps:
            return scan.result("above", evaluations=lf.evaluations - before)
    r = decide_scan(lf, scan, eps, settings)
    r.evaluations = lf.evaluations - before
    return r


def decide_scan(
    lf: LossFunction, scan: Scan, eps: float, settings: BarrierSettings = DEFAULT
) -> Barrier:
    """Finish a decision on a scan whose coarse grid is complete (``barrier_below``)."""
    return scan.result(refine(lf, scan, settings, stop_above=eps))

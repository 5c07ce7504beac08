"""Certified barriers and decisions along straight segments (``docs/homotopy.md``,
"Certified barriers").

Branch and bound over ``t`` on the excess ``loss(t) - chord(t)``: every exact sample is a
rigorous lower bound of the barrier (:func:`adapters.constructions.taylor.exact_lower`),
every interval has a rigorous upper bound
(:meth:`adapters.constructions.taylor.SegmentLoss.upper`), and the interval with the
highest bound is split at its midpoint (sampled) until

- a barrier: ``upper - height <= tol`` (``"resolved"``);
- a decision at ``eps``: ``upper <= eps`` (``"below"``: linked) or ``height > eps``
  (``"above"``: separated), whichever comes first;

or the budget of forward-equivalents is spent (``"budget"`` for a barrier, ``"undecided"``
for a decision): both bounds are then reported and no verdict is guessed. ``upper`` never
lies below the true maximum (up to the stated floating-point margin of
:mod:`adapters.constructions.taylor`).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from adapters.constructions.barrier_scan import Barrier, BarrierSettings
from adapters.constructions.taylor import SegmentLoss, exact_lower

#: intervals split per round (their midpoints are sampled, and their halves bounded, in one
#: batched pass each)
ROUND = 4


class _Search:
    """The state of one branch and bound: samples, and intervals keyed by their bound."""

    def __init__(self, seg: SegmentLoss, la: float, lb: float) -> None:
        self.seg, self.la, self.lb = seg, la, lb
        self.samples: dict[float, float] = {0.0: la, 1.0: lb}
        self.cost = 0.0
        self.heap: list[tuple[float, float, float]] = []

    def chord(self, t: np.ndarray) -> np.ndarray:
        return (1.0 - t) * self.la + t * self.lb

    def sample(self, ts: np.ndarray) -> None:
        if len(ts):
            for t, v in zip(ts, self.seg.values(ts)):
                self.samples[float(t)] = float(v)
            self.cost += len(ts)

    def bound(self, t0: np.ndarray, t1: np.ndarray) -> None:
        lo, hi = self.seg.upper(t0, t1)
        self.cost += self.seg.bound_cost * len(t0)
        ub = np.maximum(lo - self.chord(t0), hi - self.chord(t1))
        for u, a, b in zip(ub, t0, t1):
            heapq.heappush(self.heap, (-float(u), float(a), float(b)))

    def best(self) -> tuple[float, float]:
        """``(t, excess)`` of the best sample, the excess as a rigorous lower bound."""
        t = max(self.samples, key=lambda s: self.samples[s] - self.chord(s))
        return t, exact_lower(self.samples[t]) - float(self.chord(t))

    def upper(self) -> float:
        """The rigorous upper bound of the excess (``inf`` before any interval is bounded)."""
        return -self.heap[0][0] if self.heap else math.inf

    def split(self) -> None:
        """Split the ``ROUND`` intervals of highest bound at their midpoints."""
        picked = [heapq.heappop(self.heap) for _ in range(min(ROUND, len(self.heap)))]
        a = np.array([p[1] for p in picked])
        b = np.array([p[2] for p in picked])
        m = 0.5 * (a + b)
        self.sample(m)
        self.bound(np.concatenate([a, m]), np.concatenate([m, b]))

    def result(self, status: str) -> Barrier:
        ts = np.array(sorted(self.samples))
        losses = np.array([self.samples[t] for t in ts])
        t, h = self.best()
        return Barrier(
            height=max(h, 0.0), t=float(t), evaluations=int(math.ceil(self.cost)),
            ts=ts, excess=losses - self.chord(ts), losses=losses, loss_a=self.la,
            loss_b=self.lb, status=status, upper=max(self.upper(), 0.0), certified=True,
        )  # fmt: skip


def certified_barrier(  # noqa: PLR0911
    seg: SegmentLoss,
    settings: BarrierSettings,
    eps: float | None = None,
    loss_a: float | None = None,
    loss_b: float | None = None,
) -> Barrier:
    """The certified barrier of ``seg`` to ``settings.tol`` (``eps=None``), or the certified
    decision "barrier <= eps" (module docstring). ``settings.grid`` seeds the search (its
    interior points are sampled, its cells bounded, in one pass each); ``settings.budget``
    caps the forward-equivalents. Endpoint losses are computed in float64 unless given
    (they must then be float64 values of the same segment's ends)."""
    if loss_a is None or loss_b is None:
        la, lb = (float(v) for v in seg.values(np.array([0.0, 1.0])))
        extra = 2
    else:
        la, lb, extra = float(loss_a), float(loss_b), 0
    for name, v in (("loss_a", la), ("loss_b", lb)):
        if not math.isfinite(v):
            raise ValueError(f"endpoint loss {name} is {v}; the barrier is undefined")
    s = _Search(seg, la, lb)
    s.cost += extra
    grid = np.linspace(0.0, 1.0, settings.grid)
    for ts in (np.array([0.5]), grid[1:-1][grid[1:-1] != 0.5]):  # the midpoint first
        s.sample(ts)
        if eps is not None and s.best()[1] > eps:
            return s.result("above")
    s.bound(grid[:-1], grid[1:])
    while True:
        height, upper = s.best()[1], s.upper()
        if eps is not None and height > eps:
            return s.result("above")
        if eps is not None and upper <= eps:
            return s.result("below")
        if eps is None and upper - max(height, 0.0) <= settings.tol:
            return s.result("resolved")
        if s.cost >= settings.budget:
            return s.result("undecided" if eps is not None else "budget")
        s.split()

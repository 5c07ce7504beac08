"""The scan behind a loss barrier: a coarse grid in bisection order, the curvature bound,
Brent refinement of the best peaks, and branch and bound to a height tolerance
(``docs/homotopy.md``, "Barriers"; the definition and the decision rules are in
:mod:`adapters.constructions.barrier`).

Also the data a search produces and is tuned by: :class:`Barrier` (the result) and
:class:`BarrierSettings` (grid, tol, peaks, max_evals). A scan runs along a morphism of a
catcore path category (:class:`~catcore.instances.paths.Path`: a Param morphism), sampled
at normalized times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from adapters.constructions.brent import brent_max
from adapters.nets.losses import LossFunction
from catcore.instances.paths import Path

_SAFETY = 2.0  # factor on the estimated curvature in the skip / accept bound


@dataclass(frozen=True)
class BarrierSettings:
    """How a barrier is searched (``docs/homotopy.md``, "Loss barriers").

    ``grid``: coarse grid size (ends included; evaluated in one batched call); ``peaks``:
    how many coarse local maxima may be refined; ``tol``: tolerance on the height (for the
    sampling method: on the maximizer ``t`` of each refined peak and on the bound of every
    interval); ``max_evals``: cap on the evaluations of one sampled pair; ``budget``: cap
    on the forward-equivalents of one certified barrier or decision
    (:mod:`adapters.constructions.certified`).
    """

    tol: float = 1e-4
    grid: int = 9
    peaks: int = 3
    max_evals: int = 200
    budget: int = 4000

    def __post_init__(self) -> None:
        if not isinstance(self.grid, int) or self.grid < 3:
            raise ValueError(f"grid must be an integer >= 3, got {self.grid!r}")
        if not self.tol > 0:
            raise ValueError(f"tol must be positive, got {self.tol!r}")
        if self.peaks < 0:
            raise ValueError(f"peaks must be >= 0, got {self.peaks!r}")
        if self.max_evals < self.grid:
            raise ValueError(f"max_evals must be at least grid={self.grid}, got {self.max_evals!r}")
        if self.budget < 1:
            raise ValueError(f"budget must be positive, got {self.budget!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = BarrierSettings()


def bisection_levels(grid: int) -> list[list[int]]:
    """Interior indices ``1 .. grid-2`` of a uniform grid, grouped by bisection depth.

    >>> bisection_levels(9)
    [[4], [2, 6], [1, 3, 5, 7]]
    """
    if grid < 3:
        raise ValueError(f"grid needs at least 3 points (two ends and one inside), got {grid}")
    levels: list[list[int]] = []
    spans = [(0, grid - 1)]
    while spans:
        level, nxt = [], []
        for lo, hi in spans:
            if hi - lo < 2:
                continue
            mid = (lo + hi) // 2
            level.append(mid)
            nxt += [(lo, mid), (mid, hi)]
        if level:
            levels.append(sorted(level))
        spans = nxt
    return levels


@dataclass
class Barrier:
    """The barrier of one path (see the module docstring for the definition).

    ``height``: the largest excess found (a lower bound of the barrier); ``t``: where;
    ``evaluations``: loss evaluations (forward-equivalents) spent on this path (endpoint
    losses included when they were computed here); ``ts``, ``excess`` and ``losses``: every
    sample, sorted by ``t``; ``loss_a``, ``loss_b``: the endpoint losses; ``path``: the
    morphism measured. ``certified``: whether ``upper`` is a rigorous upper bound of the
    barrier (:mod:`adapters.constructions.certified`); for the sampling method it is
    ``False`` and ``upper`` is ``inf`` (no bound is known). ``status`` says what was
    established:

    - ``"resolved"``: the maximum to tolerance (certified: ``upper - height <= tol``;
      sampled: under the curvature estimate);
    - ``"budget"``: ``max_evals`` was spent first (both bounds as they stand);
    - ``"above"``: a decision stopped because a sample exceeded the threshold, so
      ``height`` is a *lower bound* above it (a certified "separated");
    - ``"below"``: a decision accepted because the bound is below the threshold
      (certified: ``upper <= eps``; sampled: the curvature estimate's bound);
    - ``"undecided"``: a certified decision ran out of budget with
      ``height <= eps < upper``.
    """

    height: float
    t: float
    evaluations: int
    ts: np.ndarray = field(repr=False)
    excess: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    loss_a: float
    loss_b: float
    status: str = "resolved"
    path: Path | None = field(default=None, repr=False, compare=False)
    upper: float = math.inf
    certified: bool = False

    def below(self, eps: float) -> bool:
        """Whether the barrier is at most ``eps``: certified, when ``upper <= eps`` (a
        straddling or undecided result is *not* below); sampled, when the height found is."""
        return self.upper <= eps if self.certified else self.height <= eps

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable summary (samples included)."""
        return {
            "height": float(self.height),
            "t": float(self.t),
            "evaluations": int(self.evaluations),
            "status": self.status,
            "upper": float(self.upper),
            "certified": bool(self.certified),
            "loss_a": float(self.loss_a),
            "loss_b": float(self.loss_b),
            "ts": [float(v) for v in self.ts],
            "excess": [float(v) for v in self.excess],
        }


class Scan:
    """The samples of the excess along one path, gathered in stages (internal state).

    ``path`` is sampled at normalized times ``ts`` (points cast to ``dtype``, the precision
    the loss is evaluated in); ``loss_a`` and ``loss_b`` are the endpoint losses (the
    chord). Stages and refinements add samples; :meth:`result` reads them out.
    """

    def __init__(
        self,
        path: Path,
        loss_a: float,
        loss_b: float,
        grid: int,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        for name, v in (("loss_a", loss_a), ("loss_b", loss_b)):
            if not math.isfinite(v):
                raise ValueError(f"endpoint loss {name} is {v}; the barrier is undefined")
        self.path, self.dtype = path, dtype
        self.loss_a, self.loss_b = float(loss_a), float(loss_b)
        self.grid = int(grid)
        self.levels = bisection_levels(self.grid)
        self.level = 0  # next level to evaluate
        self.samples: dict[float, float] = {0.0: self.loss_a, 1.0: self.loss_b}
        self.evaluations = 0
        self._curvature: float | None = None

    def points(self, ts: np.ndarray) -> Tensor:
        """The path's points at normalized times ``ts``, ``(len(ts), n)`` in ``dtype``."""
        return torch.from_numpy(self.path.normalized(np.asarray(ts, dtype=np.float64))).to(
            self.dtype
        )

    def chord(self, t: float) -> float:
        return (1.0 - t) * self.loss_a + t * self.loss_b

    def excess(self, t: float) -> float:
        return self.samples[t] - self.chord(t)

    def best(self) -> tuple[float, float]:
        """``(t, excess)`` of the highest sample (ends included)."""
        t = max(self.samples, key=lambda s: (self.excess(s), -abs(s - 0.5)))
        return t, self.excess(t)

    def grid_ts(self, indices: Sequence[int]) -> np.ndarray:
        return np.asarray(indices, dtype=np.float64) / (self.grid - 1)

    def pending(self, all_levels: bool) -> np.ndarray:
        """Parameters of the next level (or of every remaining level)."""
        stop = len(self.levels) if all_levels else self.level + 1
        idx = [i for lv in self.levels[self.level : stop] for i in lv]
        return self.grid_ts(idx)

    def add(self, ts: np.ndarray, values: np.ndarray, all_levels: bool) -> None:
        for t, v in zip(ts, values):
            self.samples[float(t)] = float(v)
        self.evaluations += len(ts)
        self.level = len(self.levels) if all_levels else self.level + 1

    @property
    def coarse_done(self) -> bool:
        return self.level >= len(self.levels)

    def coarse(self) -> tuple[np.ndarray, np.ndarray]:
        ts = self.grid_ts(range(self.grid))
        return ts, np.array([self.excess(float(t)) for t in ts])

    def curvature(self) -> float:
        """Estimated ``max |g''|`` from the coarse grid's second differences, times the
        safety factor; ``inf`` if a grid value is infinite. Computed once, when the coarse
        grid is complete (closer samples would amplify rounding noise)."""
        if self._curvature is None:
            _, g = self.coarse()
            h = 1.0 / (self.grid - 1)
            finite = bool(np.all(np.isfinite(g)))
            m = float(np.max(np.abs(np.diff(g, 2)))) / h**2 if finite else math.inf
            self._curvature = _SAFETY * m
        return self._curvature

    def raise_curvature(self, t0: float, t: float, t1: float, bound: float) -> float:
        """The curvature estimate, raised (times the safety factor) when the sample at
        ``t`` exceeds the ``bound`` it had on ``[t0, t1]``: a sample that proves the
        estimate wrong replaces it."""
        g = self.excess(t)
        M = self.curvature()
        if g > bound and math.isfinite(g):
            w, u = t1 - t0, (t - t0) / (t1 - t0)
            chord = self.excess(t0) + (self.excess(t1) - self.excess(t0)) * u
            self._curvature = max(M, _SAFETY * 2.0 * (g - chord) / (w * w * u * (1.0 - u)))
        return self.curvature()

    def intervals(self) -> list[tuple[float, float, float]]:
        """``(bound, t0, t1)`` for each pair of consecutive samples (interval bound of the
        module docstring, with the estimated curvature)."""
        M = self.curvature()
        ts = sorted(self.samples)
        out = []
        for t0, t1 in zip(ts[:-1], ts[1:]):
            g0, g1 = self.excess(t0), self.excess(t1)
            out.append((_interval_bound(g0, g1, t1 - t0, M)[0], t0, t1))
        return out

    def peaks(self, count: int) -> list[int]:
        """Indices of interior coarse local maxima, highest first (at most ``count``)."""
        _, g = self.coarse()
        idx = [i for i in range(1, self.grid - 1) if g[i] >= g[i - 1] and g[i] >= g[i + 1]]
        return sorted(idx, key=lambda i: -g[i])[:count]

    def result(self, status: str, evaluations: int | None = None) -> Barrier:
        ts = np.array(sorted(self.samples))
        losses = np.array([self.samples[t] for t in ts])
        excess = np.array([self.excess(t) for t in ts])
        t, h = self.best()
        return Barrier(
            height=float(max(h, 0.0)),
            t=float(t),
            evaluations=self.evaluations if evaluations is None else evaluations,
            ts=ts,
            excess=excess,
            losses=losses,
            loss_a=self.loss_a,
            loss_b=self.loss_b,
            status=status,
            path=self.path,
        )


def evaluate_stage(lf: LossFunction, scans: Sequence[Scan], all_levels: bool) -> None:
    """Evaluate the next coarse level (or all remaining levels) of several scans in one
    batched call."""
    todo = [(s, s.pending(all_levels)) for s in scans if not s.coarse_done]
    todo = [(s, ts) for s, ts in todo if len(ts)]
    if not todo:
        return
    points = torch.cat([s.points(ts) for s, ts in todo])
    values = lf(points)
    start = 0
    for s, ts in todo:
        s.add(ts, values[start : start + len(ts)], all_levels)
        start += len(ts)


def _interval_bound(g0: float, g1: float, w: float, M: float) -> tuple[float, float]:
    """``(bound, s*)``: the maximum over ``s`` in ``[0, 1]`` of
    ``g0 + (g1 - g0) s + M w^2 s (1 - s) / 2`` and where it is attained."""
    if not (math.isfinite(g0) and math.isfinite(g1)):
        return math.inf, 0.5
    c = 0.5 * M * w * w
    if not math.isfinite(c):
        return math.inf, 0.5
    if c <= 0:
        return max(g0, g1), 0.0 if g0 >= g1 else 1.0
    s = min(1.0, max(0.0, 0.5 + (g1 - g0) / (2.0 * c)))
    return g0 + (g1 - g0) * s + c * s * (1.0 - s), s


class _Exceeded(Exception):
    pass


class _Probe:
    """Evaluates the excess at single parameters, caching in the scan and counting."""

    def __init__(self, lf: LossFunction, scan: Scan, max_evals: int, stop_above: float | None):
        self.lf, self.scan, self.max_evals, self.stop_above = lf, scan, max_evals, stop_above

    def left(self) -> int:
        return self.max_evals - self.scan.evaluations

    def __call__(self, t: float) -> float:
        scan = self.scan
        if t not in scan.samples:
            scan.samples[t] = float(self.lf(scan.points(np.array([t])))[0])
            scan.evaluations += 1
        g = scan.excess(t)
        if self.stop_above is not None and g > self.stop_above:
            raise _Exceeded
        return g


def refine(
    lf: LossFunction,
    scan: Scan,
    settings: BarrierSettings = DEFAULT,
    stop_above: float | None = None,
) -> str:
    """Refine a scan whose coarse grid is complete (module docstring); returns the status:
    ``"resolved"`` / ``"below"`` (certified within ``tol``, or below ``stop_above``),
    ``"above"`` (a sample exceeded ``stop_above``) or ``"budget"`` (``max_evals`` spent)."""
    tol, peaks = settings.tol, settings.peaks
    probe = _Probe(lf, scan, settings.max_evals, stop_above)
    floor = -math.inf if stop_above is None else stop_above

    def target() -> float:
        return max(scan.best()[1] + tol, floor)

    try:
        probe(scan.best()[0])  # an early stop on the coarse grid already
        M = scan.curvature()
        if stop_above is None and math.isfinite(M):
            xtol = min(0.25 / (scan.grid - 1), max(1e-9, math.sqrt(2.0 * tol / M) if M else 1.0))
            for i in scan.peaks(peaks):
                lo, x, hi = (float(t) for t in scan.grid_ts([i - 1, i, i + 1]))
                if probe.left() <= 0:
                    break
                brent_max(probe, lo, hi, x, scan.excess(x), scan.excess(lo), scan.excess(hi),
                          tol=xtol, budget=probe.left)  # fmt: skip
        while True:
            bound, t0, t1 = max(scan.intervals())
            if bound <= target():
                return "resolved" if stop_above is None else "below"
            if probe.left() <= 0:
                return "budget"
            s = _interval_bound(scan.excess(t0), scan.excess(t1), t1 - t0, M)[1]
            t = t0 + min(0.75, max(0.25, s)) * (t1 - t0)
            probe(t)
            M = scan.raise_curvature(t0, t, t1, bound)
    except _Exceeded:
        return "above"



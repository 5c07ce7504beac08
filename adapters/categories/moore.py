"""Moore paths with corners, lazy concatenation and comparison up to reparametrization.

Shared by :class:`adapters.categories.param.Param` and :class:`adapters.categories.rep.Rep`, both
of which are
:class:`catcore.instances.paths.Paths` (so catcore's law suites apply unchanged). This
module adds what large, expensive paths need (``docs/adapters.md``, section "Param"):

- :class:`MoorePath` remembers its *breaks*: the normalized times ``s`` in ``[0, 1]`` of
  its corners (knots of a piecewise-linear path, the junction of a concatenation). They
  make arc-length resampling exact for polygonal paths.
- :class:`MoorePaths` builds segments, piecewise-linear paths (vectorized in the
  dimension), Bezier curves and reparametrizations, and concatenates lazily: a sample of
  ``f ; g`` evaluates only the half it falls in (``t <= T_f``: ``f(t)``, else
  ``g(t - T_f)``; durations add, exactly as in catcore).
- :func:`by_arclength` resamples a path at equal arc-length fractions and
  :class:`UpToReparametrization` compares two paths that way: an :class:`Equality` for
  catcore's law runner under which a path equals all its orientation-preserving
  reparametrizations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import comb
from typing import Any

import numpy as np

from catcore.equality import tuple_mismatch
from catcore.errors import MorphismError
from catcore.instances.paths import Path, Paths

_EMPTY = np.zeros(0)


class MoorePath(Path):
    """A catcore :class:`~catcore.instances.paths.Path` with corner times and a label.

    ``breaks``: normalized times in ``(0, 1)`` where the path may have a corner;
    ``kind``: how it was built (``"linear"``, ``"piecewise"``, ``"trajectory"``,
    ``"bezier"``, ``"constant"``, ``"concatenation"``, ...).
    """

    def __init__(
        self,
        category: Paths,
        fn: Callable[[np.ndarray], np.ndarray],
        duration: float,
        breaks: Any = (),
        kind: str = "path",
    ):
        super().__init__(category, fn, duration)
        b = np.unique(np.asarray(breaks, dtype=float).reshape(-1))
        self.breaks: np.ndarray = b[(b > 0.0) & (b < 1.0)]
        self.kind = kind

    def __repr__(self) -> str:
        return f"{self.kind} path in {self.category.name}, T={self.duration:g}"


def breaks_of(path: Path) -> np.ndarray:
    """Corner times of ``path`` (empty for a plain catcore path)."""
    return getattr(path, "breaks", _EMPTY)


def _invert_monotone(r: Callable[[np.ndarray], np.ndarray], y: np.ndarray) -> np.ndarray:
    """Smallest ``s`` in ``[0, 1]`` with ``r(s) >= y`` for a nondecreasing ``r`` (bisection)."""
    lo, hi = np.zeros_like(y), np.ones_like(y)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = np.asarray(r(mid), dtype=float) < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return hi


class MoorePaths(Paths):
    """catcore's Moore paths in ``R^dim`` with the constructors of Def 2.1.

    All constructors return :class:`MoorePath`; composition is concatenation with
    durations adding (strictly associative and unital, as in catcore).
    """

    def _make(self, fn: Callable, duration: float, breaks: Any = (), kind: str = "path"):
        return MoorePath(self, fn, duration, breaks, kind)

    def identity(self, obj: Any) -> MoorePath:
        """The constant path of duration 0 at ``obj`` (a strict identity)."""
        x = self.point(obj)
        return self._make(lambda t: np.broadcast_to(x, (len(t), self.dim)), 0.0, kind="constant")

    def linear(self, a: Any, b: Any, duration: float = 1.0) -> MoorePath:
        """The straight segment ``a -> b`` at constant speed over ``[0, duration]``."""
        a, b = self.point(a), self.point(b)
        T = float(duration)
        if T <= 0:
            if T == 0 and self.same_object(a, b):
                return self.identity(a)
            raise MorphismError(f"a segment between distinct points needs duration > 0, got {T}")
        d = b - a
        return self._make(lambda t: a + np.outer(t / T, d), T, kind="linear")

    def through(self, knots: Any, times: Any | None = None, kind: str = "piecewise") -> MoorePath:
        """Piecewise-linear path through ``knots`` (``(K, dim)``) at strictly increasing
        ``times`` starting at 0 (default ``0, 1, ..., K-1``)."""
        k = np.asarray(knots, dtype=float)
        if k.ndim != 2 or k.shape[1] != self.dim or len(k) == 0:
            raise MorphismError(f"knots must have shape (K, {self.dim}), got {k.shape}")
        ts = np.arange(len(k), dtype=float) if times is None else np.asarray(times, dtype=float)
        if ts.shape != (len(k),) or ts[0] != 0 or np.any(np.diff(ts) <= 0):
            raise MorphismError(
                f"times must start at 0 and increase strictly, one per knot; got {ts.tolist()}"
            )
        if len(k) == 1:
            return self.identity(k[0])
        steps = np.diff(k, axis=0)

        def fn(t: np.ndarray) -> np.ndarray:
            i = np.clip(np.searchsorted(ts, t, side="right") - 1, 0, len(ts) - 2)
            w = (t - ts[i]) / (ts[i + 1] - ts[i])
            return k[i] + w[:, None] * steps[i]

        return self._make(fn, ts[-1], ts[1:-1] / ts[-1], kind=kind)

    def bezier(self, control: Any, duration: float = 1.0) -> MoorePath:
        """The Bezier curve with control points ``control`` (``(K, dim)``, K >= 2):
        ``B(s) = sum_k C(K-1, k) s^k (1-s)^(K-1-k) P_k`` at ``s = t / duration``; it starts
        at ``P_0`` and ends at ``P_{K-1}``."""
        P = np.asarray(control, dtype=float)
        if P.ndim != 2 or P.shape[1] != self.dim or len(P) < 2:
            raise MorphismError(f"control points must have shape (K>=2, {self.dim}), got {P.shape}")
        if not duration > 0:
            raise MorphismError(f"a Bezier curve needs duration > 0, got {duration}")
        T, m = float(duration), len(P) - 1
        binom = np.array([comb(m, j) for j in range(m + 1)], dtype=float)
        j = np.arange(m + 1)

        def fn(t: np.ndarray) -> np.ndarray:
            s = (t / T)[:, None]
            return (binom * s**j * (1.0 - s) ** (m - j)) @ P

        return self._make(fn, T, kind="bezier")

    def reparametrize(
        self, path: Path, r: Callable[[np.ndarray], np.ndarray], duration: float | None = None
    ) -> MoorePath:
        """``s -> path(r(s))`` for a nondecreasing ``r: [0, 1] -> [0, 1]`` with ``r(0) = 0``
        and ``r(1) = 1`` (checked on a grid), over ``duration`` (default: the path's)."""
        grid = np.linspace(0.0, 1.0, 1025)
        rg = np.asarray(r(grid), dtype=float)
        if rg.shape != grid.shape or abs(rg[0]) > 1e-12 or abs(rg[-1] - 1) > 1e-12:
            raise MorphismError("a reparametrization must map 0 to 0 and 1 to 1")
        if np.any(np.diff(rg) < -1e-12):
            raise MorphismError("a reparametrization must be nondecreasing")
        T = path.duration if duration is None else float(duration)
        breaks = _invert_monotone(r, breaks_of(path)) if len(breaks_of(path)) else ()

        def fn(t: np.ndarray) -> np.ndarray:
            s = t / T if T > 0 else np.zeros_like(t)
            return path.normalized(np.clip(np.asarray(r(s), dtype=float), 0.0, 1.0))

        return self._make(fn, T, breaks, kind=f"reparametrized {getattr(path, 'kind', 'path')}")

    def _compose(self, f: Path, g: Path) -> MoorePath:
        T1, T2 = f.duration, g.duration
        total = T1 + T2

        def fn(t: np.ndarray) -> np.ndarray:
            first = t <= T1
            out = np.empty((len(t), self.dim))
            if first.any():
                out[first] = f.sample(t[first])
            if not first.all():
                out[~first] = g.sample(t[~first] - T1)
            return out

        if total > 0:
            breaks = np.concatenate([breaks_of(f) * T1, [T1], T1 + breaks_of(g) * T2]) / total
        else:
            breaks = ()
        return self._make(fn, total, breaks, kind="concatenation")


def _chords(path: Path, s: np.ndarray, chunk: int) -> np.ndarray:
    """Cumulative chord length of ``path`` along increasing normalized times ``s``."""
    seg = np.empty(len(s) - 1)
    for start in range(0, len(s) - 1, chunk):
        pts = path.normalized(s[start : start + chunk + 1])
        seg[start : start + len(pts) - 1] = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _at_length(target: np.ndarray, s: np.ndarray, cum: np.ndarray) -> tuple:
    """Index ``i`` and weight ``w`` placing each target length on the chord ``s[i], s[i+1]``."""
    i = np.clip(np.searchsorted(cum, target, side="right") - 1, 0, len(s) - 2)
    length = cum[i + 1] - cum[i]
    w = np.divide(target - cum[i], length, out=np.zeros_like(target), where=length > 0)
    return i, np.clip(w, 0.0, 1.0)


def arclength_positions(path: Path, fine: int = 2049, chunk: int = 256) -> tuple:
    """``(s, cum)``: normalized times and the cumulative chord length of the path there.

    Two passes: chords on ``fine`` equally spaced times plus the breaks, then again on
    ``fine`` times placed at equal lengths by the first pass (plus the breaks), so the grid
    is fine in *length* whatever the parametrization (a path that rushes through its
    start is resolved as well as one at constant speed)."""
    b = breaks_of(path)
    s = np.union1d(np.linspace(0.0, 1.0, int(fine)), b)
    cum = _chords(path, s, chunk)
    if not cum[-1] > 0:
        return s, cum
    i, w = _at_length(np.linspace(0.0, cum[-1], int(fine)), s, cum)
    s2 = np.union1d(s[i] + w * (s[i + 1] - s[i]), np.concatenate([[0.0, 1.0], b]))
    return s2, _chords(path, s2, chunk)


def by_arclength(path: Path, samples: int = 129, fine: int = 2049) -> np.ndarray:
    """Points of ``path`` at ``samples`` equally spaced arc-length fractions: ``(samples, dim)``.

    Lengths are chords on a grid of ``fine`` times fine in length (see
    :func:`arclength_positions`) that contains the path's breaks, and points between grid
    nodes are interpolated along the chord, so the result is exact for polygonal paths
    whose corners are breaks (segments, trajectories, their concatenations and
    reparametrizations) and within ``O(fine^-2)`` of the length for curves. A path of
    length 0 gives its start point repeated. Invariant under orientation-preserving
    reparametrization of ``path``.
    """
    s, cum = arclength_positions(path, fine)
    total = cum[-1]
    if not total > 0:
        return np.repeat(path.normalized(np.zeros(1)), samples, axis=0)
    i, w = _at_length(np.linspace(0.0, total, int(samples)), s, cum)
    a, b = path.normalized(s[i]), path.normalized(s[i + 1])
    return a + w[:, None] * (b - a)


@dataclass(frozen=True)
class UpToReparametrization:
    """Equality of paths up to orientation-preserving reparametrization, within tolerance.

    Both paths are resampled by :func:`by_arclength`; they are equal when every coordinate
    of the resampled points differs by at most ``atol + rtol * scale`` (``scale``: the
    largest absolute coordinate of either). Durations are ignored (a reparametrization may
    change them), orientation is not (a path differs from its reverse), and back-and-forth
    motion counts (its length differs). Tuples compare item by item. Usable as the
    ``eq`` of :func:`catcore.laws.check`.
    """

    atol: float = 1e-6
    rtol: float = 1e-6
    samples: int = 129
    fine: int = 2049

    def distance(self, a: Path, b: Path) -> float:
        """Largest coordinate difference between the arc-length resamplings of ``a``, ``b``."""
        x, y = by_arclength(a, self.samples, self.fine), by_arclength(b, self.samples, self.fine)
        if x.shape != y.shape:
            raise ValueError(f"paths live in different spaces: {x.shape[1]} vs {y.shape[1]}")
        return float(np.max(np.abs(x - y)))

    def _mismatch(self, a: Any, b: Any) -> str | None:
        if isinstance(a, tuple) and isinstance(b, tuple):
            return tuple_mismatch(a, b, self._mismatch)
        if not (isinstance(a, Path) and isinstance(b, Path)):
            return f"expected two paths, got {type(a).__name__} and {type(b).__name__}"
        x, y = by_arclength(a, self.samples, self.fine), by_arclength(b, self.samples, self.fine)
        if x.shape != y.shape:
            return f"paths live in different spaces: {x.shape[1]} vs {y.shape[1]} coordinates"
        gap = float(np.max(np.abs(x - y)))
        bound = self.atol + self.rtol * float(max(np.max(np.abs(x)), np.max(np.abs(y))))
        if gap > bound:
            k = int(np.argmax(np.max(np.abs(x - y), axis=1)))
            frac = k / max(len(x) - 1, 1)
            return (
                f"after arc-length reparametrization the paths differ by {gap:.3g} > {bound:.3g} "
                f"(first worst at arc-length fraction {frac:.3g})"
            )
        return None

    def __call__(self, a: Any, b: Any) -> bool:
        return self._mismatch(a, b) is None

    def explain(self, a: Any, b: Any) -> str:
        return self._mismatch(a, b) or "equal up to reparametrization"

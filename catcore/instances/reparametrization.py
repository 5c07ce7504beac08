"""Arc length and equality up to reparametrization, for paths and for homotopies
(``docs/catcore.md``, "2-cells: paths and homotopies").

One routine (:func:`by_arclength`) resamples any curve at equal arc-length fractions: a
:class:`~catcore.instances.paths.Path` in ``R^n``, or a homotopy read as the curve
``t -> (T(t), H(., t))`` in the space of paths (sampled on its category's grid). One
equality (:class:`UpToReparametrization`) compares two paths, or two homotopies, after that
resampling: a curve equals all its orientation-preserving reparametrizations, pauses
included, but not its reverse, and back-and-forth motion counts (it changes the length).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from catcore.equality import tuple_mismatch

Curve = Callable[[np.ndarray], np.ndarray]  # normalized times s in [0, 1] -> (len(s), d)


def _chords(curve: Curve, s: np.ndarray, chunk: int) -> np.ndarray:
    """Cumulative chord length of ``curve`` along increasing normalized times ``s``."""
    seg = np.empty(len(s) - 1)
    for start in range(0, len(s) - 1, chunk):
        pts = curve(s[start : start + chunk + 1])
        seg[start : start + len(pts) - 1] = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _at_length(target: np.ndarray, s: np.ndarray, cum: np.ndarray) -> tuple:
    """Index ``i`` and weight ``w`` placing each target length on the chord ``s[i], s[i+1]``."""
    i = np.clip(np.searchsorted(cum, target, side="right") - 1, 0, len(s) - 2)
    length = cum[i + 1] - cum[i]
    w = np.divide(target - cum[i], length, out=np.zeros_like(target), where=length > 0)
    return i, np.clip(w, 0.0, 1.0)


def arclength_positions(
    curve: Curve, breaks: np.ndarray, fine: int = 2049, chunk: int = 256
) -> tuple:
    """``(s, cum)``: normalized times and the cumulative chord length of the curve there.

    Two passes: chords on ``fine`` equally spaced times plus the ``breaks`` (corners), then
    again on ``fine`` times placed at equal lengths by the first pass (plus the breaks), so
    the grid is fine in *length* whatever the parametrization."""
    s = np.union1d(np.linspace(0.0, 1.0, int(fine)), breaks)
    cum = _chords(curve, s, chunk)
    if not cum[-1] > 0:
        return s, cum
    i, w = _at_length(np.linspace(0.0, cum[-1], int(fine)), s, cum)
    s2 = np.union1d(s[i] + w * (s[i + 1] - s[i]), np.concatenate([[0.0, 1.0], breaks]))
    return s2, _chords(curve, s2, chunk)


def by_arclength(
    path: Any, samples: int = 129, fine: int = 2049, with_length: bool = False
) -> Any:
    """Points of ``path`` (a Path, or a homotopy as a curve of paths) at ``samples``
    equally spaced arc-length fractions: ``(samples, d)``, and the length if asked.

    Lengths are chords on a grid of ``fine`` times fine in length that contains the
    curve's breaks, and points between grid nodes are interpolated along the chord, so the
    result is exact for polygonal curves whose corners are breaks and within
    ``O(fine^-2)`` of the length for smooth ones. A curve of length 0 gives its start
    repeated. Invariant under orientation-preserving reparametrization.
    """
    curve, _ = _as_curve(path)
    lo, hi, w, total = arclength_chords(path, samples, fine)
    a, b = curve(lo), curve(hi)
    pts = a + w[:, None] * (b - a)
    return (pts, total) if with_length else pts


def arclength_chords(path: Any, samples: int = 129, fine: int = 2049) -> tuple:
    """``(lo, hi, w, length)``: position ``k`` of :func:`by_arclength` is the point at
    fraction ``w[k]`` of the chord from the curve at normalized time ``lo[k]`` to the curve
    at ``hi[k]``, and ``length`` the curve's length. A caller may evaluate the positions one
    at a time (memory flat in ``samples``); for a polygonal path whose corners are breaks
    ``fine=2`` is exact and evaluates the curve at its corners alone."""
    curve, breaks = _as_curve(path)
    s, cum = arclength_positions(curve, breaks, fine)
    total = float(cum[-1])
    if not total > 0:
        zeros = np.zeros(int(samples))
        return zeros, zeros, zeros, total
    i, w = _at_length(np.linspace(0.0, total, int(samples)), s, cum)
    return s[i], s[i + 1], w, total


def _as_curve(x: Any) -> tuple[Curve, np.ndarray]:
    """A path's normalized map and breaks; a homotopy's curve ``t -> (T(t), H(grid, t))``."""
    if hasattr(x, "normalized"):
        return x.normalized, np.asarray(getattr(x, "breaks", ()), dtype=float)
    grid = x.category.grid

    def rows(ts: np.ndarray) -> np.ndarray:
        return np.stack([np.concatenate([[x.duration(t)], x.at(grid, t).ravel()]) for t in ts])

    return rows, np.asarray(getattr(x, "breaks", ()), dtype=float)


@dataclass(frozen=True)
class UpToReparametrization:
    """Equality of paths, or of homotopies, up to orientation-preserving reparametrization.

    Both sides are resampled by :func:`by_arclength` (``samples`` points, chords on a grid
    of ``fine`` times); they are equal when every coordinate differs by at most
    ``atol + rtol * scale``, ``scale`` the largest absolute coordinate or arc length of
    either side (symmetric). For paths durations are ignored (a reparametrization may change
    them); for homotopies the duration ``T(t)`` is a coordinate of the curve. Tuples
    compare item by item. Usable as the ``eq`` of :func:`catcore.laws.check` and as a
    2-category's ``vertical_equality``.
    """

    atol: float = 1e-6
    rtol: float = 1e-6
    samples: int = 129
    fine: int = 2049

    def canonical(self, x: Any) -> tuple[np.ndarray, float]:
        """The arc-length resampling of ``x`` and its length."""
        return by_arclength(x, self.samples, self.fine, with_length=True)

    def distance(self, a: Any, b: Any) -> float:
        """Largest coordinate difference between the resamplings of ``a`` and ``b``."""
        (x, _), (y, _) = self.canonical(a), self.canonical(b)
        if x.shape != y.shape:
            raise ValueError(f"different spaces: {x.shape[1]} vs {y.shape[1]} coordinates")
        return float(np.max(np.abs(x - y)))

    def _mismatch(self, a: Any, b: Any) -> str | None:
        if isinstance(a, tuple) and isinstance(b, tuple):
            return tuple_mismatch(a, b, self._mismatch)
        kinds = {_kind(a), _kind(b)}
        if len(kinds) != 1 or None in kinds:
            names = f"{type(a).__name__} and {type(b).__name__}"
            return f"expected two paths or two homotopies, got {names}"
        (x, la), (y, lb) = self.canonical(a), self.canonical(b)
        if x.shape != y.shape:
            return f"different spaces: {x.shape[1]} vs {y.shape[1]} coordinates"
        gap = float(np.max(np.abs(x - y)))
        scale = max(float(np.max(np.abs(x))), float(np.max(np.abs(y))), la, lb)
        bound = self.atol + self.rtol * scale
        if gap > bound:
            k = int(np.argmax(np.max(np.abs(x - y), axis=1)))
            frac = k / max(len(x) - 1, 1)
            return (
                f"after arc-length reparametrization max |a-b| = {gap:.3g}, beyond {bound:.3g} "
                f"(first worst at arc-length fraction {frac:.3g})"
            )
        return None

    def __call__(self, a: Any, b: Any) -> bool:
        return self._mismatch(a, b) is None

    def explain(self, a: Any, b: Any) -> str:
        return self._mismatch(a, b) or "equal up to reparametrization"


def _kind(x: Any) -> str | None:
    if hasattr(x, "normalized") and hasattr(x, "duration"):
        return "path"
    if hasattr(x, "at") and hasattr(x, "source"):
        return "homotopy"
    return None

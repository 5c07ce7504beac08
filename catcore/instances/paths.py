"""Moore paths in R^n and their homotopies (``docs/catcore.md``, "Paths and homotopies").

A path ``gamma: [0, T] -> R^n`` (Def 2.1 of the paper) runs from ``gamma(0)`` to
``gamma(T)``. Concatenation adds durations, so it is strictly associative and the constant
path of duration 0 is a strict identity: no reparametrization is needed. A homotopy
``H: gamma0 => gamma1`` (Def 3.1) is ``H(s, t)`` with ``s`` the *normalized* time in
``[0, 1]``, ``H(s, 0) = gamma0(s T0)``, ``H(s, 1) = gamma1(s T1)``, ends fixed, and a
duration ``T(t)`` interpolating the two. Boundary conditions are checked on a grid at
construction. Objects are points (1-D arrays) compared within ``atol``.

Every path remembers its *breaks*, the normalized times of its corners (knots of a
polyline, the junction of a concatenation), which make arc-length resampling exact for
polygonal paths, and a ``kind`` saying how it was built. Constructors: segments
(:meth:`Paths.linear`), polylines (:meth:`Paths.through`, vectorized in the dimension),
Bezier curves and reparametrizations; concatenation is lazy (a sample of ``f ; g``
evaluates only the half it falls in). This is the one path category of the project: the
adapters' Param and Rep are instances of it.

Horizontal composition runs both homotopies with the same parameter ``t``, so the
interchange law holds exactly. Vertical composition runs each homotopy at double speed
(as classical path concatenation does), so it is unital and associative up to an
increasing reparametrization of ``t``:
:class:`~catcore.instances.reparametrization.UpToReparametrization` is the equality the
vertical laws use (``Paths.vertical_equality``); the same class compares paths.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb
from typing import Any

import numpy as np

from catcore.category import Morphism
from catcore.equality import Tolerance
from catcore.errors import MorphismError
from catcore.instances.reparametrization import UpToReparametrization
from catcore.twocell import TwoCategory, TwoCell

PathFn = Callable[[np.ndarray], np.ndarray]
HomotopyFn = Callable[[np.ndarray, float], np.ndarray]


class Path(Morphism):
    """A path of ``duration`` given by ``fn(times) -> (len(times), n)`` points.

    ``breaks``: normalized times in ``(0, 1)`` where the path may have a corner;
    ``kind``: how it was built (``"linear"``, ``"piecewise"``, ``"trajectory"``,
    ``"bezier"``, ``"constant"``, ``"concatenation"``, ...). ``ends``: ``(dom, cod)``
    when they are known to equal ``fn`` at ``0`` and ``duration`` (a concatenation shares
    its pieces' end points instead of sampling copies: on a network with millions of
    parameters every path would otherwise hold two more copies of ``theta``).
    """

    def __init__(
        self,
        category: Paths,
        fn: PathFn,
        duration: float,
        breaks: Any = (),
        kind: str = "path",
        ends: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        if not (np.isfinite(duration) and duration >= 0):
            raise MorphismError(f"duration must be finite and >= 0, got {duration!r}")
        self.category, self.fn, self.duration = category, fn, float(duration)
        if ends is None:
            ends = self.sample(np.array([0.0, self.duration]))
        shapes = {np.shape(e) for e in ends}
        if len(ends) != 2 or shapes != {(category.dim,)}:
            raise MorphismError(
                f"path values have shapes {sorted(shapes)}, expected ({category.dim},)"
            )
        self._dom, self._cod = ends[0], ends[1]
        b = np.unique(np.asarray(breaks, dtype=float).reshape(-1))
        self.breaks: np.ndarray = b[(b > 0.0) & (b < 1.0)]
        self.kind = kind

    @property
    def dom(self) -> np.ndarray:
        return self._dom

    @property
    def cod(self) -> np.ndarray:
        return self._cod

    def sample(self, times: np.ndarray) -> np.ndarray:
        """Points at ``times`` (clipped to ``[0, duration]``)."""
        t = np.clip(np.asarray(times, dtype=float), 0.0, self.duration)
        return np.asarray(self.fn(t), dtype=float).reshape(len(t), self.category.dim)

    def normalized(self, s: np.ndarray) -> np.ndarray:
        """Points at normalized times ``s`` in ``[0, 1]``."""
        return self.sample(np.asarray(s, dtype=float) * self.duration)

    def array(self) -> np.ndarray:
        """Duration followed by samples on the category's normalized grid (for equality)."""
        return np.concatenate([[self.duration], self.normalized(self.category.grid).ravel()])

    def __repr__(self) -> str:
        if self.category.dim > 6:
            return f"{self.kind} path in {self.category.name}, T={self.duration:g}"
        ends = f"{self.dom.round(4).tolist()} -> {self.cod.round(4).tolist()}"
        return f"Path({ends}, T={self.duration:g})"


class Homotopy(TwoCell):
    """A 2-cell ``source => target``: ``fn(s, t)`` over normalized ``s`` and ``duration(t)``."""

    def __init__(
        self,
        category: Paths,
        source: Path,
        target: Path,
        fn: HomotopyFn,
        duration: Callable[[float], float],
    ):
        self.category, self._source, self._target = category, source, target
        self.fn, self.duration = fn, duration
        category.check_homotopy(self)

    @property
    def source(self) -> Path:
        return self._source

    @property
    def target(self) -> Path:
        return self._target

    def at(self, s: np.ndarray, t: float) -> np.ndarray:
        """Points ``H(s, t)`` for normalized times ``s``."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
        return np.asarray(self.fn(s, float(t)), dtype=float).reshape(len(s), self.category.dim)

    def path_at(self, t: float) -> Path:
        """The intermediate path ``H(., t)`` as a :class:`Path`."""
        T = self.duration(t)
        return Path(self.category, lambda times: self.at(times / T if T else times * 0, t), T)

    def array(self) -> np.ndarray:
        g = self.category.grid
        rows = [np.concatenate([[self.duration(t)], self.at(g, t).ravel()]) for t in g]
        return np.concatenate(rows)


def _invert_monotone(r: Callable[[np.ndarray], np.ndarray], y: np.ndarray) -> np.ndarray:
    """Smallest ``s`` in ``[0, 1]`` with ``r(s) >= y`` for a nondecreasing ``r`` (bisection)."""
    lo, hi = np.zeros_like(y), np.ones_like(y)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = np.asarray(r(mid), dtype=float) < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return hi


class Paths(TwoCategory):
    """Moore paths in ``R^dim`` with homotopies; arrows and 2-cells compare on a grid.

    ``equality`` compares arrows and 2-cells pointwise on the grid (within ``atol``);
    ``vertical_equality`` compares 2-cells up to reparametrization of ``t``.
    """

    def __init__(self, dim: int, atol: float = 1e-9, grid_size: int = 33):
        self.dim, self.atol = int(dim), float(atol)
        self.grid = np.linspace(0.0, 1.0, grid_size)
        self.name = f"Paths(R^{dim})"
        self.equality = Tolerance(rtol=1e-9, atol=atol)
        self.vertical_equality = UpToReparametrization(
            atol=max(1e-7, atol), rtol=1e-4, samples=257, fine=257
        )

    def owns(self, f: Any) -> bool:
        """Paths in ``R^dim`` belong here whichever ``Paths(dim)`` made them: composition
        reads only their values (Param and Rep built twice for one network agree)."""
        owner = getattr(f, "category", None)
        return isinstance(owner, Paths) and owner.dim == self.dim

    def same_object(self, a: Any, b: Any) -> bool:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=self.atol))

    def same_arrow(self, f: Morphism, g: Morphism) -> bool:
        return f is g or self.equality(f, g)

    # arrows
    def point(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape != (self.dim,):
            raise MorphismError(f"point has {x.size} coordinates, expected {self.dim}")
        return x

    def _make(
        self, fn: Callable, duration: float, breaks: Any = (), kind: str = "path", ends=None
    ) -> Path:
        return Path(self, fn, duration, breaks, kind, ends)

    def identity(self, obj: Any) -> Path:
        """The constant path of duration 0 at ``obj`` (a strict identity)."""
        x = self.point(obj)
        return self._make(
            lambda t: np.broadcast_to(x, (len(t), self.dim)), 0.0, kind="constant", ends=(x, x)
        )

    def linear(self, a: Any, b: Any, duration: float = 1.0) -> Path:
        """The straight segment ``a -> b`` at constant speed over ``[0, duration]``."""
        a, b = self.point(a), self.point(b)
        T = float(duration)
        if T <= 0:
            if T == 0 and self.same_object(a, b):
                return self.identity(a)
            raise MorphismError(f"a segment between distinct points needs duration > 0, got {T}")

        def fn(t: np.ndarray) -> np.ndarray:  # exact at both ends: (1 - s) a + s b
            s = (t / T)[:, None]
            return (1.0 - s) * a + s * b

        return self._make(fn, T, kind="linear", ends=(a, b))

    def through(self, knots: Any, times: Any | None = None, kind: str = "piecewise") -> Path:
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

        def fn(t: np.ndarray) -> np.ndarray:
            i = np.clip(np.searchsorted(ts, t, side="right") - 1, 0, len(ts) - 2)
            w = ((t - ts[i]) / (ts[i + 1] - ts[i]))[:, None]
            return (1.0 - w) * k[i] + w * k[i + 1]  # exact at every knot

        return self._make(fn, ts[-1], ts[1:-1] / ts[-1], kind=kind, ends=(k[0], k[-1]))

    def bezier(self, control: Any, duration: float = 1.0) -> Path:
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

        return self._make(fn, T, kind="bezier", ends=(P[0], P[-1]))  # weights (1,0..) at 0

    def reparametrize(
        self, path: Path, r: Callable[[np.ndarray], np.ndarray], duration: float | None = None
    ) -> Path:
        """``s -> path(r(s))`` for a nondecreasing ``r: [0, 1] -> [0, 1]`` with ``r(0) = 0``
        and ``r(1) = 1`` (checked on a grid), over ``duration`` (default: the path's)."""
        grid = np.linspace(0.0, 1.0, 1025)
        rg = np.asarray(r(grid), dtype=float)
        if rg.shape != grid.shape or abs(rg[0]) > 1e-12 or abs(rg[-1] - 1) > 1e-12:
            raise MorphismError("a reparametrization must map 0 to 0 and 1 to 1")
        if np.any(np.diff(rg) < -1e-12):
            raise MorphismError("a reparametrization must be nondecreasing")
        T = path.duration if duration is None else float(duration)
        breaks = _invert_monotone(r, path.breaks) if len(path.breaks) else ()

        def fn(t: np.ndarray) -> np.ndarray:
            s = t / T if T > 0 else np.zeros_like(t)
            return path.normalized(np.clip(np.asarray(r(s), dtype=float), 0.0, 1.0))

        return self._make(fn, T, breaks, kind=f"reparametrized {getattr(path, 'kind', 'path')}")

    def reverse(self, path: Path) -> Path:
        """``t -> path(T - t)``: the path run backwards, from ``path.cod`` to ``path.dom``
        (an inverse of ``path`` up to homotopy, not strictly: ``f ; reverse(f)`` is a loop
        of duration ``2 T``)."""
        T = path.duration
        return self._make(
            lambda t: path.sample(T - t), T, 1.0 - path.breaks,
            kind=f"reversed {getattr(path, 'kind', 'path')}", ends=(path.cod, path.dom),
        )  # fmt: skip

    def _compose(self, f: Path, g: Path) -> Path:
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
            breaks = np.concatenate([f.breaks * T1, [T1], T1 + g.breaks * T2]) / total
        else:
            breaks = ()
        return self._make(fn, total, breaks, kind="concatenation", ends=(f.dom, g.cod))

    # 2-cells
    def check_homotopy(self, h: Homotopy) -> None:
        """Def 3.1 boundary conditions on the grid; :class:`MorphismError` names the first
        that fails."""
        g, src, tgt = self.grid, h.source, h.target
        if not self.same_object(src.dom, tgt.dom) or not self.same_object(src.cod, tgt.cod):
            raise MorphismError("a homotopy needs paths with the same ends")
        ends = np.stack([h.at(np.array([0.0, 1.0]), t) for t in g])
        checks = {
            "H(s,0) = source": (h.at(g, 0.0), src.normalized(g)),
            "H(s,1) = target": (h.at(g, 1.0), tgt.normalized(g)),
            "H(0,t) = start": (ends[:, 0], np.tile(src.dom, (len(g), 1))),
            "H(1,t) = end": (ends[:, 1], np.tile(src.cod, (len(g), 1))),
            "T(0), T(1)": (
                np.array([h.duration(0.0), h.duration(1.0)]),
                np.array([src.duration, tgt.duration]),
            ),
        }
        for name, (got, want) in checks.items():
            err = float(np.max(np.abs(got - want))) if got.size else 0.0
            if err > self.atol:
                raise MorphismError(
                    f"homotopy violates {name}: max deviation {err:.3g} > atol {self.atol:g}"
                )

    def homotopy(
        self,
        source: Path,
        target: Path,
        fn: HomotopyFn,
        duration: Callable[[float], float] | None = None,
    ) -> Homotopy:
        """A homotopy from its map ``fn(s, t)``; duration interpolates linearly by default."""
        T0, T1 = source.duration, target.duration
        return Homotopy(self, source, target, fn, duration or (lambda t: (1 - t) * T0 + t * T1))

    def straight(self, source: Path, target: Path) -> Homotopy:
        """The straight-line homotopy ``(1 - t) source + t target`` (fine in convex R^n)."""
        return self.homotopy(
            source, target, lambda s, t: (1 - t) * source.normalized(s) + t * target.normalized(s)
        )

    def id2(self, f: Path) -> Homotopy:
        return self.homotopy(f, f, lambda s, t: f.normalized(s))

    def _vcompose(self, alpha: Homotopy, beta: Homotopy) -> Homotopy:
        def fn(s: np.ndarray, t: float) -> np.ndarray:
            return alpha.at(s, 2 * t) if t <= 0.5 else beta.at(s, 2 * t - 1)

        def duration(t: float) -> float:
            return alpha.duration(2 * t) if t <= 0.5 else beta.duration(2 * t - 1)

        return Homotopy(self, alpha.source, beta.target, fn, duration)

    def _hcompose(self, alpha: Homotopy, gamma: Homotopy) -> Homotopy:
        def fn(s: np.ndarray, t: float) -> np.ndarray:
            a, b = alpha.duration(t), gamma.duration(t)
            tau, total = s * (a + b), a + b
            if total == 0:
                return alpha.at(s, t)
            first = alpha.at(np.divide(tau, a, out=np.zeros_like(tau), where=a > 0), t)
            second = gamma.at(np.divide(tau - a, b, out=np.zeros_like(tau), where=b > 0), t)
            return np.where((tau <= a)[:, None], first, second)

        source = alpha.source >> gamma.source
        target = alpha.target >> gamma.target
        return Homotopy(self, source, target, fn, lambda t: alpha.duration(t) + gamma.duration(t))

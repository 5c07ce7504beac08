"""The category Rep of Def 2.4 on a probe set (``docs/adapters.md``, "Rep").

An object is a representation ``phi: X -> Z`` restricted to a probe set of ``N`` samples
``x_1 .. x_N``: the ``(N, d)`` matrix of its values (row ``i`` is ``phi(x_i)``), stored
flat as a point of ``R^(N d)`` so that Rep *is* a :class:`catcore.instances.paths.Paths`
and catcore's law suites apply unchanged. A morphism ``phi1 -> phi2`` is a representation
path ``psi: [0, T] -> R^(N d)`` (a Moore path; composition concatenates, durations add).

Def 2.4 asks morphisms to preserve task-relevant structure at a scale ``k``: if
``||phi1(x) - phi1(x')|| < k`` then ``||psi(t)(x) - psi(t)(x')|| < k`` for all ``t``.
:meth:`Rep.violations` checks that on a grid of ``t`` and returns every violating pair.
The paths that pass form a wide subcategory: identities pass, and if ``psi1: phi1 -> phi2``
and ``psi2: phi2 -> phi3`` pass then so does ``psi1 ; psi2`` (a pair close under ``phi1``
stays close along ``psi1``, so it is close under ``phi2``, so along ``psi2``). Rep itself
accepts every path, because whether a training path preserves structure is a question
to measure, not an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist

from adapters.nets.params import to_numpy
from catcore.equality import Tolerance
from catcore.errors import MorphismError
from catcore.instances.paths import Path, Paths


@dataclass(frozen=True)
class Violation:
    """Samples ``i < j`` closer than ``k`` under the source representation (``before``)
    but at ``distance >= k`` at normalized time ``t`` of the path."""

    i: int
    j: int
    t: float
    distance: float
    before: float


class Rep(Paths):
    """Representations of ``n_samples`` probe samples in ``R^width`` and their paths.

    ``layer`` names where the representation is read (informative); ``atol``/``rtol``
    set the tolerance of object and arrow equality (default ``1e-5``, the paper's).

    >>> R = Rep(3, 2)
    >>> phi = R.representation([[0, 0], [0.5, 0], [5, 0]])
    >>> R.matrix(phi).shape
    (3, 2)
    """

    def __init__(
        self,
        n_samples: int,
        width: int,
        *,
        layer: str | None = None,
        atol: float = 1e-5,
        rtol: float = 1e-6,
        grid_size: int = 33,
    ) -> None:
        if n_samples < 1 or width < 1:
            raise ValueError(f"need n_samples >= 1 and width >= 1, got {n_samples}, {width}")
        super().__init__(int(n_samples) * int(width), atol=atol, grid_size=grid_size)
        self.shape = (int(n_samples), int(width))
        self.layer = layer
        self.equality = Tolerance(rtol=rtol, atol=atol)
        self.name = f"Rep({n_samples}x{width}" + (f" at {layer!r})" if layer else ")")

    def point(self, x: Any) -> np.ndarray:
        p = to_numpy(x).reshape(-1)
        if p.shape != (self.dim,):
            raise MorphismError(
                f"representation has {p.size} values, expected {self.shape[0]}x{self.shape[1]}"
            )
        return p

    def representation(self, phi: Any) -> np.ndarray:
        """The object of an ``(N, d)`` matrix (array or tensor) of representations."""
        m = to_numpy(phi)
        if m.shape != self.shape:
            raise MorphismError(f"representation has shape {m.shape}, expected {self.shape}")
        return m.reshape(-1).copy()

    def matrix(self, obj: Any) -> np.ndarray:
        """The ``(N, d)`` matrix of an object (row ``i``: the representation of sample ``i``)."""
        return self.point(obj).reshape(self.shape)

    def path_of(self, reps: Any, times: Any | None = None) -> Path:
        """Piecewise-linear representation path through ``(K, N, d)`` representations."""
        r = to_numpy(reps)
        if r.ndim != 3 or r.shape[1:] != self.shape:
            raise MorphismError(f"reps must have shape (K, {self.shape[0]}, {self.shape[1]})")
        return self.through(r.reshape(len(r), -1), times)

    # -- Def 2.4 ------------------------------------------------------------------------------
    def violations(
        self,
        psi: Path,
        k: float,
        times: Any | None = None,
        phi1: Any | None = None,
        limit: int | None = None,
    ) -> list[Violation]:
        """Pairs breaking Def 2.4's structure preservation at scale ``k`` along ``psi``.

        A pair ``i < j`` with ``||phi1(x_i) - phi1(x_j)|| < k`` violates at ``t`` when
        ``||psi(t)(x_i) - psi(t)(x_j)|| >= k``. ``phi1`` defaults to ``psi.dom``; ``t``
        runs over ``times`` (normalized, default the category's grid). Sorted by ``t``,
        then ``(i, j)``; at most ``limit`` are returned (``None``: all). Distances are
        Euclidean in ``R^d``.
        """
        if not k > 0:
            raise ValueError(f"k must be positive, got {k}")
        s = self.grid if times is None else np.unique(np.asarray(times, dtype=float))
        if np.any((s < 0) | (s > 1)):
            raise ValueError("times are normalized and must lie in [0, 1]")
        base = self.matrix(psi.dom if phi1 is None else phi1)
        if self.shape[0] < 2 or not (pdist(base) < k).any():
            return []
        d = np.stack([pdist(row.reshape(self.shape)) for row in psi.normalized(s)])
        return self._violating(s, pdist(base), d, k, limit)

    def _violating(self, s: np.ndarray, d0: np.ndarray, d: np.ndarray, k: float,
                   limit: int | None) -> list[Violation]:  # fmt: skip
        """Violations at scale ``k`` from pair distances ``d0`` (source) and ``d``
        (``(len(s), pairs)`` along the path), sorted by time, then pair."""
        iu, ju = np.triu_indices(self.shape[0], 1)
        close, out = d0 < k, []
        for t, dt in zip(s, d):
            for p in np.flatnonzero(close & (dt >= k)):
                out.append(Violation(int(iu[p]), int(ju[p]), float(t), float(dt[p]), float(d0[p])))
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def preserves(self, psi: Path, k: float, times: Any | None = None) -> bool:
        """Whether ``psi`` preserves structure at scale ``k`` (no :meth:`violations`)."""
        return not self.violations(psi, k, times, limit=1)

    def structure(self, psi: Path, times: Any | None = None, k: float | None = None,
                  limit: int = 10) -> dict[str, Any]:  # fmt: skip
        """Def 2.4 along ``psi`` as a profile, from one sampling of the path at ``times``
        (normalized, default the grid):

        - ``k_star``: pair ``i < j`` violates at exactly the scales ``k`` in
          ``(d_ij(0), max_t d_ij(t)]``, so ``psi`` preserves structure at every ``k >
          k_star``, the largest such upper end (``None``: no pair moves apart by more than
          Rep's tolerance, every ``k`` holds); ``k_star_relative`` divides it by the
          median starting distance;
        - at scale ``k`` (default: the median starting distance) the number of violating
          pairs and the first ``limit`` of them (:class:`Violation`, earliest first);
        - ``jump``: the largest change of the representation between consecutive times
          over the median change (a value far above 1 marks a jump in the path).
        """
        s = self.grid if times is None else np.unique(np.asarray(times, dtype=float))
        values = psi.normalized(s).reshape(len(s), *self.shape)
        if self.shape[0] < 2:
            return {"k_star": None, "k_star_relative": None, "k": None, "violating_pairs": 0,
                    "violations": [], "jump": None, "times": len(s)}  # fmt: skip
        d = np.stack([pdist(v) for v in values])  # (times, pairs)
        d0, far = d[0], d.max(axis=0)
        moving = far > d0 + self.equality.atol + self.equality.rtol * d0  # beyond rounding
        scale = float(np.median(d0))
        k_star = float(far[moving].max()) if moving.any() else None
        k = scale if k is None else float(k)
        bad = self._violating(s, d0, d, k, None) if k > 0 else []
        steps = np.linalg.norm(np.diff(values.reshape(len(s), -1), axis=0), axis=1)
        typical = float(np.median(steps)) if len(steps) else 0.0
        return {
            "k_star": k_star,
            "k_star_relative": None if k_star is None or scale == 0 else k_star / scale,
            "k": k,
            "violating_pairs": len({(v.i, v.j) for v in bad}),
            "violations": [vars(v) for v in bad[:limit]],
            "jump": float(steps.max() / typical) if typical > 0 else None,
            "times": len(s),
        }

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
        N = self.shape[0]
        if N < 2:
            return []
        iu, ju = np.triu_indices(N, 1)
        d0 = pdist(base)
        close = d0 < k
        if not close.any():
            return []
        out: list[Violation] = []
        values = psi.normalized(s)
        for t, row in zip(s, values):
            dt = pdist(row.reshape(self.shape))
            for p in np.flatnonzero(close & (dt >= k)):
                out.append(Violation(int(iu[p]), int(ju[p]), float(t), float(dt[p]), float(d0[p])))
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def preserves(self, psi: Path, k: float, times: Any | None = None) -> bool:
        """Whether ``psi`` preserves structure at scale ``k`` (no :meth:`violations`)."""
        return not self.violations(psi, k, times, limit=1)

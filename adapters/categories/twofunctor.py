"""The 2-functor check of Thm 5.3 (``docs/adapters.md``, "The 2-functor check").

Thm 5.3 extends ``L`` to homotopies: along homotopic paths ``gamma0, gamma1`` the
representations are related by smoothly varying affine maps,
``phi_{gamma1(s)} = A_s phi_{gamma0(s)} + b_s``. :func:`affine_relation` measures that:
at each position ``s`` it fits ``A_s, b_s`` by least squares on the probe set (rows are
samples: ``R1 ~ R0 A_s^T + b_s``) and reports the relative residual

    ``||R1 - R0 A_s^T - b_s||_F / ||R1 - mean(R1)||_F``

(0: exactly affine; 1: no better than a constant). Positions are matched by arc length
in parameter space by default, so a path and any reparametrization of it are compared
point for point and give a residual of 0 up to rounding; ``align="time"`` matches
normalized times instead. The fit is only informative when the probe set has more
samples than ``d0 + 1`` (otherwise every pair of representations is affinely related),
which is checked.

Memory is flat in ``samples``: positions are found as chords of the path
(:func:`catcore.instances.reparametrization.arclength_chords`) and evaluated one at a
time, so a few parameter points exist at once besides the paths' own knots.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from adapters.categories.learning import LearningFunctor
from catcore.instances.paths import Homotopy, Path
from catcore.instances.reparametrization import arclength_chords

Align = Literal["arclength", "time"]


@dataclass(frozen=True)
class AffineRelation:
    """Affine maps ``A_s`` (``(S, d1, d0)``), offsets ``b_s`` (``(S, d1)``) and relative
    residuals (``(S,)``) at positions ``s`` (``(S,)``, arc-length fractions or normalized
    times per ``align``)."""

    s: np.ndarray
    A: np.ndarray
    b: np.ndarray
    residuals: np.ndarray
    align: str

    @property
    def max_residual(self) -> float:
        """The largest relative residual along the paths."""
        return float(np.max(self.residuals))

    @property
    def variation(self) -> float:
        """Largest step ``||[A|b]_{s+1} - [A|b]_s||_F`` relative to the largest ``||[A|b]||_F``
        (small when the maps vary smoothly). ``A_s`` is the minimum-norm least-squares
        solution: where ``R0`` is rank deficient (dead units, a constant representation) it
        is not determined by the data and may jump."""
        M = np.concatenate([self.A, self.b[:, :, None]], axis=2)
        if len(M) < 2:
            return 0.0
        steps = np.linalg.norm(np.diff(M, axis=0), axis=(1, 2))
        scale = float(np.max(np.linalg.norm(M, axis=(1, 2))))
        return float(np.max(steps) / scale) if scale > 0 else 0.0


def affine_fit(R0: np.ndarray, R1: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares ``A, b`` with ``R1 ~ R0 A^T + b`` for ``(N, d0)``, ``(N, d1)`` rows of
    samples, and the relative residual (see module docstring)."""
    R0, R1 = np.asarray(R0, dtype=float), np.asarray(R1, dtype=float)
    if R0.ndim != 2 or R1.ndim != 2 or len(R0) != len(R1):
        raise ValueError(f"need (N, d0) and (N, d1) arrays, got {R0.shape} and {R1.shape}")
    N, d0 = R0.shape
    if N <= d0 + 1:
        raise ValueError(
            f"the probe set has {N} samples for width {d0}: every representation is affinely "
            f"related to every other; use more than {d0 + 1} samples"
        )
    Z = np.hstack([R0, np.ones((N, 1))])
    W, *_ = np.linalg.lstsq(Z, R1, rcond=None)
    misfit = float(np.linalg.norm(Z @ W - R1))
    spread = float(np.linalg.norm(R1 - R1.mean(axis=0)))
    scale = max(spread, float(np.abs(R1).max(initial=0.0)), 1e-300)
    residual = misfit / spread if spread > 1e-12 * scale else float(misfit > 1e-12 * scale)
    return W[:d0].T, W[d0], residual


def positions(path: Path, samples: int, align: Align, fine: int = 2049) -> Iterator[np.ndarray]:
    """The points of ``path`` at ``samples`` positions, one ``(n,)`` array at a time:
    equal arc-length fractions (on a grid of ``fine`` times; ``fine=2`` is exact for a
    polygonal path such as a recorded trajectory) or equal normalized times."""
    if align == "time":
        for s in np.linspace(0.0, 1.0, samples):
            yield path.normalized(np.array([s]))[0]
        return
    if align != "arclength":
        raise ValueError(f"align must be 'arclength' or 'time', got {align!r}")
    lo, hi, w, _ = arclength_chords(path, samples, fine)
    for a, b, x in zip(lo, hi, w):
        start, end = path.normalized(np.array([a, b]))
        yield start + x * (end - start)


def affine_relation(
    L: LearningFunctor,
    path0: Path,
    path1: Path,
    samples: int = 17,
    align: Align = "arclength",
    fine: int = 2049,
) -> AffineRelation:
    """Fit ``phi_{path1(s)} = A_s phi_{path0(s)} + b_s`` at ``samples`` positions ``s``
    (``fine``: see :func:`positions`)."""
    if samples < 2:
        raise ValueError(f"samples must be at least 2, got {samples}")
    if align not in ("arclength", "time"):
        raise ValueError(f"align must be 'arclength' or 'time', got {align!r}")
    pairs = zip(positions(path0, samples, align, fine), positions(path1, samples, align, fine))
    fits = [affine_fit(L.phi(a), L.phi(b)) for a, b in pairs]
    return AffineRelation(
        np.linspace(0.0, 1.0, samples),
        np.stack([f[0] for f in fits]),
        np.stack([f[1] for f in fits]),
        np.array([f[2] for f in fits]),
        align,
    )


@dataclass(frozen=True)
class CellRelation:
    """:func:`along_homotopy`: the affine relation between the source path of a 2-cell and
    each intermediate path ``H(., t)`` at the levels ``t`` (``relations[k]`` at ``t[k]``;
    the last is the target)."""

    t: np.ndarray
    relations: tuple[AffineRelation, ...]

    @property
    def max_residual(self) -> float:
        """The largest relative residual over the whole 2-cell."""
        return max(r.max_residual for r in self.relations)

    @property
    def target(self) -> AffineRelation:
        """The relation between the source and the target path."""
        return self.relations[-1]

    @property
    def variation(self) -> float:
        """The largest :attr:`AffineRelation.variation` over the levels (smoothness in
        ``s``) and the largest step of ``[A|b]`` between consecutive levels at equal ``s``,
        relative to the largest ``||[A|b]||_F`` (smoothness in ``t``)."""
        M = np.stack([np.concatenate([r.A, r.b[:, :, None]], axis=2) for r in self.relations])
        scale = float(np.max(np.linalg.norm(M, axis=(2, 3))))
        across = np.linalg.norm(np.diff(M, axis=0), axis=(2, 3)) if len(M) > 1 else np.zeros(1)
        step = float(np.max(across)) / scale if scale > 0 else 0.0
        return max(step, *(r.variation for r in self.relations))


def along_homotopy(
    L: LearningFunctor,
    h: Homotopy,
    samples: int = 17,
    align: Align = "arclength",
    levels: int = 5,
) -> CellRelation:
    """Thm 5.3 read on the 2-cell ``h: gamma0 => gamma1`` of Param itself: at ``levels``
    equally spaced ``t`` in ``[0, 1]`` the intermediate path ``H(., t)``
    (:meth:`~catcore.instances.paths.Homotopy.path_at`) is related to ``gamma0`` by
    :func:`affine_relation`, so a 2-cell whose interior leaves the region where the
    representations are affinely related is seen even when its ends are."""
    if levels < 2:
        raise ValueError(f"levels must be at least 2 (source and target), got {levels}")
    ts = np.linspace(0.0, 1.0, levels)
    paths = [h.source, *(h.path_at(float(t)) for t in ts[1:-1]), h.target]
    return CellRelation(ts, tuple(affine_relation(L, h.source, p, samples, align) for p in paths))

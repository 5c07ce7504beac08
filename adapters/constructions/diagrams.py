"""Reading persistence diagrams: total persistence (Def 6.2) and distances between
diagrams, with an explicit treatment of essential classes (``docs/persistence.md``).

A diagram is an ``(m, 2)`` array of ``(birth, death)`` loss values (:data:`PersistenceDiagram`,
``inf`` deaths for essential classes), as :mod:`adapters.constructions.persistence`
computes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from adapters.nets.params import to_numpy

#: A persistence diagram: an ``(m, 2)`` array of (birth, death) loss values (not a catcore
#: :class:`~catcore.diagram.Diagram`, which is a functor from a shape).
PersistenceDiagram = np.ndarray
Essential = Literal["exclude", "cap"]

def _diagram(diagram: object) -> np.ndarray:
    D = to_numpy(diagram, "diagram")
    if D.size == 0:
        return np.zeros((0, 2))
    if D.ndim != 2 or D.shape[1] != 2:
        raise ValueError(f"a diagram is an (m, 2) array of (birth, death) rows, got {D.shape}")
    if np.isnan(D).any() or np.isinf(D[:, 0]).any():
        raise ValueError("a diagram must have finite births and no NaN")
    if np.any(D[:, 1] < D[:, 0]):
        raise ValueError("a diagram has a pair with death < birth")
    return D


def _essential(D: np.ndarray, essential: Essential, cap: float | None) -> np.ndarray:
    """The diagram with essential pairs removed (``"exclude"``) or their death set to
    ``cap`` (``"cap"``)."""
    if essential == "exclude":
        return D[np.isfinite(D[:, 1])]
    if essential != "cap":
        raise ValueError(f"essential must be 'exclude' or 'cap', got {essential!r}")
    if cap is None or not math.isfinite(cap):
        raise ValueError(f"essential='cap' needs a finite cap (the sampled maximum), got {cap!r}")
    D = D.copy()
    inf = ~np.isfinite(D[:, 1])
    if np.any(D[inf, 0] > cap):
        raise ValueError(f"cap={cap} is below the birth of an essential class")
    D[inf, 1] = cap
    return D


def total_persistence(
    diagram: object, p: float = 1.0, *, essential: Essential = "exclude", cap: float | None = None
) -> float:
    """Total persistence ``sum (death - birth)^p`` over the pairs of one diagram (Def 6.2).

    Essential classes (``inf`` death) have no finite persistence. ``essential="exclude"``
    (default) leaves them out: the sum is over finite pairs only, so a landscape sampled
    inside a single basin has total H0 persistence 0. ``essential="cap"`` gives them death
    ``cap`` (normally the largest sampled value): the H0 essential class then contributes
    the sampled range ``max - min``, which carries depth information in that degenerate case.

    >>> total_persistence([[0.0, np.inf], [0.5, 3.0], [1.0, 2.0]])
    3.5
    >>> total_persistence([[0.0, np.inf], [1.0, 2.0]], essential="cap", cap=4.0)
    5.0
    """
    if not p > 0:
        raise ValueError(f"p must be positive, got {p!r}")
    D = _essential(_diagram(diagram), essential, cap)
    return float(np.sum((D[:, 1] - D[:, 0]) ** p))


def diagram_distance(
    a: object,
    b: object,
    metric: Literal["bottleneck", "wasserstein"] = "bottleneck",
    *,
    essential: Essential = "exclude",
    cap: float | None = None,
) -> float:
    """Distance between two diagrams of the same dimension (persim).

    ``"bottleneck"``: the L-infinity bottleneck distance; ``"wasserstein"``: persim's
    1-Wasserstein distance (Euclidean ground metric, optimal assignment; cubic in the
    number of pairs). Essential classes are excluded, or capped at ``cap`` (use the same
    cap for both diagrams, e.g. the larger of the two sampled maxima).
    """
    import persim

    A = _essential(_diagram(a), essential, cap)
    B = _essential(_diagram(b), essential, cap)
    if metric == "bottleneck":
        return float(persim.bottleneck(A, B))
    if metric == "wasserstein":
        return float(persim.wasserstein(A, B))
    raise ValueError(f"metric must be 'bottleneck' or 'wasserstein', got {metric!r}")


def compare_diagrams(
    a: Sequence[object],
    b: Sequence[object],
    metric: Literal["bottleneck", "wasserstein"] = "bottleneck",
    *,
    essential: Essential = "exclude",
    cap: float | None = None,
) -> list[float]:
    """:func:`diagram_distance` dimension by dimension for two lists of diagrams (e.g. the
    landscapes of two networks); the lists must have the same length."""
    if len(a) != len(b):
        raise ValueError(f"diagram lists differ in length: {len(a)} and {len(b)} dimensions")
    return [diagram_distance(x, y, metric, essential=essential, cap=cap) for x, y in zip(a, b)]

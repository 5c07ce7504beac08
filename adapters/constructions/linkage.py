"""Union-find and single linkage: the one implementation the constructions share.

:class:`UnionFind` keeps, as the root of every merged set, its *oldest* member: the one of
smallest ``rank`` (default: the smallest index). Homotopy classes use it with indices (a
class is named by its first network) and the elder rule of 0-dimensional persistence with
vertex ages (the younger component dies when two meet). :func:`single_linkage` builds the
dendrogram of a weighted graph by Kruskal's algorithm on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving; a union keeps the older root."""

    def __init__(self, n: int, rank: Sequence[int] | np.ndarray | None = None) -> None:
        self.parent = list(range(n))
        self.rank = list(range(n)) if rank is None else [int(r) for r in rank]

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, x: int, y: int) -> bool:
        """Merge the sets of ``x`` and ``y``; False when they were one already."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return False
        old, young = (rx, ry) if self.rank[rx] < self.rank[ry] else (ry, rx)
        self.parent[young] = old
        return True

    def roots(self) -> list[int]:
        """The representatives, in index order."""
        return [i for i, p in enumerate(self.parent) if p == i]


def single_linkage(n: int, edges: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """Single-linkage tree (scipy ``linkage`` format, ``(n - 1, 4)``) of the weighted graph
    ``edges`` on ``0..n-1``, by Kruskal's algorithm: merge heights are the minimax path
    distances ``min over chains max edge``. With all pairs given this equals
    ``scipy.cluster.hierarchy.linkage(condensed, "single")`` up to the order of ties.
    Non-finite weights are drawn at twice the largest finite weight (at least 1). The graph
    must be connected.

    >>> single_linkage(3, [(0, 1, 0.5), (1, 2, 2.0), (0, 2, 3.0)]).tolist()
    [[0.0, 1.0, 0.5, 2.0], [2.0, 3.0, 2.0, 3.0]]
    """
    if n < 1:
        raise ValueError(f"need at least one point, got n={n}")
    finite = [w for _, _, w in edges if math.isfinite(w)]
    cap = 2.0 * max(max(finite, default=0.0), 0.5)
    order = sorted((w if math.isfinite(w) else cap, min(i, j), max(i, j)) for i, j, w in edges)
    uf = UnionFind(n)
    cluster = list(range(n))  # scipy id of the cluster rooted at each root
    size = [1] * n
    Z = []
    for w, i, j in order:
        ri, rj = uf.find(i), uf.find(j)
        if ri == rj:
            continue
        a, b = sorted((cluster[ri], cluster[rj]))
        uf.union(ri, rj)
        r = uf.find(ri)
        size[r] = size[ri] + size[rj]
        cluster[r] = n + len(Z)
        Z.append([float(a), float(b), float(w), float(size[r])])
    if len(Z) != n - 1:
        raise ValueError(f"the graph is not connected ({n - len(Z)} components)")
    return np.array(Z, dtype=float).reshape(n - 1, 4)

"""Triangulations of low-dimensional samples and the lower-star persistence of a function
on any simplicial 2-complex (``docs/persistence.md``, "Which complex").

A landscape sampled in a plane (or on a line, or in a 3-D subspace) is best filtered on a
triangulation of the sampled region: the Delaunay complex of the samples
(:func:`delaunay_complex`) covers their convex hull, so its only topology is the one the
sublevel sets create, and an essential class means a class of the whole region (there is
none in dimension 1). A flag complex of a neighbour graph, by contrast, fills only the
cliques of the graph and leaves holes between them that live forever.

:func:`lower_star_persistence` computes the sublevel (lower-star) persistence of vertex
values on given vertices, edges and triangles: a simplex enters at the largest value of
its vertices. H0 by union-find with the elder rule; H1 by reducing the boundary matrix of
the triangles over Z/2 (edges ordered by filtration value). Births and deaths are exactly
input values; zero-length pairs are dropped; ``inf`` marks essential classes.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
from scipy.spatial import Delaunay, QhullError

from adapters.constructions.diagrams import PersistenceDiagram
from adapters.constructions.linkage import UnionFind


def delaunay_complex(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, triangles)`` of the Delaunay triangulation of ``(P, d)`` points, ``d <= 3``
    (``d = 1``: consecutive points on the line, no triangles; ``d = 3``: the edges and
    triangles of the tetrahedra). Raises ``ValueError`` for points that span less than
    ``d`` dimensions (use their coordinates in the span)."""
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2 or not 1 <= X.shape[1] <= 3:
        raise ValueError(f"a Delaunay complex needs (P, d) points with d <= 3, got {X.shape}")
    if X.shape[1] == 1:
        order = np.argsort(X[:, 0], kind="stable")
        return np.stack([order[:-1], order[1:]], axis=1), np.zeros((0, 3), dtype=np.int64)
    if len(X) <= X.shape[1]:  # at most d points: their hull is one simplex
        every = np.arange(len(X))[None, :]
        return _faces(every, 2).astype(np.int64).reshape(-1, 2), _faces(every, 3).astype(
            np.int64).reshape(-1, 3)  # fmt: skip
    try:
        simplices = Delaunay(X).simplices
    except QhullError as exc:
        raise ValueError(f"the {len(X)} samples do not span {X.shape[1]} dimensions: "
                         f"{exc}") from None  # fmt: skip
    tris = _faces(simplices, 3)
    return _faces(tris, 2).astype(np.int64), tris.astype(np.int64)


def _faces(simplices: np.ndarray, size: int) -> np.ndarray:
    """The distinct ``size``-vertex faces of ``simplices`` (rows sorted)."""
    picks = list(itertools.combinations(range(simplices.shape[1]), size))
    if not picks:
        return np.zeros((0, size), dtype=np.int64)
    faces = np.concatenate([simplices[:, list(c)] for c in picks])
    return np.unique(np.sort(faces, axis=1), axis=0)


def lower_star_persistence(
    values: np.ndarray, edges: np.ndarray, triangles: np.ndarray, maxdim: int = 1
) -> list[PersistenceDiagram]:
    """Sublevel persistence of ``values`` (``(P,)``) on the complex with these ``edges``
    (``(E, 2)``) and ``triangles`` (``(T, 3)``, whose edges must all be in ``edges``), in
    dimensions ``0 .. maxdim`` (``maxdim`` 0 or 1)."""
    v = np.asarray(values, dtype=np.float64)
    E = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    ev = np.maximum(v[E[:, 0]], v[E[:, 1]])
    order = np.lexsort((np.arange(len(E)), ev))
    rank = np.empty(len(E), dtype=np.int64)
    rank[order] = np.arange(len(E))
    h0, positive = _h0(v, E, ev, order)
    if maxdim < 1:
        return [h0]
    return [h0, _h1(v, E, ev, rank, positive, np.asarray(triangles, dtype=np.int64))]


def _h0(v: np.ndarray, E: np.ndarray, ev: np.ndarray, order: np.ndarray):
    """H0 by the elder rule, and the edges that close a cycle (positive edges)."""
    uf = UnionFind(len(v))
    low = {i: i for i in range(len(v))}  # root -> its lowest vertex
    pairs, positive = [], []
    for e in order:
        a, b = uf.find(int(E[e, 0])), uf.find(int(E[e, 1]))
        if a == b:
            positive.append(int(e))
            continue
        young, old = sorted((low[a], low[b]), key=lambda i: (v[i], i), reverse=True)
        if ev[e] > v[young]:
            pairs.append((v[young], ev[e]))
        uf.union(a, b)
        low[uf.find(a)] = old
    roots = {uf.find(i) for i in range(len(v))}
    pairs += [(v[low[r]], np.inf) for r in roots]
    return _sorted(pairs), positive


def _h1(v, E, ev, rank, positive, T) -> PersistenceDiagram:
    """H1 by column reduction of the triangles' boundaries (pivot: the latest edge)."""
    if len(T) == 0:
        return _sorted([(ev[e], np.inf) for e in positive])
    index = {(int(a), int(b)): i for i, (a, b) in enumerate(np.sort(E, axis=1))}
    tv = v[T].max(axis=1)
    cols = []
    for tri in np.sort(T, axis=1):
        a, b, c = (int(x) for x in tri)
        try:
            cols.append({int(rank[index[p]]) for p in ((a, b), (a, c), (b, c))})
        except KeyError:
            raise ValueError(f"triangle {tri.tolist()} has an edge missing from edges") from None
    by_rank = np.argsort(rank)
    pivots: dict[int, set[int]] = {}
    pairs, killed = [], set()
    for t in np.lexsort((np.arange(len(T)), tv)):
        col = cols[t]
        while col and max(col) in pivots:
            col ^= pivots[max(col)]
        if col:
            p = max(col)
            pivots[p] = col
            killed.add(p)
            birth = ev[by_rank[p]]
            if tv[t] > birth:
                pairs.append((birth, tv[t]))
    pairs += [(ev[e], np.inf) for e in positive if int(rank[e]) not in killed]
    return _sorted(pairs)


def merge_tree(values: np.ndarray, edges: np.ndarray) -> nx.DiGraph:
    """The H0 hierarchy of the sublevel sets as a tree (a forest if the graph is not
    connected): leaves are the local minima (node = vertex index, ``value``,
    ``kind="minimum"``); each merge of two basins at level ``w`` is a node ``("merge", k)``
    with ``value=w`` and ``kind="merge"``, with an edge from each merged branch to it. The
    younger branch of a merge (the one whose minimum is higher) is the finite H0 pair
    ``(its minimum, w)``; merges of zero length (a vertex joining at its own value) add no
    node. ``graph.graph["roots"]`` lists the roots (one per component, the essential
    classes)."""
    v = np.asarray(values, dtype=np.float64)
    E = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    ev = np.maximum(v[E[:, 0]], v[E[:, 1]]) if len(E) else np.zeros(0)
    uf = UnionFind(len(v))
    low = {i: i for i in range(len(v))}  # root -> lowest vertex
    top: dict[int, object] = {i: i for i in range(len(v))}  # root -> its branch's node
    T = nx.DiGraph()
    for e in np.lexsort((np.arange(len(E)), ev)):
        a, b = uf.find(int(E[e, 0])), uf.find(int(E[e, 1]))
        if a == b:
            continue
        young, old = sorted((a, b), key=lambda r: (v[low[r]], low[r]), reverse=True)
        if ev[e] > v[low[young]]:  # a real merge: both branches end here
            node = ("merge", T.number_of_nodes())
            T.add_node(node, value=float(ev[e]), kind="merge")
            for r in (young, old):
                _leaf(T, top[r], v)
                T.add_edge(top[r], node)
            new_top: object = node
        else:
            new_top = top[old]
        keep = low[old]
        uf.union(a, b)
        root = uf.find(a)
        low[root], top[root] = keep, new_top
    roots = []
    for r in sorted({uf.find(i) for i in range(len(v))}):
        _leaf(T, top[r], v)
        roots.append(top[r])
    T.graph["roots"] = roots
    return T


def _leaf(T: nx.DiGraph, node: object, v: np.ndarray) -> None:
    if not T.has_node(node):
        T.add_node(node, value=float(v[node]), kind="minimum")  # type: ignore[index]


def _sorted(pairs: list) -> PersistenceDiagram:
    D = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    return D[np.lexsort((D[:, 1], D[:, 0]))]


__all__ = ["delaunay_complex", "lower_star_persistence", "merge_tree"]

"""Sublevel-set persistent homology of loss landscapes (Def 6.1 / 6.2 of the paper).

A sampled landscape is a finite set of parameter points with their losses. Its
persistence is computed on a filtered simplicial complex built on the samples:

- **point clouds** (:func:`landscape_persistence`): for samples with at most 3
  coordinates, their Delaunay triangulation (:mod:`adapters.constructions.complexes`);
  above, the flag (clique) complex of the symmetric k-nearest-neighbour graph. Both are
  filtered lower-star: a vertex enters at its value, an edge at the larger value of its
  ends, a triangle at the largest value of its vertices. The sublevel complex at level
  ``t`` is spanned by the samples with value ``<= t`` (standard sublevel filtration:
  ``K_s`` is a subcomplex of ``K_t`` for ``s <= t``).
- **plane grids** (:func:`grid_persistence`): cubical sublevel persistence, H0 by an
  elder-rule union-find over the grid, H1 through an exactly equivalent flag complex.
- **any graph** (:func:`graph_persistence`): lower-star persistence of a vertex function
  on the flag complex of a given graph.

Diagrams are lists of ``(m, 2)`` float arrays, one per dimension, rows ``(birth,
death)`` sorted, ``inf`` deaths for essential classes, zero-length pairs dropped. Birth
and death values are exactly input values (no float32 rounding). See
``docs/persistence.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from ripser import ripser
from scipy import sparse
from scipy.spatial import cKDTree

from adapters.constructions.complexes import delaunay_complex, lower_star_persistence
from adapters.constructions.diagrams import PersistenceDiagram
from adapters.constructions.linkage import UnionFind
from adapters.nets.params import to_numpy

#: the complex a sampled landscape is filtered on (:func:`landscape_persistence`)
Complex = Literal["auto", "delaunay", "knn"]
#: below this many coordinates the kNN search uses a k-d tree, above it brute force
KDTREE_MAX_DIM = 16
#: ripser reads float32 filtration values; ranks stay exact below this many distinct values
_MAX_RANKS = 2**24


# -- input --------------------------------------------------------------------------------
def _values(values: object, name: str = "values") -> np.ndarray:
    v = to_numpy(values, name)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per point), got shape {v.shape}")
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise ValueError(f"{name} must be finite; {name}[{bad[0]}] = {v[bad[0]]}")
    return v


def _points(points: object, n: int | None = None) -> np.ndarray:
    X = to_numpy(points, "points")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"points must be (P, d) (or (P,) for a line), got shape {X.shape}")
    if n is not None and X.shape[0] != n:
        raise ValueError(f"points has {X.shape[0]} rows but values has {n} entries")
    if not np.all(np.isfinite(X)):
        raise ValueError("points must be finite (found NaN or inf)")
    return X


def _maxdim(maxdim: int) -> int:
    if isinstance(maxdim, bool) or not isinstance(maxdim, (int, np.integer)) or maxdim < 0:
        raise ValueError(f"maxdim must be a non-negative integer, got {maxdim!r}")
    return int(maxdim)


def _edge_array(edges: object, n: int) -> np.ndarray:
    """``edges`` as a checked ``(E, 2)`` int64 array of vertex indices in ``[0, n)``."""
    E = np.asarray(edges)
    if E.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if E.ndim != 2 or E.shape[1] != 2:
        raise ValueError(f"edges must be an (E, 2) array of vertex indices, got shape {E.shape}")
    if not np.issubdtype(E.dtype, np.integer):
        raise TypeError(f"edges must hold integer vertex indices, got dtype {E.dtype}")
    if E.min() < 0 or E.max() >= n:
        raise ValueError(f"edge endpoints must lie in [0, {n}), got range [{E.min()}, {E.max()}]")
    return E.astype(np.int64)


def _edges(edges: object, n: int) -> np.ndarray:
    """Undirected edges as unique ``(i, j)`` rows with ``i < j``; loops dropped."""
    return dedupe_edges(_edge_array(edges, n))


def dedupe_edges(edges: np.ndarray) -> np.ndarray:
    """Unique undirected edges ``(i, j)``, ``i < j``, sorted; loops ``(i, i)`` removed.

    ripser sums duplicate sparse entries (``.tocsr()``), so every edge must appear once.

    >>> dedupe_edges(np.array([[1, 0], [0, 1], [2, 2], [1, 2]])).tolist()
    [[0, 1], [1, 2]]
    """
    E = np.sort(np.asarray(edges, dtype=np.int64).reshape(-1, 2), axis=1)
    E = E[E[:, 0] != E[:, 1]]
    return np.unique(E, axis=0)


# -- the k-nearest-neighbour graph -----------------------------------------------------------
def knn_edges(points: object, k: int, *, tie_rtol: float = 1e-9) -> np.ndarray:
    """Edges of the symmetric k-nearest-neighbour graph of ``points`` (Euclidean).

    ``j`` is among the k nearest of ``i`` when ``|x_i - x_j| <= d_k(i) (1 + tie_rtol)``,
    ``d_k(i)`` being the k-th smallest distance from ``x_i`` to the other points: ties
    at the k-th distance are all included, so the graph does not depend on the order of
    the points (on a unit grid, ``k=1`` gives the 4-neighbour graph). An edge ``{i, j}``
    is present when either end is among the other's k nearest. ``k >= P`` gives the
    complete graph. Returns unique ``(i, j)`` rows with ``i < j``.

    Up to ``KDTREE_MAX_DIM`` coordinates a k-d tree is used; above, a brute-force search
    on centred float32 coordinates proposes candidates whose distances are then
    recomputed in float64 (so the result is exact up to float32 ranking of candidates
    that are within about ``1e-6`` relative distance of the k-th neighbour).
    """
    X = _points(points)
    k = _check_k(k)
    P = X.shape[0]
    if P < 2:
        return np.zeros((0, 2), dtype=np.int64)
    k = min(k, P - 1)
    if X.shape[1] <= KDTREE_MAX_DIM:
        rows, cols = _knn_kdtree(X, k, tie_rtol)
    else:
        rows, cols = _knn_brute(X, k, tie_rtol)
    return dedupe_edges(np.stack([rows, cols], axis=1))


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _within(
    dist: np.ndarray, k: int, rtol: float, complete: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``(P, m)`` distances to candidates (the point itself among them): the radius
    ``d_k (1 + rtol)`` of each row, which candidates lie within it, and the rows whose
    candidates all do (ties may reach beyond them, unless the candidates are ``complete``);
    those rows are cleared in the mask, for the caller to recompute."""
    radius = np.sort(dist, axis=1)[:, k] * (1.0 + rtol)
    within = dist <= radius[:, None]
    tied = np.zeros(0, dtype=np.int64) if complete else np.flatnonzero(within.all(axis=1))
    within[tied] = False
    return radius, within, tied


def _knn_kdtree(
    X: np.ndarray, k: int, rtol: float, extra: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    tree = cKDTree(X)
    m = min(len(X), k + 1 + extra)
    dist, idx = tree.query(X, k=m)  # includes the point itself at distance 0
    radius, within, tied = _within(dist, k, rtol, complete=m == len(X))
    r_idx, c_idx = np.nonzero(within)
    rows, cols = [r_idx], [idx[r_idx, c_idx]]
    if tied.size:  # ties reach beyond the candidates: all points within the radius
        hoods = tree.query_ball_point(X[tied], r=radius[tied], return_sorted=False)
        sizes = np.fromiter((len(h) for h in hoods), dtype=np.int64, count=len(hoods))
        rows.append(np.repeat(tied, sizes))
        cols.append(np.fromiter((j for h in hoods for j in h), dtype=np.int64,
                                count=int(sizes.sum())))  # fmt: skip
    return np.concatenate(rows), np.concatenate(cols).astype(np.int64)


def _knn_brute(
    X: np.ndarray, k: int, rtol: float, block: int = 1024, extra: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    P = X.shape[0]
    m = min(P, k + 1 + extra)
    Xc = X - X.mean(axis=0)  # centre: the points are usually a small ball around a far centre
    cand = _candidates(torch.from_numpy(Xc.astype(np.float32)), m, block)
    X64 = torch.from_numpy(Xc)
    sq = (X64 * X64).sum(dim=1)
    rows, cols = [], []
    step = max(1, 2**22 // (m * X.shape[1]))  # about 32 MB of float64 differences at a time
    for start in range(0, P, step):
        stop = min(P, start + step)
        c = cand[start:stop]
        near = X64.index_select(0, c.reshape(-1)).view(stop - start, m, -1)
        dots = torch.bmm(near, X64[start:stop, :, None])[:, :, 0]
        exact = (sq[c] + sq[start:stop, None] - 2.0 * dots).clamp_min(0.0).sqrt().numpy()
        _, within, tied = _within(exact, k, rtol, complete=m == P)
        for r in tied:  # ties reach beyond the candidates: recompute this row exactly
            full = np.linalg.norm(Xc - Xc[start + r], axis=1)
            js = np.flatnonzero(full <= np.sort(full)[k] * (1.0 + rtol))
            rows.append(np.full(js.size, start + r, dtype=np.int64))
            cols.append(js)
        r_idx, c_idx = np.nonzero(within)
        rows.append(start + r_idx)
        cols.append(c[r_idx, c_idx].numpy().astype(np.int64))
    return np.concatenate(rows), np.concatenate(cols)


def _candidates(T: torch.Tensor, m: int, block: int) -> torch.Tensor:
    """The ``m`` nearest points of every row of ``T`` by float32 squared distances
    (``(P, m)`` indices, the point itself among them), from the upper triangle of block
    pairs only: each block of distances serves its rows and, transposed, its columns."""
    P = T.shape[0]
    sq = (T * T).sum(dim=1)
    best_d = torch.full((P, m), math.inf)
    best_i = torch.zeros((P, m), dtype=torch.int64)

    def merge(r0: int, d2: torch.Tensor, c0: int) -> None:
        r1 = r0 + d2.shape[0]
        top = torch.topk(d2, min(m, d2.shape[1]), dim=1, largest=False)
        d = torch.cat([best_d[r0:r1], top.values], dim=1)
        i = torch.cat([best_i[r0:r1], top.indices + c0], dim=1)
        keep = torch.topk(d, m, dim=1, largest=False).indices
        best_d[r0:r1] = d.gather(1, keep)
        best_i[r0:r1] = i.gather(1, keep)

    for a in range(0, P, block):
        for b in range(a, P, block):
            d2 = sq[a : a + block, None] + sq[None, b : b + block] - 2.0 * (
                T[a : a + block] @ T[b : b + block].T
            )
            merge(a, d2, b)
            if b != a:
                merge(b, d2.T, a)
    return best_i


# -- persistence of filtered flag complexes ---------------------------------------------------
def _flag_persistence(
    vertex_values: np.ndarray, edges: np.ndarray, edge_values: np.ndarray, maxdim: int
) -> list[PersistenceDiagram]:
    """Persistence of the flag complex of ``edges`` with the given vertex and edge values
    (every edge value must be >= the values of its ends), through ripser's sparse input.

    Values are replaced by their ranks among the distinct values before they reach ripser
    (which computes in float32) and mapped back afterwards, so diagrams hold the exact
    input values. Only ``i < j`` entries and the diagonal (vertex births) are passed, each
    exactly once.
    """
    P = vertex_values.shape[0]
    levels = np.unique(np.concatenate([vertex_values, edge_values]))
    if levels.size >= _MAX_RANKS:
        raise ValueError(f"too many distinct values ({levels.size}) for exact ranks in float32")
    v_rank = np.searchsorted(levels, vertex_values).astype(np.float64)
    e_rank = np.searchsorted(levels, edge_values).astype(np.float64)
    idx = np.arange(P)
    dm = sparse.coo_matrix(
        (np.concatenate([v_rank, e_rank]),
         (np.concatenate([idx, edges[:, 0]]), np.concatenate([idx, edges[:, 1]]))),
        shape=(P, P),
    )  # fmt: skip
    dgms = ripser(dm, distance_matrix=True, maxdim=maxdim)["dgms"]
    return [_from_ranks(d, levels) for d in dgms]


def _from_ranks(dgm: np.ndarray, levels: np.ndarray) -> PersistenceDiagram:
    dgm = np.asarray(dgm, dtype=np.float64).reshape(-1, 2)
    out = np.full(dgm.shape, np.inf)
    finite = np.isfinite(dgm)
    out[finite] = levels[np.rint(dgm[finite]).astype(np.int64)]
    return _clean(out)


def _clean(dgm: np.ndarray) -> PersistenceDiagram:
    """Drop zero-length pairs and sort rows by (birth, death)."""
    dgm = np.asarray(dgm, dtype=np.float64).reshape(-1, 2)
    dgm = dgm[dgm[:, 1] > dgm[:, 0]]
    return dgm[np.lexsort((dgm[:, 1], dgm[:, 0]))]


def graph_persistence(values: object, edges: object, maxdim: int = 1) -> list[PersistenceDiagram]:
    """Lower-star persistence of ``values`` on the flag complex of the graph ``edges``.

    A vertex enters at its value, an edge ``{i, j}`` at ``max(values[i], values[j])``, a
    clique at the largest value of its vertices. ``edges`` is an ``(E, 2)`` integer array;
    direction, repeats and loops do not matter (edges are deduplicated before ripser,
    which would otherwise sum repeated entries). Returns ``maxdim + 1`` diagrams.

    >>> graph_persistence([0.0, 2.0, 1.0], [[0, 1], [1, 2]], maxdim=0)[0].tolist()
    [[0.0, inf], [1.0, 2.0]]
    """
    v = _values(values)
    maxdim = _maxdim(maxdim)
    E = _edges(edges, v.size)
    if v.size == 0:
        return [np.zeros((0, 2)) for _ in range(maxdim + 1)]
    w = np.maximum(v[E[:, 0]], v[E[:, 1]])
    return _flag_persistence(v, E, w, maxdim)


def landscape_persistence(
    points: object,
    values: object,
    k: int = 10,
    maxdim: int = 1,
    complex: Complex = "auto",
) -> list[PersistenceDiagram]:
    """Sublevel-set persistence of a sampled landscape (Def 6.1 / 6.2).

    ``complex`` says which simplicial complex is filtered: ``"delaunay"``, the Delaunay
    triangulation of the samples (:func:`~adapters.constructions.complexes.delaunay_complex`,
    for ``d <= 3`` coordinates: a triangulation of the sampled region, so an essential
    class is a class of the whole region); ``"knn"``, the flag complex of the symmetric
    k-nearest-neighbour graph (:func:`knn_edges`: an edge wherever either point is among
    the other's k nearest, Euclidean, ties at the k-th distance included); ``"auto"``
    (default), Delaunay for ``d <= 3`` and kNN above. The filtration is lower-star by
    ``values`` (a simplex enters at its largest vertex value). ``points`` is ``(P, d)`` (or
    ``(P,)`` for points on a line), ``values`` is ``(P,)``; numpy arrays or torch tensors.
    Returns a list of ``maxdim + 1`` arrays of shape ``(m, 2)`` with ``inf`` deaths for
    essential classes (in dimension 0, one per connected component of the complex).

    >>> x = np.arange(5.0)
    >>> landscape_persistence(x, [0.0, 2.0, 1.0, 3.0, 0.5], k=1, maxdim=0)[0].tolist()
    [[0.0, inf], [0.5, 3.0], [1.0, 2.0]]
    """
    v = _values(values)
    X = _points(points, v.size)
    maxdim, k = _maxdim(maxdim), _check_k(k)
    if complex not in ("auto", "delaunay", "knn"):
        raise ValueError(f"complex must be 'auto', 'delaunay' or 'knn', got {complex!r}")
    if complex == "delaunay" or (complex == "auto" and X.shape[1] <= 3):
        if maxdim > 1:
            raise ValueError("the Delaunay complex is filtered up to dimension 1 (maxdim <= 1)")
        edges, triangles = delaunay_complex(X)
        return lower_star_persistence(v, edges, triangles, maxdim)
    return graph_persistence(v, knn_edges(X, k), maxdim)


# -- grids ---------------------------------------------------------------------------------
def grid_edges(shape: Sequence[int], connectivity: int = 4) -> np.ndarray:
    """Edges between neighbouring cells of a 2-D grid of ``shape`` (row-major indices):
    horizontal and vertical neighbours (``connectivity=4``), plus both diagonals (``8``).

    >>> grid_edges((2, 2)).tolist()
    [[0, 1], [0, 2], [1, 3], [2, 3]]
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    rows, cols = (int(s) for s in shape)
    idx = np.arange(rows * cols).reshape(rows, cols)
    pairs = [(idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :])]
    if connectivity == 8:
        pairs += [(idx[:-1, :-1], idx[1:, 1:]), (idx[:-1, 1:], idx[1:, :-1])]
    E = np.concatenate([np.stack([a.ravel(), b.ravel()], axis=1) for a, b in pairs])
    return dedupe_edges(E)


def elder_rule_h0(
    values: object, edges: object, edge_values: object | None = None
) -> PersistenceDiagram:
    """0-dimensional persistence by union-find and the elder rule.

    Edges are added in increasing order of their value (default: the larger value of
    their ends; ties in input order after sorting); when an edge joins two components,
    the younger one (larger minimum; on equal minima the one whose minimum has the larger
    index) dies at the edge's value. Every edge value must be at least the values of its
    ends. Each component left at the end gives an essential pair ``(min, inf)``.

    >>> elder_rule_h0([0.0, 2.0, 1.0], [[0, 1], [1, 2]]).tolist()
    [[0.0, inf], [1.0, 2.0]]
    """
    v = _values(values)
    E = _edges(edges, v.size) if edge_values is None else _edge_array(edges, v.size)
    w = np.maximum(v[E[:, 0]], v[E[:, 1]]) if edge_values is None else _values(edge_values)
    if w.shape[0] != E.shape[0]:
        raise ValueError(f"{E.shape[0]} edges but {w.shape[0]} edge values")
    if np.any(w < np.maximum(v[E[:, 0]], v[E[:, 1]])):
        raise ValueError("an edge value is below the value of one of its ends")
    key = np.lexsort((np.arange(v.size), v))  # vertex order: by value, then index
    order_of = np.empty(v.size, dtype=np.int64)
    order_of[key] = np.arange(v.size)
    components = UnionFind(v.size, rank=order_of)  # roots are the oldest of their component
    pairs = []
    for e in np.argsort(w, kind="stable"):
        a, b = components.find(int(E[e, 0])), components.find(int(E[e, 1]))
        if a == b:
            continue
        young = b if order_of[a] < order_of[b] else a
        components.union(a, b)
        pairs.append((v[young], w[e]))
    pairs += [(v[r], math.inf) for r in components.roots()]
    return _clean(np.array(pairs, dtype=np.float64).reshape(-1, 2))


def grid_persistence(
    values_2d: object, maxdim: int = 1, connectivity: int = 4
) -> list[PersistenceDiagram]:
    """Cubical sublevel persistence of a function sampled on a 2-D grid.

    ``connectivity=4`` (default) is the V-construction: grid points are vertices, edges
    join horizontal/vertical neighbours at the larger value, and each unit square is
    filled at the largest of its four corners; sublevel components are 4-connected.
    ``connectivity=8`` is the T-construction: each grid value is a closed unit pixel, and
    pixels sharing an edge or a corner touch; sublevel components are 8-connected.

    H0 is computed exactly by union-find over the grid edges (:func:`elder_rule_h0`). H1
    (``maxdim=1``) comes from ripser on a flag complex with the same persistence:

    - V-construction: the 4-neighbour graph plus the diagonal ``(i, j)-(i+1, j+1)`` of
      each square entering at the square's value (the largest corner); each square is then
      two triangles born with it, a subdivision of the cubical complex at every level;
    - T-construction: the flag complex of the 8-neighbour (king's) graph, lower-star; it is
      the nerve of the closed pixels, homotopy equivalent to their union at every level
      (nerve theorem), so the persistence modules agree.

    Returns ``[H0]`` or ``[H0, H1]``; there is no H2 for a planar grid.
    """
    Z = to_numpy(values_2d, "values_2d")
    if Z.ndim != 2 or Z.size == 0:
        raise ValueError(f"values_2d must be a non-empty 2-D array, got shape {Z.shape}")
    maxdim = _maxdim(maxdim)
    if maxdim > 1:
        raise ValueError(f"a 2-D grid has homology in dimensions 0 and 1 only; got maxdim={maxdim}")
    v = _values(Z.ravel(), "values_2d")
    E = grid_edges(Z.shape, connectivity)
    out = [elder_rule_h0(v, E)]
    if maxdim == 1:
        out.append(_grid_h1(Z, v, E, connectivity))
    return out


def _grid_h1(Z: np.ndarray, v: np.ndarray, E: np.ndarray, connectivity: int) -> PersistenceDiagram:
    w = np.maximum(v[E[:, 0]], v[E[:, 1]])
    if connectivity == 4 and min(Z.shape) > 1:
        idx = np.arange(Z.size).reshape(Z.shape)
        square = np.maximum.reduce([Z[:-1, :-1], Z[:-1, 1:], Z[1:, :-1], Z[1:, 1:]])
        diag = np.stack([idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()], axis=1)
        E = np.concatenate([E, diag])
        w = np.concatenate([w, square.ravel()])
    return _flag_persistence(v, E, w, maxdim=1)[1]


# -- summaries and comparisons ------------------------------------------------------------------



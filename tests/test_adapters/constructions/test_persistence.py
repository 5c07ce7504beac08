"""Known-answer tests for sublevel-set persistence (adapters.constructions.persistence).

Every expected diagram comes from an analytic landscape or from an implementation written
here, independently of the library: a vertex-by-vertex elder-rule union-find, Betti
numbers from Euler characteristics and GF(2) ranks, brute-force neighbour search.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from ripser import ripser
from scipy import sparse

from adapters.constructions.diagrams import compare_diagrams, diagram_distance, total_persistence
from adapters.constructions.persistence import (
    dedupe_edges,
    elder_rule_h0,
    graph_persistence,
    grid_edges,
    grid_persistence,
    knn_edges,
    landscape_persistence,
)


# -- independent references ----------------------------------------------------------------
def hand_h0(values, neighbours):
    """Elder-rule H0 adding vertices one by one in (value, index) order."""
    n = len(values)
    order = sorted(range(n), key=lambda i: (values[i], i))
    parent: dict[int, int] = {}

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    pairs = []
    for i in order:
        parent[i] = i
        roots = {find(j) for j in neighbours(i) if j in parent and j != i}
        if not roots:
            continue
        oldest = min(roots, key=lambda r: (values[r], r))  # roots are component minima
        for r in roots - {oldest}:
            pairs.append((values[r], values[i]))
            parent[r] = oldest
        parent[i] = oldest
    pairs += [(values[r], math.inf) for r in parent if parent[r] == r]
    pairs = [p for p in pairs if p[1] > p[0]]
    return sorted(pairs)


def as_pairs(dgm):
    return sorted(map(tuple, np.asarray(dgm).tolist()))


def grid_neighbours(shape, connectivity):
    rows, cols = shape
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0)]
    if connectivity == 8:
        steps += [(1, 1), (1, -1), (-1, 1), (-1, -1)]

    def nb(i):
        r, c = divmod(i, cols)
        for dr, dc in steps:
            if 0 <= r + dr < rows and 0 <= c + dc < cols:
                yield (r + dr) * cols + c + dc

    return nb


def betti_at(dgm, t):
    d = np.asarray(dgm).reshape(-1, 2)
    return int(np.sum((d[:, 0] <= t) & (t < d[:, 1])))


def components(n_vertices, edges):
    parent = list(range(n_vertices))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        parent[find(a)] = find(b)
    return len({find(i) for i in range(n_vertices)})


def gf2_rank(columns):
    """Rank over GF(2) of a matrix given as a list of sets of row indices."""
    pivots: dict[int, set] = {}
    rank = 0
    for col in columns:
        col = set(col)
        while col:
            top = max(col)
            if top in pivots:
                col ^= pivots[top]
            else:
                pivots[top] = col
                rank += 1
                break
    return rank


# -- 1-D ----------------------------------------------------------------------------------
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=40))
def test_line_matches_hand_union_find(ints):
    v = np.array(ints, dtype=float)
    n = len(v)
    expected = hand_h0(list(v), lambda i: [j for j in (i - 1, i + 1) if 0 <= j < n])
    got = landscape_persistence(np.arange(n, dtype=float), v, k=1, maxdim=0)
    assert len(got) == 1
    assert as_pairs(got[0]) == expected
    # the order of the samples does not matter (ties at the k-th distance are included)
    perm = np.random.default_rng(n).permutation(n)
    shuffled = landscape_persistence(np.arange(n, dtype=float)[perm], v[perm], k=1)
    assert as_pairs(shuffled[0]) == expected


def test_polynomial_known_critical_values():
    """f(x) = x^4 - 2x^2 + x/2: minima and the maximum between them are the real roots of
    f'(x) = 4x^3 - 4x + 1/2; H0 = {(global min, inf), (local min, local max)}."""

    def f(x):
        return x**4 - 2 * x**2 + 0.5 * x

    crit = np.sort(np.roots([4.0, 0.0, -4.0, 0.5]).real)
    lo_min, top, hi_min = f(crit)
    x = np.linspace(-2.0, 2.0, 4001)
    h0 = landscape_persistence(x, f(x), k=1, maxdim=0)[0]
    assert h0.shape == (2, 2)
    (b0, d0), (b1, d1) = sorted(h0.tolist())
    assert d0 == math.inf and b0 == pytest.approx(min(lo_min, hi_min), abs=1e-5)
    assert b1 == pytest.approx(max(lo_min, hi_min), abs=1e-5)
    assert d1 == pytest.approx(top, abs=1e-5)


def test_diagram_values_are_exact_not_float32():
    """ripser computes in float32; the diagram must still carry the float64 inputs."""
    v = np.array([1.0, 1.0 + 3e-9, 1.0 + 1e-9])
    got = graph_persistence(v, [[0, 1], [1, 2]], maxdim=0)[0]
    assert got.tolist() == [[1.0, math.inf], [v[2], v[1]]]


# -- 2-D grids ----------------------------------------------------------------------------
@pytest.mark.parametrize("connectivity", [4, 8])
@given(data=st.data())
def test_grid_h0_matches_hand_union_find(connectivity, data):
    rows = data.draw(st.integers(1, 7))
    cols = data.draw(st.integers(1, 7))
    ints = data.draw(st.lists(st.integers(0, 6), min_size=rows * cols, max_size=rows * cols))
    Z = np.array(ints, dtype=float).reshape(rows, cols)
    expected = hand_h0(list(Z.ravel()), grid_neighbours(Z.shape, connectivity))
    assert as_pairs(grid_persistence(Z, maxdim=0, connectivity=connectivity)[0]) == expected
    # the ripser route on the same graph agrees
    via_ripser = graph_persistence(Z.ravel(), grid_edges(Z.shape, connectivity), maxdim=0)
    assert as_pairs(via_ripser[0]) == expected
    if connectivity == 4:  # the kNN graph of the grid points with k=1 is the 4-neighbour graph
        pts = np.argwhere(np.ones_like(Z)).astype(float)
        h0 = landscape_persistence(pts, Z.ravel(), k=1, maxdim=0, complex="knn")[0]
        assert as_pairs(h0) == expected


def cubical_betti(Z, t, connectivity):
    """(b0, b1) of the sublevel set {Z <= t}: V-construction (4) or union of closed pixels (8),
    b1 = b0 - Euler characteristic (planar complexes have no H2)."""
    on = Z <= t
    rows, cols = Z.shape
    nb = grid_neighbours(Z.shape, connectivity)
    cells = [i for i in range(Z.size) if on.flat[i]]
    edges = [(i, j) for i in cells for j in nb(i) if i < j and on.flat[j]]
    b0 = components(Z.size, edges) - (Z.size - len(cells))
    if connectivity == 4:
        squares = np.sum(on[:-1, :-1] & on[:-1, 1:] & on[1:, :-1] & on[1:, 1:])
        chi = len(cells) - len(edges) + int(squares)
    else:  # cells of the union of closed unit pixels
        P = np.pad(on, 1)
        corners = np.sum(P[:-1, :-1] | P[:-1, 1:] | P[1:, :-1] | P[1:, 1:])
        h_edges = np.sum(P[:-1, 1:-1] | P[1:, 1:-1])
        v_edges = np.sum(P[1:-1, :-1] | P[1:-1, 1:])
        chi = int(corners) - int(h_edges + v_edges) + len(cells)
    return b0, b0 - chi


@pytest.mark.parametrize("connectivity", [4, 8])
@given(data=st.data())
def test_grid_betti_numbers_at_every_level(connectivity, data):
    rows = data.draw(st.integers(2, 6))
    cols = data.draw(st.integers(2, 6))
    ints = data.draw(st.lists(st.integers(0, 9), min_size=rows * cols, max_size=rows * cols))
    Z = np.array(ints, dtype=float).reshape(rows, cols)
    h0, h1 = grid_persistence(Z, maxdim=1, connectivity=connectivity)
    for t in np.unique(Z):
        assert (betti_at(h0, t), betti_at(h1, t)) == cubical_betti(Z, t, connectivity)


def four_wells(x, y):
    return (x**2 - 1) ** 2 + (y**2 - 1) ** 2


@pytest.mark.parametrize("route", ["grid4", "grid8", "knn"])
def test_four_wells_known_pairs(route):
    """Minima at (+-1, +-1) (value 0), saddles at (+-1, 0), (0, +-1) (value 1), maximum at
    the origin (value 2): H0 = three (0, 1) pairs and (0, inf); H1 = one (1, 2) class."""
    x = np.linspace(-2.0, 2.0, 41)
    X, Y = np.meshgrid(x, x, indexing="ij")
    Z = four_wells(X, Y)
    if route == "knn":
        pts = np.stack([X.ravel(), Y.ravel()], axis=1)  # k=8: the 8-neighbour graph inside
        h0, h1 = landscape_persistence(pts, Z.ravel(), k=8, maxdim=1)
    else:
        h0, h1 = grid_persistence(Z, maxdim=1, connectivity=int(route[-1]))
    np.testing.assert_allclose(h0, [[0, 1], [0, 1], [0, 1], [0, np.inf]], atol=1e-12)
    np.testing.assert_allclose(h1, [[1, 2]], atol=1e-12)


def test_four_wells_random_samples():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 2, size=(3000, 2))
    h0, _ = landscape_persistence(pts, four_wells(*pts.T), k=10, maxdim=1)
    big = h0[h0[:, 1] - h0[:, 0] > 0.3]
    assert len(big) == 4 and np.isinf(big[:, 1]).sum() == 1
    assert np.all(big[:, 0] < 0.05)
    np.testing.assert_allclose(np.sort(big[:, 1])[:3], 1.0, atol=0.05)


def test_gaussian_wells_known_depths():
    """Separated wells -A_i exp(-|x - c_i|^2 / (2 s^2)): one H0 class per well, born at
    -A_i, the shallower ones dying on the plateau (~0) where the wells meet."""
    depths = np.array([1.0, 0.7, 0.4])
    centres = np.array([[-1.0, -1.0], [1.0, -1.0], [0.0, 1.2]])
    x = np.linspace(-2.5, 2.5, 101)
    X, Y = np.meshgrid(x, x, indexing="ij")
    Z = sum(-A * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * 0.25**2))
            for A, (cx, cy) in zip(depths, centres))  # fmt: skip
    h0 = grid_persistence(Z, maxdim=0)[0]
    big = h0[h0[:, 1] - h0[:, 0] > 0.1]
    np.testing.assert_allclose(np.sort(big[:, 0]), -depths, atol=1e-4)
    assert np.isinf(big[np.argmin(big[:, 0]), 1])
    np.testing.assert_allclose(big[np.isfinite(big[:, 1]), 1], 0.0, atol=1e-3)


def ring(X, Y):
    return (np.hypot(X, Y) - 1.0) ** 2


@pytest.mark.parametrize("connectivity", [4, 8])
def test_circle_valley_has_one_h1_class_on_grid(connectivity):
    x = np.linspace(-2.0, 2.0, 81)
    X, Y = np.meshgrid(x, x, indexing="ij")
    Z = ring(X, Y)
    h0, h1 = grid_persistence(Z, connectivity=connectivity)
    assert len(h1) == 1
    assert h1[0, 1] == pytest.approx(1.0, abs=1e-12)  # the centre, where the hole fills
    assert h1[0, 0] < 0.01
    assert np.isinf(h0[:, 1]).sum() == 1


def test_circle_valley_has_one_h1_class_on_samples():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 2, size=(1000, 2))
    _, h1 = landscape_persistence(pts, ring(*pts.T), k=30, maxdim=1)
    big = h1[h1[:, 1] - h1[:, 0] > 0.3]
    assert len(big) == 1
    assert big[0, 0] < 0.05 and 0.5 < big[0, 1] <= 1.0


def test_knn_flag_complex_betti_numbers_at_every_level():
    """H1 of landscape_persistence against GF(2) ranks of boundary matrices of the sublevel
    flag complexes, computed here from the brute-force kNN graph and its cliques."""
    rng = np.random.default_rng(3)
    pts = rng.uniform(size=(35, 2))
    v = rng.uniform(size=35)
    k = 4
    D = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    dk = np.sort(D, axis=1)[:, k]
    adj = (D <= dk[:, None]) | (D <= dk[None, :])
    np.fill_diagonal(adj, False)
    h0, h1 = landscape_persistence(pts, v, k=k, maxdim=1, complex="knn")
    for t in np.unique(v):
        on = np.flatnonzero(v <= t)
        E = [(a, b) for a, b in itertools.combinations(on, 2) if adj[a, b]]
        T = [c for c in itertools.combinations(on, 3) if adj[c[0], c[1]] and adj[c[0], c[2]]
             and adj[c[1], c[2]]]  # fmt: skip
        index = {e: i for i, e in enumerate(E)}
        r1 = len(on) - (components(len(v), E) - (len(v) - len(on)))
        r2 = gf2_rank([{index[(a, b)], index[(a, c)], index[(b, c)]} for a, b, c in T])
        b0 = len(on) - r1
        assert betti_at(h0, t) == b0
        assert betti_at(h1, t) == len(E) - r1 - r2


# -- graphs, edges, ripser's sparse input -------------------------------------------------------
def test_duplicate_edges_are_not_summed():
    """The ripser pitfall: repeated sparse entries are summed by .tocsr()."""
    v = np.array([0.0, 2.0, 1.0])
    dup = np.array([[0, 1], [1, 0], [0, 1], [1, 2], [2, 1], [1, 1]])
    assert graph_persistence(v, dup, maxdim=0)[0].tolist() == [[0.0, math.inf], [1.0, 2.0]]
    # the naive construction really is wrong, so the check above could fail
    rows = np.r_[0, 1, 2, dup[:, 0]]
    cols = np.r_[0, 1, 2, dup[:, 1]]
    data = np.r_[v, np.maximum(v[dup[:, 0]], v[dup[:, 1]])]
    naive = sparse.coo_matrix((data, (rows, cols)), shape=(3, 3)).tocsr()
    wrong = ripser(naive, distance_matrix=True, maxdim=0)["dgms"][0]
    assert sorted(wrong.tolist()) != [[0.0, math.inf], [1.0, 2.0]]


def test_dedupe_edges():
    E = np.array([[3, 1], [1, 3], [0, 0], [2, 0], [0, 2], [1, 3]])
    assert dedupe_edges(E).tolist() == [[0, 2], [1, 3]]


@given(st.integers(0, 10_000))
def test_elder_rule_agrees_with_ripser_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    v = rng.integers(0, 8, size=n).astype(float)
    E = rng.integers(0, n, size=(int(rng.integers(0, 3 * n)), 2))
    expected = hand_h0(list(v), lambda i: set(E[E[:, 0] == i, 1]) | set(E[E[:, 1] == i, 0]))
    assert as_pairs(elder_rule_h0(v, E)) == expected
    assert as_pairs(graph_persistence(v, E, maxdim=0)[0]) == expected


@pytest.mark.parametrize("d", [2, 40])  # k-d tree and brute-force search
def test_knn_edges_match_definition(d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(120, d)) + 100.0  # far from the origin, as around a trained network
    X[7] = X[3]  # an exact duplicate
    for k in (1, 3, 8):
        D = np.linalg.norm(X[:, None] - X[None], axis=2)
        dk = np.sort(D, axis=1)[:, k]
        adj = (D <= dk[:, None] * (1 + 1e-9)) | (D <= dk[None, :] * (1 + 1e-9))
        np.fill_diagonal(adj, False)
        expected = np.argwhere(np.triu(adj)).tolist()
        assert knn_edges(X, k).tolist() == expected


def test_knn_ties_on_a_grid_in_high_dimension():
    g = np.argwhere(np.ones((5, 6))).astype(float)
    lifted = np.concatenate([g, np.zeros((len(g), 30))], axis=1) + 3.0
    assert knn_edges(lifted, 1).tolist() == grid_edges((5, 6)).tolist()
    assert knn_edges(g, 1).tolist() == grid_edges((5, 6)).tolist()


def test_k_at_least_n_is_the_complete_graph():
    assert len(knn_edges(np.random.default_rng(0).normal(size=(6, 3)), 50)) == 15


def test_torch_inputs_match_numpy():
    rng = np.random.default_rng(1)
    X, v = rng.normal(size=(200, 3)), rng.normal(size=200)
    a = landscape_persistence(X, v, k=6)
    b = landscape_persistence(torch.tensor(X), torch.tensor(v), k=6)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))


def test_single_point_and_empty_graph():
    h0, h1 = landscape_persistence(np.zeros((1, 2)), [3.0], k=5)
    assert h0.tolist() == [[3.0, math.inf]] and h1.shape == (0, 2)
    assert graph_persistence([1.0, 0.0], np.zeros((0, 2), dtype=int), 0)[0].tolist() == [
        [0.0, math.inf], [1.0, math.inf]]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: landscape_persistence(np.zeros((3, 2)), [1.0, 2.0]), "3 rows"),
        (lambda: landscape_persistence(np.zeros((2, 2)), [1.0, np.nan]), "finite"),
        (lambda: landscape_persistence(np.zeros((2, 2)), [1.0, 2.0], k=0), "k must"),
        (lambda: landscape_persistence(np.zeros((2, 2)), [1.0, 2.0], k=1.5), "k must"),
        (lambda: landscape_persistence(np.zeros((2, 2)), [1.0, 2.0], maxdim=-1), "maxdim"),
        (lambda: landscape_persistence(np.full((2, 2), np.inf), [1.0, 2.0]), "points must"),
        (lambda: landscape_persistence(np.zeros((2, 2, 2)), [1.0, 2.0]), "points must"),
        (lambda: landscape_persistence(np.zeros((2, 2)), [[1.0, 2.0]]), "1-D"),
        (lambda: graph_persistence([1.0, 2.0], [[0, 2]]), "endpoints"),
        (lambda: graph_persistence([1.0, 2.0], [[0.0, 1.0]]), "integer"),
        (lambda: grid_persistence(np.zeros(4)), "2-D"),
        (lambda: grid_persistence(np.zeros((2, 2)), connectivity=6), "connectivity"),
        (lambda: grid_persistence(np.zeros((2, 2)), maxdim=2), "dimensions 0 and 1"),
        (lambda: landscape_persistence("abc", [1.0]), "numeric"),
    ],
)
def test_bad_input_is_reported(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# -- summaries and distances ------------------------------------------------------------------
def test_total_persistence_by_hand():
    D = [[0.0, math.inf], [0.5, 3.0], [1.0, 2.0]]
    assert total_persistence(D) == 3.5
    assert total_persistence(D, p=2) == 2.5**2 + 1.0
    assert total_persistence(D, essential="cap", cap=4.0) == 3.5 + 4.0
    assert total_persistence(np.zeros((0, 2))) == 0.0
    with pytest.raises(ValueError, match="cap"):
        total_persistence(D, essential="cap")
    with pytest.raises(ValueError, match="below the birth"):
        total_persistence([[5.0, math.inf]], essential="cap", cap=4.0)
    with pytest.raises(ValueError, match="p must"):
        total_persistence(D, p=0)
    with pytest.raises(ValueError, match="death < birth"):
        total_persistence([[2.0, 1.0]])


def test_diagram_distances_by_hand():
    a = [[0.0, 4.0], [0.0, math.inf]]
    b = [[1.0, 4.0]]
    # one matched pair at L-inf distance 1; the essential class is excluded
    assert diagram_distance(a, b) == pytest.approx(1.0)
    assert diagram_distance(a, b, "wasserstein") == pytest.approx(1.0)
    # no pairs against one pair (0, 4): matched to the diagonal at L-inf distance 2
    assert diagram_distance(np.zeros((0, 2)), [[0.0, 4.0]]) == pytest.approx(2.0)
    # capped at 6: best is (0, 6)-(1, 4) at distance 2 and (0, 4) to the diagonal at 2
    assert diagram_distance(a, b, essential="cap", cap=6.0) == pytest.approx(2.0)
    assert compare_diagrams([a, b], [b, b]) == pytest.approx([1.0, 0.0])
    with pytest.raises(ValueError, match="metric"):
        diagram_distance(a, b, "hausdorff")

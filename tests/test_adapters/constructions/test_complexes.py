"""Triangulated landscapes: the Mexican hat keeps its loop, and every diagram equals
gudhi's on the same complex (Delaunay in 2-D and 3-D, the kNN flag complex above)."""

from __future__ import annotations

import gudhi
import networkx as nx
import numpy as np
import pytest

from adapters.constructions.complexes import (
    delaunay_complex,
    lower_star_persistence,
    merge_tree,
)
from adapters.constructions.persistence import knn_edges, landscape_persistence


def gudhi_diagrams(values, simplices, expand: int = 0) -> list[np.ndarray]:
    """Lower-star persistence by gudhi on the complex spanned by ``simplices`` (and, with
    ``expand``, their flag complex up to that dimension): the reference. Faces must come
    before cofaces (gudhi gives a face inserted with a coface the coface's value)."""
    st = gudhi.SimplexTree()
    for i, x in enumerate(values):
        st.insert([i], filtration=float(x))
    for s in simplices:
        st.insert([int(i) for i in s], filtration=float(max(values[list(s)])))
    if expand:
        st.expansion(expand)
        st.make_filtration_non_decreasing()
    st.persistence(persistence_dim_max=True)
    out = []
    for dim in (0, 1):
        D = np.array(st.persistence_intervals_in_dimension(dim)).reshape(-1, 2)
        D = D[D[:, 1] > D[:, 0]]
        out.append(D[np.lexsort((D[:, 1], D[:, 0]))])
    return out


def mexican_hat(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform samples of [-1.6, 1.6]^2 and (r^2 - 1)^2 + 0.1 (1 + cos theta): a ring
    valley whose loop closes at the ring's saddle (0.2 at theta = 0) and fills at the
    central bump (between 1.0 and 1.2)."""
    X = np.random.default_rng(seed).uniform(-1.6, 1.6, size=(n, 2))
    r, th = np.linalg.norm(X, axis=1), np.arctan2(X[:, 1], X[:, 0])
    return X, (r**2 - 1) ** 2 + 0.1 * (1 + np.cos(th))


def test_a_planar_mexican_hat_keeps_exactly_its_loop() -> None:
    X, v = mexican_hat()
    h0, h1 = landscape_persistence(X, v)  # auto: Delaunay for planar samples
    lasting = h1[h1[:, 1] - h1[:, 0] > 0.5]
    assert len(lasting) == 1 and np.isfinite(h1[:, 1]).all()  # no essential H1 class
    birth, death = lasting[0]
    assert abs(birth - 0.2) < 0.02 and 1.0 <= death <= 1.2
    essential = h0[np.isinf(h0[:, 1])]
    assert len(essential) == 1 and essential[0, 0] == v.min()
    E, T = delaunay_complex(X)
    for ours, ref in zip((h0, h1), gudhi_diagrams(v, [*E, *T])):
        np.testing.assert_array_equal(ours, ref)


def test_three_dimensional_samples_are_triangulated_and_match_gudhi() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    v = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - np.cos(2 * X[:, 2])
    E, T = delaunay_complex(X)
    ours = lower_star_persistence(v, E, T)
    for a, b in zip(ours, gudhi_diagrams(v, [*E, *T])):
        np.testing.assert_array_equal(a, b)
    assert np.isinf(ours[0][:, 1]).sum() == 1 and np.isfinite(ours[1][:, 1]).all()


def test_high_dimensional_samples_use_the_knn_flag_complex_as_gudhi_computes_it() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(250, 6))
    v = np.linalg.norm(X - 0.5, axis=1) + 0.3 * np.sin(4 * X[:, 0])
    ours = landscape_persistence(X, v, k=6)
    ref = gudhi_diagrams(v, knn_edges(X, 6), expand=2)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)


def test_small_and_degenerate_samples() -> None:
    E, T = delaunay_complex(np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert E.tolist() == [[0, 1]] and T.shape == (0, 3)
    E, T = delaunay_complex(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    assert len(E) == 3 and T.tolist() == [[0, 1, 2]]
    with pytest.raises(ValueError, match="do not span"):
        delaunay_complex(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]))
    with pytest.raises(ValueError, match="missing"):
        lower_star_persistence(np.zeros(3), np.array([[0, 1]]), np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="complex must be"):
        landscape_persistence(np.zeros((3, 2)), [0.0, 1.0, 2.0], complex="alpha")


def test_merge_tree_of_a_line_by_hand() -> None:
    """Values 0, 2, 1, 3, 0.5 on a line: the basins of 0 and 1 merge at 2, that basin and
    the basin of 0.5 at 3."""
    v = np.array([0.0, 2.0, 1.0, 3.0, 0.5])
    T = merge_tree(v, np.array([[0, 1], [1, 2], [2, 3], [3, 4]]))
    minima = sorted(n for n, d in T.nodes(data=True) if d["kind"] == "minimum")
    assert minima == [0, 2, 4]
    (root,) = T.graph["roots"]
    assert T.nodes[root]["value"] == 3.0 and T.in_degree(root) == 2
    (first,) = [n for n in T.predecessors(root) if n != 4]
    assert T.nodes[first]["value"] == 2.0 and set(T.predecessors(first)) == {0, 2}
    assert nx.is_arborescence(T.reverse())


def test_merge_tree_merges_at_the_minimax_levels_of_the_graph() -> None:
    """Each merge happens at the bottleneck level between the two basins' minima: the
    smallest, over paths of the graph, of the largest value on the path (networkx minimax
    path on the minimum spanning tree); and its younger branches are the finite H0 pairs."""
    X, v = mexican_hat(n=400, seed=3)
    E, T = delaunay_complex(X)
    tree = merge_tree(v, E)
    G = nx.Graph()
    G.add_weighted_edges_from((int(a), int(b), max(v[a], v[b])) for a, b in E)
    mst = nx.minimum_spanning_tree(G)

    def lowest(node):
        leaves = [n for n in nx.ancestors(tree, node) | {node}
                  if tree.nodes[n]["kind"] == "minimum"]  # fmt: skip
        return min(leaves, key=lambda i: v[i])

    pairs = []
    for node, d in tree.nodes(data=True):
        if d["kind"] != "merge":
            continue
        a, b = (lowest(c) for c in tree.predecessors(node))
        path = nx.shortest_path(mst, a, b)
        assert d["value"] == max(v[path])
        pairs.append((max(v[a], v[b]), d["value"]))
    h0 = lower_star_persistence(v, E, T, maxdim=0)[0]
    np.testing.assert_array_equal(np.array(sorted(pairs)), h0[np.isfinite(h0[:, 1])])

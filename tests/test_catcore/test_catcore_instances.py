"""Every built-in catcore instance passes every law suite that applies to it.

Cones and candidate mediating morphisms come from second implementations in
``catcore_strategies`` (brute force for FinSet, separately coded kernels for Vect, brute-force
lower bounds for posets). Known answers: FinSet limit sizes, Vect pullback dimensions by the
rank formula, poset meets in the divisor lattice are gcds.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
import pytest
import sympy
from catcore_strategies import (
    compatible_families,
    example_graph_category,
    finset_diagrams,
    finset_gens,
    finset_limit_gens,
    free_gens,
    linear_maps,
    paths_gens,
    poset_arrows_from,
    poset_diagrams,
    poset_limit_gens,
    spaces,
    twocell_gens,
    vect_gens,
    vect_limit_gens,
)
from hypothesis import given
from hypothesis import strategies as st

from catcore import LimitError, check
from catcore.instances import FinSet, Paths, Poset, Space, VectQ, VectR
from catcore.instances.vect import NumericVectCategory
from catcore.limits import equalizer, pullback
from catcore.suites import category_laws, check_category, limit_laws, twocell_laws


def assert_ok(report) -> None:
    assert report.ok, report.summary()
    assert all(report.checked[law] > report.vacuous[law] for law in report.checked)


# ---------------------------------------------------------------- FinSet


def test_finset_category_laws():
    assert_ok(check(category_laws(FinSet), finset_gens(), FinSet.equality))


def test_finset_limit_laws():
    assert_ok(check(limit_laws(FinSet), finset_limit_gens(), FinSet.equality))


@given(finset_diagrams())
def test_finset_limit_size_is_the_number_of_compatible_families(d):
    lim = FinSet.limit(d)
    assert len(lim.apex) == sum(1 for _ in compatible_families(d))
    # the legs are jointly injective: elements are told apart by their components
    signatures = {tuple(lim.leg(n)(x) for n in d.nodes) for x in lim.apex}
    assert len(signatures) == len(lim.apex)


def test_finset_pullback_known_answer():
    f = FinSet.morphism([1, 2, 3], ["odd", "even"], {1: "odd", 2: "even", 3: "odd"})
    g = FinSet.morphism(["a", "b"], ["odd", "even"], {"a": "odd", "b": "odd"})
    pb = pullback(f, g)
    p1, p2 = pb.legs
    assert sorted((p1(x), p2(x)) for x in pb.apex) == [(1, "a"), (1, "b"), (3, "a"), (3, "b")]


# ---------------------------------------------------------------- Vect over Q and R


@pytest.mark.parametrize("V", [VectQ, VectR], ids=["Q", "R"])
def test_vect_category_laws(V):
    assert_ok(check(category_laws(V), vect_gens(V), V.equality, max_examples=15))


@pytest.mark.parametrize("V", [VectQ, VectR], ids=["Q", "R"])
def test_vect_limit_laws(V):
    assert_ok(check(limit_laws(V), vect_limit_gens(V), V.equality, max_examples=15))


def _rank(m) -> int:
    return int(np.linalg.matrix_rank(np.array(m, dtype=float))) if min(np.shape(m)) else 0


@given(st.data())
def test_vectq_pullback_dimension_by_rank_formula(data):
    """dim(A x_C B) = dim A + dim B - rank [F | -G] (kernel of the block matrix)."""
    a, b, c = (data.draw(spaces(3)) for _ in range(3))
    f, g = data.draw(linear_maps(VectQ, a, c)), data.draw(linear_maps(VectQ, b, c))
    pb = pullback(f, g)
    block = np.hstack(
        [
            np.array(f.matrix, dtype=float).reshape(c.dim, a.dim),
            -np.array(g.matrix, dtype=float).reshape(c.dim, b.dim),
        ]
    )
    assert pb.apex.dim == a.dim + b.dim - _rank(block)
    p1, p2 = pb.legs
    assert p1 >> f == p2 >> g


def test_vectq_pullback_known_answers():
    q = sympy.Rational
    # the diagonal: pulling back id along id gives Q^2 again
    idq2 = VectQ.identity(Space(2))
    assert pullback(idq2, idq2).apex == Space(2)
    # x + y = 0 against the zero map from Q: ker(x + y) (+) Q, dimension 2
    s = VectQ.morphism(sympy.Matrix([[1, 1]]))
    z = VectQ.morphism(sympy.Matrix([[0]]))
    pb = pullback(s, z)
    assert pb.apex == Space(2)
    p1, p2 = pb.legs
    assert (p1 >> s).matrix == sympy.zeros(1, 2)
    # exact rational universal map: the cone (x, y) = (t/2, -t/2) over t -> 0
    q1 = VectQ.morphism(sympy.Matrix([[q(1, 2)], [q(-1, 2)]]))
    u = pb.universal(q1, VectQ.morphism(sympy.Matrix([[0]])))
    assert u >> p1 == q1


def test_vectr_kernel_tolerance_is_explicit():
    """A singular value at most tol counts as zero: ker diag(1, 1e-12) (the equalizer with
    the zero map) is the y-axis at tol=1e-9 and {0} at tol=1e-15."""
    zero = np.zeros((2, 2))
    for tol, kernel_dim in [(1e-9, 1), (1e-15, 0)]:
        V = NumericVectCategory(tol=tol)
        f = V.morphism(np.diag([1.0, 1e-12]))
        assert equalizer(f, V.morphism(zero)).apex.dim == kernel_dim


# ---------------------------------------------------------------- free category, posets


def test_free_category_laws():
    G = example_graph_category()
    assert_ok(check(category_laws(G), free_gens(G), G.equality))


def test_free_category_has_no_limits():
    G = example_graph_category()
    with pytest.raises(LimitError):
        pullback(G.generator("a", "b"), G.generator("a", "b", 1))


DIV60 = Poset.divisibility(60)


def test_poset_category_laws():
    """Through the one-call entry point ``check_category``."""
    report = check_category(
        DIV60, st.sampled_from(DIV60.elements), arrows_from=poset_arrows_from(DIV60)
    )
    assert_ok(report)
    assert {"left identity", "right identity", "associativity"} <= set(report.checked)


def test_poset_limit_laws():
    assert_ok(check(limit_laws(DIV60), poset_limit_gens(DIV60), DIV60.equality))


@given(poset_diagrams(DIV60))
def test_meets_in_the_divisor_lattice_are_gcds(d):
    assert DIV60.limit(d).apex == reduce(math.gcd, d.objects.values(), 60)


def test_poset_without_a_meet():
    import networkx as nx

    bowtie = Poset(nx.DiGraph([("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]), name="bowtie")
    with pytest.raises(LimitError, match="no meet"):
        bowtie.meet(["c", "d"])
    assert bowtie.meet(["a", "c"]) == "a"


# ---------------------------------------------------------------- paths and homotopies


@pytest.mark.parametrize("dim", [1, 2])
def test_paths_category_laws(dim):
    K = Paths(dim)
    assert_ok(check(category_laws(K), paths_gens(K), K.equality))


def test_paths_twocell_laws():
    K = Paths(2)
    assert_ok(check(twocell_laws(K), twocell_gens(K), K.equality, max_examples=10))


def test_paths_vertical_laws_hold_only_up_to_reparametrization():
    """Known answer: id ; alpha runs alpha at double speed after a pause, so it differs from
    alpha pointwise (at t = 1/4 it is still the source) but agrees after reparametrization."""
    K = Paths(2)
    f = K.linear([0, 0], [1, 1])
    g = K.through([[0, 0], [1, 0], [1, 1]], [0, 0.5, 1])
    alpha = K.straight(f, g)
    padded = K.id2(f).vthen(alpha)
    s = K.grid
    assert np.allclose(padded.at(s, 0.25), f.normalized(s))
    assert np.allclose(alpha.at(s, 0.25), 0.75 * f.normalized(s) + 0.25 * g.normalized(s))
    assert not K.equality(padded, alpha)
    assert K.vertical_equality(padded, alpha)
    # ... and reparametrization does not identify different homotopies
    h = K.through([[0, 0], [0, 1], [1, 1]], [0, 0.5, 1])
    assert not K.vertical_equality(alpha.vthen(K.straight(g, h)), K.straight(f, h))


def test_finset_isomorphisms_and_their_defect():
    swap = FinSet.morphism([0, 1], ["a", "b"], {0: "b", 1: "a"})
    const = FinSet.morphism([0, 1], ["a", "b"], {0: "a", 1: "a"})
    into = FinSet.morphism([0], ["a", "b"], {0: "b"})
    assert FinSet.is_iso(swap) and FinSet.is_iso(FinSet.identity([]))
    assert not FinSet.is_iso(const) and not FinSet.is_iso(into)
    assert FinSet.iso_defect(const) == {"is_iso": False, "merged": 1, "missed": ["b"]}
    assert FinSet.iso_defect(into) == {"is_iso": False, "merged": 0, "missed": ["a"]}


def test_vect_isomorphisms_and_their_defect():
    m = sympy.Matrix([[1, 2], [2, 4]])
    assert not VectQ.is_iso(VectQ.morphism(m))
    assert VectQ.iso_defect(VectQ.morphism(m))["rank_gap"] == 1
    assert VectQ.is_iso(VectQ.morphism(sympy.Matrix([[0, 1], [1, 0]])))
    near = np.array([[1.0, 0.0], [0.0, 1e-12]])
    assert not VectR.is_iso(VectR.morphism(near))
    assert VectR.iso_defect(VectR.morphism(near))["singular_values"] == [1.0, 1e-12]


def test_arclength_of_a_polygon_from_its_corners_alone():
    """Positions at equal arc length on a polygon with unevenly timed corners, against a
    brute-force walk along its edges: ``fine=2`` (the corners only) is exact, and equals
    the fine grid's answer."""
    from catcore.instances.reparametrization import arclength_chords, by_arclength

    corners = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 12.0]])
    path = Paths(3).through(corners, [0.0, 0.1, 0.5, 2.0])
    edges = np.linalg.norm(np.diff(corners, axis=0), axis=1)  # 3, 4, 12
    cum = np.concatenate([[0.0], np.cumsum(edges)])
    want = []
    for length in np.linspace(0.0, cum[-1], 9):
        k = min(int(np.searchsorted(cum, length, side="right")) - 1, len(edges) - 1)
        want.append(corners[k] + (length - cum[k]) / edges[k] * (corners[k + 1] - corners[k]))
    lo, hi, w, total = arclength_chords(path, 9, fine=2)
    assert total == pytest.approx(19.0)
    walked = path.normalized(lo) + w[:, None] * (path.normalized(hi) - path.normalized(lo))
    np.testing.assert_allclose(walked, np.array(want), atol=1e-12)
    np.testing.assert_allclose(by_arclength(path, 9), np.array(want), atol=1e-9)

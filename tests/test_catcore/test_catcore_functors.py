"""Functors, natural transformations and the limit-preservation probe, with verdicts derived
by hand.

Free vector space functor ``R: FinSet -> Vect_Q`` (``A -> Q^A``, ``f -> its 0/1 matrix``):

* products: ``R(A x B) -> R A (+) R B`` sends ``e_(a,b)`` to ``(e_a, e_b)``. Its image is
  ``{(x, y): sum x = sum y}``, so its rank is ``|A| + |B| - 1`` when both are non-empty and
  0 otherwise; the target has dimension ``|A| + |B|``. Preserved only when ``A = B = {}``.
* equalizers of ``f, g: A -> B``: ``ker(Rf - Rg)`` is the cycle space of the multigraph on
  ``B`` with one edge ``g(a) -- f(a)`` per ``a``, of dimension ``|A| - |B| + #components``;
  the comparison includes ``R(E)`` (the loops, ``f(a) = g(a)``). Preserved iff the non-loop
  edges form a forest.
* pullbacks of ``f: A -> C <- B: g``: over each ``c`` the Vect pullback is
  ``{sum x = sum y}`` on the fibres ``A_c, B_c``, of dimension ``|A_c| + |B_c| - 1`` (0 if
  both are empty), and the comparison maps ``A_c x B_c`` onto it. Preserved iff
  ``|A_c| |B_c| = max(|A_c| + |B_c| - 1, 0)`` for every ``c``.

Homogenization ``H = - (+) R`` on ``Vect_R`` (``M -> [[M, 0], [0, 1]]``) preserves connected
limits (pullbacks, equalizers) but not products: the comparison
``H(A x B) -> H A x H B`` is injective with rank ``a + b + 1`` into dimension ``a + b + 2``,
singular values ``1`` (``a + b`` times) and ``sqrt 2`` (the duplicated homogeneous
coordinate); for the terminal object ``H(0) = R -> 0`` has rank gap 1.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import sympy
from catcore_strategies import (
    FREE,
    all_functions,
    finset_diagrams,
    finset_gens,
    finsets,
    functions,
    linear_maps,
    poset_gens,
    spaces,
    vect_diagrams,
    vect_gens,
)
from hypothesis import given
from hypothesis import strategies as st

from catcore import (
    Functor,
    NaturalTransformation,
    check,
    check_examples,
    identity_functor,
    preservation,
)
from catcore.instances import FinSet, Poset, Space, VectQ, VectR
from catcore.limits import Diagram, equalizer, product, pullback, terminal
from catcore.suites import functor_laws, naturality_laws, preservation_laws


def assert_ok(report) -> None:
    assert report.ok, report.summary()


# ---------------------------------------------------------------- functors


def test_free_vector_space_functor_laws():
    assert_ok(check(functor_laws(FREE), finset_gens(), VectQ.equality))


def test_inclusion_of_rationals_into_reals_is_a_functor():
    incl = Functor(
        VectQ,
        VectR,
        ob=lambda a: a,
        ar=lambda f: VectR.morphism(f.array(), f.dom, f.cod),
        name="Q->R",
    )
    assert_ok(check(functor_laws(incl), vect_gens(VectQ), VectR.equality, max_examples=15))


DIV12, DIV60 = Poset.divisibility(12), Poset.divisibility(60)
TIMES5 = Functor(DIV12, DIV60, lambda d: 5 * d, lambda f: DIV60.arrow(5 * f.dom, 5 * f.cod), "5x")
INCLUSION = Functor(DIV12, DIV60, lambda d: d, lambda f: DIV60.arrow(f.dom, f.cod), "incl")


def test_monotone_map_of_posets_is_a_functor():
    assert_ok(check(functor_laws(TIMES5), poset_gens(DIV12), DIV60.equality))


def homogenize(V):
    """``H = - (+) R``: the homogeneous-coordinate embedding of linear maps."""

    def ar(f):
        m = np.zeros((f.cod.dim + 1, f.dom.dim + 1))
        m[: f.cod.dim, : f.dom.dim] = f.matrix
        m[-1, -1] = 1.0
        return V.morphism(m, Space(f.dom.dim + 1), Space(f.cod.dim + 1))

    return Functor(V, V, lambda a: Space(a.dim + 1), ar, name="H")


HOMOG = homogenize(VectR)


def test_homogenization_is_a_functor():
    assert_ok(check(functor_laws(HOMOG), vect_gens(VectR), VectR.equality, max_examples=15))


# ---------------------------------------------------------------- natural transformations

TWO = (0, 1)


def times_two(A):
    return FinSet.object([(a, i) for a in A for i in TWO])


TIMES_TWO = Functor(
    FinSet,
    FinSet,
    times_two,
    lambda f: FinSet.morphism(
        times_two(f.dom), times_two(f.cod), {(a, i): (f(a), i) for a in f.dom for i in TWO}
    ),
    "-x2",
)
ID_FINSET = identity_functor(FinSet)


def test_inclusion_into_a_product_is_natural():
    """``a -> (a, 0)`` is natural ``id => - x {0, 1}``; so is ``a -> (a, 1)``."""
    for tag in TWO:
        alpha = NaturalTransformation(
            ID_FINSET,
            TIMES_TWO,
            lambda A, tag=tag: FinSet.morphism(A, times_two(A), {a: (a, tag) for a in A}),
            name=f"in_{tag}",
        )
        assert_ok(check(naturality_laws(alpha), finset_gens(), FinSet.equality))


def test_diagonal_is_natural():
    square = Functor(
        FinSet,
        FinSet,
        lambda A: FinSet.object(itertools.product(A, A)),
        lambda f: FinSet.morphism(
            itertools.product(f.dom, f.dom),
            itertools.product(f.cod, f.cod),
            {(a, b): (f(a), f(b)) for a in f.dom for b in f.dom},
        ),
        "sq",
    )
    diagonal = NaturalTransformation(
        ID_FINSET, square, lambda A: FinSet.morphism(A, square(A), {a: (a, a) for a in A}), "diag"
    )
    assert_ok(check(naturality_laws(diagonal), finset_gens(), FinSet.equality))


def test_scalar_components_are_natural_for_the_identity_functor_of_vectq():
    ident = identity_functor(VectQ)
    for c in (sympy.Rational(-2, 3), sympy.Integer(0), sympy.Integer(5)):
        scale = NaturalTransformation(
            ident, ident, lambda a, c=c: VectQ.morphism(c * sympy.eye(a.dim), a, a), name=f"{c}*"
        )
        assert_ok(check(naturality_laws(scale), vect_gens(VectQ), VectQ.equality, max_examples=15))


def test_vertical_composite_of_natural_transformations():
    ident = identity_functor(VectQ)

    def scale(c):
        return NaturalTransformation(
            ident, ident, lambda a: VectQ.morphism(c * sympy.eye(a.dim), a, a)
        )

    both = scale(2).then(scale(sympy.Rational(1, 3)))
    assert both(Space(2)) == VectQ.morphism(sympy.Rational(2, 3) * sympy.eye(2))
    assert_ok(check(naturality_laws(both), vect_gens(VectQ), VectQ.equality, max_examples=10))
    with pytest.raises(ValueError, match="ends at functor"):
        scale(2).then(NaturalTransformation(TIMES_TWO, TIMES_TWO, lambda A: None))


# ---------------------------------------------------------------- limit preservation


def test_identity_functors_preserve_all_limits():
    assert_ok(check(preservation_laws(ID_FINSET), {"diagram": finset_diagrams()}))
    ident_q = identity_functor(VectQ)
    assert_ok(check(preservation_laws(ident_q), {"diagram": vect_diagrams(VectQ)}, max_examples=15))
    ident_r = identity_functor(VectR)
    report = check(
        preservation_laws(ident_r),
        {"diagram": vect_diagrams(VectR)},
        VectR.equality,
        max_examples=15,
    )
    assert_ok(report)


def test_inclusion_of_rationals_preserves_limits_through_a_change_of_basis():
    incl = Functor(VectQ, VectR, lambda a: a, lambda f: VectR.morphism(f.array(), f.dom, f.cod))
    s = VectQ.morphism(sympy.Matrix([[1, 2, 3]]))
    p = preservation(
        incl,
        Diagram.of(
            VectQ,
            {"A": s.dom, "B": s.cod},
            {("A", "B", 0): s, ("A", "B", 1): VectQ.morphism(sympy.zeros(1, 3))},
        ),
    )
    assert p.preserved and p.defect["rank_gap"] == 0
    # sympy's kernel basis is not orthonormal, the SVD one is: the comparison is not the identity
    assert not np.allclose(p.comparison.matrix, np.eye(2))


def hand_product_rank(a: int, b: int) -> int:
    return a + b - 1 if a and b else 0


@pytest.mark.parametrize("a,b", [(0, 0), (0, 2), (1, 1), (2, 3), (3, 1)])
def test_free_functor_on_products(a, b):
    A, B = FinSet.object(range(a)), FinSet.object(range(10, 10 + b))
    p = preservation(FREE, product(FinSet, [A, B]).limit.diagram)
    assert (p.defect["dom"], p.defect["cod"]) == (a * b, a + b)
    assert p.defect["rank"] == hand_product_rank(a, b)
    assert p.preserved == (a == b == 0)


def cycle_free(f, g) -> bool:
    """Union-find over the non-loop edges g(a) -- f(a): True iff they form a forest."""
    parent = {y: y for y in f.cod}

    def root(y):
        while parent[y] != y:
            y = parent[y]
        return y

    for a in f.dom:
        if f(a) == g(a):
            continue
        r1, r2 = root(f(a)), root(g(a))
        if r1 == r2:
            return False
        parent[r1] = r2
    return True


def test_free_functor_on_equalizers_matches_the_forest_criterion():
    sizes = [(a, b) for a in range(4) for b in range(3)]
    seen = {True: 0, False: 0}
    for a, b in sizes:
        A, B = FinSet.object(range(a)), FinSet.object(range(b))
        hom = all_functions(A, B)
        for f, g in itertools.product(hom, repeat=2):
            p = preservation(FREE, equalizer(f, g).limit.diagram)
            assert p.preserved == cycle_free(f, g), (f, g)
            seen[p.preserved] += 1
    assert seen[True] and seen[False]  # both verdicts occur


def fibres_ok(f, g) -> bool:
    for c in f.cod:
        x = sum(1 for a in f.dom if f(a) == c)
        y = sum(1 for b in g.dom if g(b) == c)
        if x * y != max(x + y - 1, 0):
            return False
    return True


def test_free_functor_on_pullbacks_matches_the_fibre_criterion():
    seen = {True: 0, False: 0}
    for a, b, c in itertools.product(range(3), range(3), range(1, 3)):
        A, B, C = FinSet.object(range(a)), FinSet.object(range(b)), FinSet.object(range(c))
        for f in all_functions(A, C):
            for g in all_functions(B, C):
                p = preservation(FREE, pullback(f, g).limit.diagram)
                assert p.preserved == fibres_ok(f, g), (f, g)
                seen[p.preserved] += 1
    assert seen[True] and seen[False]


def test_free_functor_preservation_law_fails_with_the_defect():
    report = check(preservation_laws(FREE), {"diagram": finset_diagrams()})
    assert not report.ok
    (failure,) = report.failures
    assert failure.law == "comparison map is iso"
    assert "rank_gap" in failure.reason
    assert isinstance(failure.example, Diagram)


def test_homogenization_preserves_connected_limits():
    cospans = (
        st.tuples(spaces(2), spaces(2), spaces(2))
        .flatmap(
            lambda abc: st.tuples(
                linear_maps(VectR, abc[0], abc[2]), linear_maps(VectR, abc[1], abc[2])
            )
        )
        .map(lambda fg: pullback(*fg).limit.diagram)
    )
    pairs = (
        st.tuples(spaces(2), spaces(2))
        .flatmap(lambda ab: st.tuples(linear_maps(VectR, *ab), linear_maps(VectR, *ab)))
        .map(lambda fg: equalizer(*fg).limit.diagram)
    )
    report = check(
        preservation_laws(HOMOG),
        {"diagram": st.one_of(cospans, pairs)},
        VectR.equality,
        max_examples=20,
    )
    assert_ok(report)


@pytest.mark.parametrize("a,b", [(0, 0), (1, 2), (2, 2)])
def test_homogenization_does_not_preserve_products(a, b):
    p = preservation(HOMOG, product(VectR, [Space(a), Space(b)]).limit.diagram)
    assert not p.preserved
    assert (p.defect["dom"], p.defect["cod"], p.defect["rank"]) == (a + b + 1, a + b + 2, a + b + 1)
    assert p.defect["rank_gap"] == 1
    assert np.allclose(sorted(p.defect["singular_values"]), [1.0] * (a + b) + [np.sqrt(2)])
    # the image of H(A x B) lies inside H A x H B: every principal angle is 0
    assert np.allclose(p.defect["principal_angles"], 0.0, atol=1e-7)


def test_homogenization_does_not_preserve_the_terminal_object():
    p = preservation(HOMOG, terminal(VectR).diagram)
    assert not p.preserved
    assert (p.defect["dom"], p.defect["cod"], p.defect["rank_gap"]) == (1, 0, 1)


def test_poset_maps_and_meets():
    """``d -> 5 d`` preserves every meet, empty one included (gcd(5a, 5b) = 5 gcd(a, b),
    top 12 -> 60); the inclusion Div(12) -> Div(60) preserves non-empty meets but sends the
    top 12 to 12, not to the top 60."""
    pairs = [
        Diagram.of(DIV12, {0: x, 1: y}) for x, y in itertools.product(DIV12.elements, repeat=2)
    ]
    empty = Diagram.of(DIV12, {})
    assert check_examples(preservation_laws(TIMES5), {"diagram": pairs + [empty]}).ok
    assert check_examples(preservation_laws(INCLUSION), {"diagram": pairs}).ok
    p = preservation(INCLUSION, empty)
    assert not p.preserved and (p.comparison.dom, p.comparison.cod) == (12, 60)


@given(finsets(), st.data())
def test_free_functor_preserves_an_equalizer_of_equal_maps(A, data):
    """Known answer: eq(f, f) = A, and ker(Rf - Rf) = Q^A."""
    B = data.draw(finsets(min_size=1 if len(A) else 0))
    f = data.draw(functions(A, B))
    assert preservation(FREE, equalizer(f, f).limit.diagram).preserved


def maybe(A):
    return FinSet.object([("just", a) for a in A] + [("nothing",)])


MAYBE = Functor(
    FinSet,
    FinSet,
    maybe,
    lambda f: FinSet.morphism(
        maybe(f.dom),
        maybe(f.cod),
        {("just", a): ("just", f(a)) for a in f.dom} | {("nothing",): ("nothing",)},
    ),
    "Maybe",
)


def test_maybe_is_a_functor_preserving_connected_limits_only():
    """``A -> A + 1`` preserves pullbacks and equalizers (the extra point pairs only with
    itself) but not products: the image of (A x B) + 1 in (A + 1) x (B + 1) misses the
    a + b pairs with exactly one 'nothing' and merges nothing, so the product is preserved
    only when a + b = 0; the terminal object 1 goes to 1 + 1, whose two points merge."""
    assert_ok(check(functor_laws(MAYBE), finset_gens(), FinSet.equality))
    connected = finset_diagrams().filter(
        lambda d: d.nodes and nx.is_weakly_connected(d.shape) and len(d.nodes) > 1
    )
    assert_ok(check(preservation_laws(MAYBE), {"diagram": connected}, FinSet.equality))
    for a, b in [(0, 0), (0, 2), (1, 2), (2, 3)]:
        A, B = FinSet.object(range(a)), FinSet.object(range(b))
        p = preservation(MAYBE, product(FinSet, [A, B]).limit.diagram)
        assert p.preserved == (a + b == 0)
        assert p.defect["merged"] == 0 and len(p.defect["missed"]) == a + b
    p = preservation(MAYBE, terminal(FinSet).diagram)
    assert not p.preserved and p.defect["merged"] == 1 and p.defect["missed"] == []

"""The constructions people write: Rel, Mat(S), C x D, slices and coslices, functors out of
free categories, and the ergonomics of writing one's own (dataclass morphisms, dispatch
by the domain's notion of arrow, failures that say where two sides differ)."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import networkx as nx
import pytest
from hypothesis import strategies as st

from catcore import Category, Functor, Morphism, MorphismError, check
from catcore.colimits import coproduct, pushout
from catcore.instances import (
    BOOLEAN,
    TROPICAL,
    Coslice,
    FinSet,
    FreeCategory,
    Mat,
    ProductCategory,
    Rel,
    Semiring,
    Slice,
    VectQ,
)
from catcore.limits import product, pullback
from catcore.strategies.constructions import slice_gens, slice_kit
from catcore.strategies.small import free_gens, mat_gens, rel_gens, semiring_elements
from catcore.suites import category_laws, colimit_laws, functor_laws, limit_laws


def test_rel_laws_and_boolean_matrices_agree_on_composition():
    assert check(category_laws(Rel), rel_gens(Rel), max_examples=30).ok
    r = Rel.relation([0, 1], "ab", {(0, "a"), (1, "a"), (1, "b")})
    s = Rel.relation("ab", "xy", {("a", "y"), ("b", "x")})
    M = Mat(BOOLEAN)

    def matrix(rel, rows, cols):
        return M.matrix([[(c, r_) in rel.pairs for c in cols] for r_ in rows], dom=len(cols))

    composite = matrix(r >> s, "xy", [0, 1])
    assert composite == (matrix(r, "ab", [0, 1]) >> matrix(s, "xy", "ab"))


def test_mat_over_semirings_and_a_broken_one():
    for S in (BOOLEAN, TROPICAL):
        M = Mat(S)
        report = check(category_laws(M), mat_gens(M, semiring_elements(S)), max_examples=30)
        assert report.ok, report.summary()
    # (max, -) is no semiring: subtraction is not associative, so composition is not
    broken = Semiring("max-minus", -math.inf, 0, max, operator.sub)
    M = Mat(broken)
    report = check(category_laws(M), mat_gens(M, st.integers(-3, 3)), max_examples=40)
    assert not report.ok
    assert {f.law for f in report.failures} & {"associativity", "left identity", "right identity"}


def test_tropical_composition_is_shortest_paths():
    """Against Floyd-Warshall (networkx) on a small weighted graph."""
    g = nx.DiGraph()
    g.add_weighted_edges_from([(0, 1, 2), (1, 2, 3), (0, 2, 9), (2, 0, 1)])
    M = Mat(TROPICAL)
    n = 3
    step = [
        [0 if i == j else g[j][i]["weight"] if g.has_edge(j, i) else math.inf for j in range(n)]
        for i in range(n)
    ]
    d = M.matrix(step)
    two = (d >> d).rows  # column j -> row i: shortest path j -> i of at most 2 steps
    dist = nx.floyd_warshall(g)
    assert all(two[i][j] == dist[j][i] for i in range(n) for j in range(n))


def test_product_category_laws_projections_and_componentwise_limits():
    P = ProductCategory(FinSet, VectQ)
    assert check(functor_laws(P.first), _product_gens(P), max_examples=15).ok
    a, b = FinSet.object("ab"), FinSet.object([1, 2, 3])
    from catcore.instances import Space

    prod = product(P, [(a, Space(1)), (b, Space(2))])
    assert len(prod.apex[0]) == 6 and prod.apex[1] == Space(3)
    co = coproduct(P, [(a, Space(1)), (b, Space(2))])
    assert len(co.apex[0]) == 5 and co.apex[1] == Space(3)


def _product_gens(P):
    from catcore.strategies.constructions import product_hom
    from catcore.strategies.finset import finsets, functions
    from catcore.strategies.vect import linear_maps, spaces
    from catcore.suites import category_gens

    hom = product_hom(P, functions, lambda x, y: linear_maps(VectQ, x, y))
    return category_gens(st.tuples(finsets(max_size=2), spaces(2)), hom=hom)


def test_products_in_a_slice_are_pullbacks_and_coproducts_in_a_coslice_are_pushouts():
    X = FinSet.object("ab")
    over = Slice(FinSet, X)
    p = FinSet.morphism([1, 2, 3], X, {1: "a", 2: "b", 3: "a"})
    q = FinSet.morphism(["u", "v"], X, {"u": "a", "v": "a"})
    prod = product(over, [p, q])
    assert len(prod.apex.dom) == len(pullback(p, q).apex) == 4
    Y = FinSet.object([0])
    under = Coslice(FinSet, Y)
    i = FinSet.morphism(Y, "xy", {0: "x"})
    j = FinSet.morphism(Y, [7, 8], {0: 8})
    assert len(coproduct(under, [i, j]).apex.cod) == len(pushout(i, j).apex) == 3
    for S, laws in ((over, limit_laws), (under, colimit_laws)):
        assert check(category_laws(S), slice_gens(S), max_examples=15).ok
        kit = slice_kit(S)
        gens = kit.limit_gens() if laws is limit_laws else kit.colimit_gens()
        report = check(laws(S), gens, max_examples=15)
        assert report.ok, report.summary()


def test_a_slice_arrow_must_make_its_triangle_commute():
    X = FinSet.object("ab")
    over = Slice(FinSet, X)
    p = FinSet.morphism([1], X, {1: "a"})
    q = FinSet.morphism([2], X, {2: "b"})
    with pytest.raises(MorphismError, match="triangle does not commute"):
        over.arrow(p, q, FinSet.morphism([1], [2], {1: 2}))


def test_functor_from_generators_is_lawful_and_checks_its_generators():
    G = FreeCategory(nx.MultiDiGraph([("a", "b"), ("b", "a"), ("b", "b")]), name="G")
    two = FinSet.object([0, 1])
    flip = FinSet.morphism(two, two, {0: 1, 1: 0})
    F = Functor.from_generators(
        G, FinSet, {"a": two, "b": two}, {("a", "b"): flip, ("b", "a"): flip, ("b", "b"): flip}
    )
    assert check(functor_laws(F), free_gens(G), max_examples=30).ok
    loop = G.path([("a", "b", 0), ("b", "a", 0)])
    assert F(loop) == FinSet.identity(two)
    with pytest.raises(MorphismError, match="no arrow given"):
        Functor.from_generators(G, FinSet, {"a": two, "b": two}, {("a", "b"): flip})
    with pytest.raises(MorphismError, match="image of edge"):
        Functor.from_generators(
            G,
            FinSet,
            {"a": two, "b": FinSet.object([5])},
            {("a", "b"): flip, ("b", "a"): flip, ("b", "b"): flip},
        )


@dataclass(frozen=True)
class Step(Morphism):
    """A dataclass morphism with ``dom``/``cod`` fields."""

    dom: int
    cod: int
    category: Category


class Chain(Category):
    """The poset 0 <= 1 <= 2 <= ... written with dataclass arrows."""

    name = "Chain"

    def identity(self, obj):
        return Step(obj, obj, self)

    def _compose(self, f, g):
        return Step(f.dom, g.cod, self)

    def arrow_problem(self, f):
        return super().arrow_problem(f) or (None if f.dom <= f.cod else f"{f.dom} > {f.cod}")


def test_a_dataclass_morphism_with_dom_and_cod_fields_works():
    C = Chain()
    assert (Step(0, 1, C) >> Step(1, 3, C)) == Step(0, 3, C)
    from catcore.suites import check_category

    up = lambda a, b: st.just(Step(a, b, C)) if a <= b else st.nothing()  # noqa: E731
    assert check_category(C, st.integers(0, 4), hom=up, max_examples=20).ok


def test_functor_call_dispatches_on_what_the_domain_calls_an_arrow():
    class Pairs(Category):
        """Arrows are plain tuples (a, b) with a <= b: not Morphism instances."""

        def identity(self, obj):
            return (obj, obj)

        def _compose(self, f, g):
            return (f[0], g[1])

        def arrow_problem(self, f):
            ok = isinstance(f, tuple) and len(f) == 2 and f[0] <= f[1]
            return None if ok else f"{f!r} is not an arrow"

    P = Pairs()
    F = Functor(P, P, lambda x: x + 1, lambda f: (f[0] + 1, f[1] + 1))
    assert F((1, 2)) == (2, 3)  # an arrow
    assert F(5) == 6  # an object


def test_failures_say_where_the_sides_differ():
    class Skewed(type(FinSet)):
        name = "skewed"

        def _compose(self, f, g):
            out = super()._compose(f, g)
            if len(out.dom) > 1:
                x, *_ = list(out.dom)
                others = [y for y in out.cod if y != out(x)]
                if others:
                    return self.morphism(out.dom, out.cod, {**out.mapping, x: others[0]})
            return out

    C = Skewed()
    from catcore.strategies.finset import finset_gens

    report = check(category_laws(C), finset_gens(C), max_examples=40)
    assert not report.ok
    assert any("mapping: at" in f.reason for f in report.failures), report.summary()

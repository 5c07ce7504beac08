"""Each law suite catches a deliberately broken instance of the law it checks.

Every test asserts that the report is not ok, that the failure names the broken law, that
it carries a counterexample, and (where the rest of the structure is sound) that the other
laws of the same suite still pass, so the failure is attributed to the right law.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from catcore_strategies import (
    FREE,
    failed_laws,
    finset_gens,
    finset_limit_gens,
    free_matrix,
    poset_gens,
    twocell_gens,
    vect_gens,
    vect_limit_gens,
)
from hypothesis import strategies as st

from catcore import Functor, LimitError, NaturalTransformation, check, identity_functor
from catcore.instances import FinSet, FinSetCategory, FinSetObject, Paths, Space, VectQ
from catcore.instances.vect import NumericVectCategory
from catcore.limits import Cone, Diagram, Limit, pullback
from catcore.suites import (
    category_laws,
    functor_laws,
    limit_laws,
    naturality_laws,
    preservation_laws,
    twocell_laws,
)


def shift(A) -> dict:
    """The cyclic shift of A's elements (a non-identity permutation when |A| >= 2)."""
    xs = list(A)
    return {x: xs[(i + 1) % len(xs)] for i, x in enumerate(xs)}


# ---------------------------------------------------------------- category laws


class WrongIdentity(FinSetCategory):
    name = "FinSet with shifted identities"

    def identity(self, obj):
        obj = FinSetObject(obj)
        return self.morphism(obj, obj, shift(obj))


def test_wrong_identity_is_caught():
    C = WrongIdentity()
    report = check(category_laws(C), finset_gens(C), C.equality)
    assert failed_laws(report) == {"left identity", "right identity"}
    failure = report.failures[0]
    assert len(failure.example.dom if failure.law == "left identity" else failure.example.cod) >= 2
    assert failure.lhs != failure.rhs


class Twisted(FinSetCategory):
    """The composite of two non-identity maps is followed by the cyclic shift of its
    codomain: unital by construction, not associative ((f;g);h = S h S g f but
    f;(g;h) = S S h g f)."""

    name = "FinSet with twisted composition"

    def _compose(self, f, g):
        h = super()._compose(f, g)
        if f == self.identity(f.dom) or g == self.identity(g.dom):
            return h
        return super()._compose(h, self.morphism(h.cod, h.cod, shift(h.cod)))


def test_non_associative_composition_is_caught():
    C = Twisted()
    report = check(category_laws(C), finset_gens(C), C.equality, shrink=False)
    assert failed_laws(report) == {"associativity"}
    f, g, h = report.failures[0].example
    assert (f >> g) >> h != f >> (g >> h)


# ---------------------------------------------------------------- functors


def shifted_unless_identity(f):
    """``R f`` followed by the cyclic shift of the codomain's basis, identities excepted:
    identities are preserved, composition is not (S R(g f) vs S R g S R f)."""
    m = free_matrix(f)
    if f != FinSet.identity(f.dom) and len(f.cod) >= 2:
        n = len(f.cod)
        m = sympy.Matrix(n, n, lambda i, j: 1 if i == (j + 1) % n else 0) * m
    return VectQ.morphism(m, Space(len(f.dom)), Space(len(f.cod)))


def test_map_breaking_composition_is_caught():
    F = Functor(FinSet, VectQ, FREE.ob, shifted_unless_identity, name="shifted")
    report = check(functor_laws(F), finset_gens(), VectQ.equality, shrink=False)
    assert failed_laws(report) == {"functor preserves composition"}
    f, g = report.failures[0].example
    assert F(f >> g) != F(f) >> F(g)


def test_map_breaking_identity_is_caught():
    zero = Functor(
        FinSet,
        VectQ,
        FREE.ob,
        lambda f: VectQ.morphism(sympy.zeros(len(f.cod), len(f.dom)), FREE(f.dom), FREE(f.cod)),
        name="zero",
    )
    report = check(functor_laws(zero), finset_gens(), VectQ.equality)
    assert failed_laws(report) == {"functor preserves identity"}
    assert len(report.failures[0].example) >= 1  # the empty set's identity is the zero map


def test_non_monotone_object_map_is_caught():
    from catcore.instances import Poset

    D12 = Poset.divisibility(12)
    flip = Functor(D12, D12, lambda d: 12 // d, lambda f: D12.arrow(12 // f.dom, 12 // f.cod))
    report = check(functor_laws(flip), poset_gens(D12), D12.equality)
    assert "functor preserves composition" in failed_laws(report)
    assert "no arrow" in report.failures[-1].reason


# ---------------------------------------------------------------- natural transformations


def test_non_natural_family_is_caught():
    """``a -> (a, a0)`` with a0 the first element of A is not natural ``id => - x -``."""
    square = Functor(
        FinSet,
        FinSet,
        lambda A: FinSet.object((a, b) for a in A for b in A),
        lambda f: FinSet.morphism(
            ((a, b) for a in f.dom for b in f.dom),
            ((a, b) for a in f.cod for b in f.cod),
            {(a, b): (f(a), f(b)) for a in f.dom for b in f.dom},
        ),
    )
    pin = NaturalTransformation(
        identity_functor(FinSet),
        square,
        lambda A: FinSet.morphism(A, square(A), {a: (a, list(A)[0]) for a in A}),
        name="pin",
    )
    report = check(naturality_laws(pin), finset_gens(), FinSet.equality)
    assert failed_laws(report) == {"naturality square"}
    f = report.failures[0].example
    assert pin.failures([f])  # the same square, as data from the transformation itself


def test_non_scalar_components_are_not_natural():
    ident = identity_functor(VectQ)
    diag = NaturalTransformation(
        ident, ident, lambda a: VectQ.morphism(sympy.diag(*range(1, a.dim + 1)), a, a), "diag"
    )
    report = check(naturality_laws(diag), vect_gens(VectQ), VectQ.equality, shrink=False)
    assert failed_laws(report) == {"naturality square"}


# ---------------------------------------------------------------- limits


class LegsOff(FinSetCategory):
    """Limits whose first leg is post-composed with a shift of its target: not a cone."""

    name = "FinSet with a wrong leg"

    def limit(self, diagram):
        lim = super().limit(diagram)
        legs = dict(lim.cone.legs)
        if diagram.edges:
            u = diagram.edges[0][0]
            legs[u] = legs[u] >> self.morphism(
                diagram.objects[u], diagram.objects[u], shift(diagram.objects[u])
            )
        return Limit(diagram, Cone(lim.apex, legs), lim.mediate)


def test_limit_cone_that_does_not_commute_is_caught():
    C = LegsOff()
    report = check(
        limit_laws(C), {"diagram": finset_limit_gens(C)["diagram"]}, C.equality, shrink=False
    )
    assert failed_laws(report) == {"limit cone commutes"}


class WrongMediator(FinSetCategory):
    """The mediating morphism is followed by a shift of the limit's apex."""

    name = "FinSet with a wrong mediating morphism"

    def limit(self, diagram):
        lim = super().limit(diagram)
        twist = self.morphism(lim.apex, lim.apex, shift(lim.apex))
        return Limit(diagram, lim.cone, lambda cone: lim.mediate(cone) >> twist)


def test_wrong_mediating_morphism_is_caught():
    C = WrongMediator()
    report = check(limit_laws(C), finset_limit_gens(C), C.equality, shrink=False)
    # the cone is fine; the mediating map is wrong (and then not the unique commuting one,
    # when a perturbation happens to be the right map)
    failed = failed_laws(report)
    assert "mediating morphism commutes" in failed
    assert failed <= {"mediating morphism commutes", "mediating morphism is unique"}
    (d, cone) = next(f.example for f in report.failures if f.law.endswith("commutes"))
    with pytest.raises(LimitError, match="does not commute"):
        C.limit(d).universal(cone)


class TooBig(FinSetCategory):
    """The 'limit' carries an extra bit the legs ignore: mediating maps exist, not uniquely."""

    name = "FinSet with a doubled limit"

    def limit(self, diagram):
        lim = super().limit(diagram)
        apex = self.object((x, bit) for x in lim.apex for bit in (0, 1))
        drop = self.morphism(apex, lim.apex, {(x, bit): x for x, bit in apex})
        legs = {n: drop >> lim.leg(n) for n in diagram.nodes}

        def mediate(cone):
            u = lim.mediate(cone)
            return self.morphism(cone.apex, apex, {x: (u(x), 0) for x in cone.apex})

        return Limit(diagram, Cone(apex, legs), mediate)


def test_non_unique_mediating_morphism_is_caught():
    C = TooBig()
    report = check(limit_laws(C), finset_limit_gens(C), C.equality)
    assert failed_laws(report) == {"mediating morphism is unique"}
    d, cone, candidates = report.failures[0].example
    assert len(cone.apex) >= 1


class TooBigR(NumericVectCategory):
    """Vect_R limits with an extra dimension that every leg ignores."""

    def limit(self, diagram):
        lim = super().limit(diagram)
        k = lim.apex.dim
        apex = Space(k + 1)
        legs = {
            n: self.morphism(
                np.hstack([lim.leg(n).matrix, np.zeros((lim.leg(n).cod.dim, 1))]),
                apex,
                lim.leg(n).cod,
            )
            for n in diagram.nodes
        }

        def mediate(cone):
            u = lim.mediate(cone).matrix
            return self.morphism(np.vstack([u, np.zeros((1, u.shape[1]))]), cone.apex, apex)

        return Limit(diagram, Cone(apex, legs), mediate)


def test_non_unique_mediating_linear_map_is_caught():
    V = TooBigR()
    report = check(limit_laws(V), vect_limit_gens(V), V.equality, max_examples=15)
    assert failed_laws(report) == {"mediating morphism is unique"}


# ---------------------------------------------------------------- 2-cells


class Whiskered(Paths):
    """Horizontal composition that first deforms the left factor, then the right one:
    a valid homotopy between the right paths, but the interchange law fails."""

    def _hcompose(self, alpha, gamma):
        first = super()._hcompose(alpha, self.id2(gamma.source))
        second = super()._hcompose(self.id2(alpha.target), gamma)
        return self.vcompose(first, second)


def test_broken_interchange_is_caught():
    K = Whiskered(2)
    report = check(twocell_laws(K), twocell_gens(K), K.equality, max_examples=10, shrink=False)
    failed = failed_laws(report)
    assert "interchange" in failed
    assert not any(law.startswith("vertical") or "identity" in law for law in failed), failed
    found = next(f for f in report.failures if f.law == "interchange")
    lhs, rhs = found.lhs, found.rhs
    assert K.equality(lhs.source, rhs.source) and K.equality(lhs.target, rhs.target)
    assert not K.equality(lhs, rhs)


class Shortcut(Paths):
    """Vertical composition that forgets the middle path: the straight homotopy from the
    first source to the last target."""

    def _vcompose(self, alpha, beta):
        return self.straight(alpha.source, beta.target)


def test_broken_vertical_composition_is_caught():
    K = Shortcut(2)
    report = check(twocell_laws(K), twocell_gens(K), K.equality, max_examples=10, shrink=False)
    assert {"vertical left unit", "vertical right unit"} <= failed_laws(report)


def test_strict_equality_rejects_the_vertical_laws_of_paths():
    """Without the reparametrization equality the vertical laws of Paths fail: the suite
    notices that Paths is not strict."""

    class Strict(Paths):
        def __init__(self, dim):
            super().__init__(dim)
            self.vertical_equality = None

    K = Strict(2)
    report = check(twocell_laws(K), twocell_gens(K), K.equality, max_examples=10, shrink=False)
    assert {"vertical left unit", "vertical right unit", "vertical associativity"} == failed_laws(
        report
    )


# ---------------------------------------------------------------- preservation


def test_functor_that_does_not_preserve_a_pullback_is_caught():
    f = FinSet.morphism([0, 1], ["*"], {0: "*", 1: "*"})
    d = pullback(f, f).limit.diagram  # fibre sizes 2 and 2: 4 pairs vs a 3-dimensional kernel
    report = check(preservation_laws(FREE), {"diagram": st.just(d)})
    assert failed_laws(report) == {"comparison map is iso"}
    assert "'rank': 3" in report.failures[0].reason
    assert isinstance(report.failures[0].example, Diagram)

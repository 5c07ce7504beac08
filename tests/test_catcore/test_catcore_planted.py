"""The planted breaks of the law-suite audit, each caught by catcore's *own* generators
(``catcore.strategies``), each beside its lawful twin that passes.

Breaks: a limit that is a cone but not universal (the true limit minus one element), a
2-category whose horizontal composite is always a unit cell, legs and functor images of
the wrong type, and composition across categories.
"""

from __future__ import annotations

import pytest
import sympy
from catcore_strategies import failed_laws

from catcore import CompositionError, Functor, NaturalTransformation, check, identity_functor
from catcore.colimits import Cocone, Colimit
from catcore.instances import FinSet, FinSetCategory, Paths, Poset, Space, VectQ
from catcore.instances.vect import VectQCategory
from catcore.limits import Cone, Limit
from catcore.strategies.finset import finset_gens, finset_kit
from catcore.strategies.paths import paths_twocell_gens
from catcore.strategies.small import poset_kit
from catcore.strategies.vect import vect_kit
from catcore.suites import (
    category_laws,
    colimit_laws,
    functor_laws,
    limit_laws,
    naturality_laws,
    twocell_laws,
)

# ---------------------------------------------------------------- non-universal limits


class MinusOne(FinSetCategory):
    """The limit with its last element removed: still a cone, no longer universal."""

    name = "FinSet minus one"

    def limit(self, diagram):
        lim = super().limit(diagram)
        kept = list(lim.apex)[:-1]
        apex = self.object(kept)
        legs = {
            n: self.morphism(apex, lim.leg(n).cod, {x: lim.leg(n)(x) for x in kept})
            for n in diagram.nodes
        }
        full = lim.mediate

        def mediate(cone):
            u = full(cone)
            return self.morphism(cone.apex, apex, u.mapping)  # fails when u hits the lost one

        return Limit(diagram, Cone(apex, legs), mediate)


def test_a_limit_that_is_not_universal_is_caught_and_its_twin_passes():
    bad = MinusOne()
    report = check(limit_laws(bad), finset_kit(bad).limit_gens(), max_examples=40)
    assert failed_laws(report) >= {
        "mediating morphism commutes"
    } or "mediating morphism is well typed" in failed_laws(report)
    assert "limit cone commutes" not in failed_laws(report)  # it is a cone
    good = check(limit_laws(FinSet), finset_kit(FinSet).limit_gens(), max_examples=40)
    assert good.ok, good.summary()


class ColimitMinusOne(FinSetCategory):
    """The colimit with one element added that no leg reaches: a cocone, not universal."""

    name = "FinSet plus one"

    def colimit(self, diagram):
        colim = super().colimit(diagram)
        apex = self.object([*colim.apex, "junk"])
        legs = {
            n: self.morphism(colim.leg(n).dom, apex, colim.leg(n).mapping) for n in diagram.nodes
        }

        def mediate(cocone):
            u = colim.mediate(cocone)
            some = next(iter(cocone.apex), None)
            mapping = {**u.mapping, "junk": some} if some is not None else u.mapping
            return self.morphism(apex, cocone.apex, mapping)

        return Colimit(diagram, Cocone(apex, legs), mediate)


def test_a_colimit_with_an_unreached_element_is_caught():
    bad = ColimitMinusOne()
    report = check(colimit_laws(bad), finset_kit(bad).colimit_gens(), max_examples=40)
    assert failed_laws(report) & {
        "mediating morphism is unique",
        "mediating morphism is well typed",
    }
    good = check(colimit_laws(FinSet), finset_kit(FinSet).colimit_gens(), max_examples=40)
    assert good.ok, good.summary()


class VectMissingDirection(VectQCategory):
    """The limit subspace with its last basis vector dropped."""

    name = "Vect_Q missing a direction"

    def limit(self, diagram):
        lim = super().limit(diagram)
        k = lim.apex.dim
        if k == 0:
            return lim
        apex = Space(k - 1)
        legs = {
            n: self.morphism(lim.leg(n).matrix[:, : k - 1], apex, lim.leg(n).cod)
            for n in diagram.nodes
        }

        def mediate(cone):
            u = lim.mediate(cone)
            return self.morphism(u.matrix[: k - 1, :], cone.apex, apex)

        return Limit(diagram, Cone(apex, legs), mediate)


def test_a_vect_limit_missing_a_direction_is_caught():
    bad = VectMissingDirection()
    report = check(limit_laws(bad), vect_kit(bad).limit_gens(), max_examples=40)
    assert "mediating morphism commutes" in failed_laws(report)
    assert "limit cone commutes" not in failed_laws(report)


def test_a_poset_limit_below_the_meet_is_caught():
    class LowBound(Poset):
        def limit(self, diagram):
            low = self.elements[0]  # 1 divides everything: a lower bound, rarely the meet
            legs = {n: self.arrow(low, x) for n, x in diagram.objects.items()}
            return Limit(diagram, Cone(low, legs), lambda cone: self.arrow(cone.apex, low))

    import networkx as nx

    g = nx.DiGraph([(a, b) for a in (1, 2, 3, 6) for b in (1, 2, 3, 6) if a != b and b % a == 0])
    bad = LowBound(g, name="Div(6) with low limits")
    report = check(limit_laws(bad), poset_kit(bad).limit_gens(), max_examples=40)
    assert failed_laws(report) & {"mediating morphism commutes", "mediating morphism is well typed"}


# ---------------------------------------------------------------- constant horizontal composition


class FlatHorizontal(Paths):
    """Horizontal composite always the unit 2-cell on the composite of the sources."""

    def _hcompose(self, alpha, gamma):
        return self.id2(alpha.source >> gamma.source)


def test_constant_horizontal_composition_is_caught_and_paths_pass():
    bad = FlatHorizontal(2, grid_size=9)
    report = check(twocell_laws(bad), paths_twocell_gens(bad), max_examples=8, shrink=False)
    broken = failed_laws(report)
    assert {"horizontal left unit", "horizontal composite ends"} <= broken
    assert not any(law.startswith("vertical") for law in broken)
    good = Paths(2, grid_size=9)
    ok = check(twocell_laws(good), paths_twocell_gens(good), max_examples=8)
    assert ok.ok, ok.summary()


# ---------------------------------------------------------------- ill-typed arrows


class LegsFromElsewhere(FinSetCategory):
    """Right apex, but the legs start at a copy of the apex with one element renamed."""

    name = "FinSet with misplaced legs"

    def limit(self, diagram):
        lim = super().limit(diagram)
        renamed = {x: ("copy", x) for x in lim.apex}
        legs = {
            n: self.morphism(
                renamed.values(), lim.leg(n).cod, {renamed[x]: lim.leg(n)(x) for x in lim.apex}
            )
            for n in diagram.nodes
        }
        return Limit(diagram, Cone(lim.apex, legs), lim.mediate)


def test_ill_typed_legs_are_caught():
    bad = LegsFromElsewhere()
    report = check(limit_laws(bad), finset_kit(bad).limit_gens(), max_examples=25)
    assert "limit legs are well typed" in failed_laws(report)
    reason = next(f.reason for f in report.failures if f.law == "limit legs are well typed")
    assert "leg at node" in reason and "expected" in reason


def test_a_functor_whose_images_have_the_wrong_ends_is_caught():
    """``ob`` adds a point to every set but ``ar`` keeps the arrow: ``F f`` is not
    ``F A -> F B``, although ``F`` preserves composition of arrows."""
    F = Functor(FinSet, FinSet, lambda A: FinSet.object([*A, "new"]), lambda f: f, name="F")
    report = check(functor_laws(F), finset_gens(FinSet), max_examples=15)
    assert {"arrow images are well typed", "identity image is well typed"} <= failed_laws(report)
    assert "functor preserves composition" not in failed_laws(report)


def test_components_of_the_wrong_type_are_caught():
    ident = identity_functor(FinSet)
    wrong = NaturalTransformation(
        ident, ident, lambda A: FinSet.identity(FinSet.object([*A, "x"])), name="wrong"
    )
    report = check(naturality_laws(wrong), finset_gens(FinSet), max_examples=10)
    assert "components are well typed" in failed_laws(report)


def test_arrows_of_a_subclass_made_by_the_parent_are_not_arrows_of_the_subclass():
    class Child(FinSetCategory):
        name = "Child"

        def _compose(self, f, g):  # composes with the parent instance: the wrong category
            return FinSet.compose(
                f.__class__(f.dom, f.cod, f.mapping, FinSet),
                g.__class__(g.dom, g.cod, g.mapping, FinSet),
            )

    C = Child()
    report = check(category_laws(C), finset_gens(C), max_examples=10)
    assert "composites are well typed" in failed_laws(report)
    assert any("is an arrow of FinSet, not of Child" in f.reason for f in report.failures)


# ---------------------------------------------------------------- composition across categories


def test_composition_across_categories_names_both():
    f = FinSet.morphism([1], [2], {1: 2})
    g = VectQ.morphism(sympy.Matrix([[1]]))
    with pytest.raises(CompositionError, match=r"in FinSet: arrow 2 of 2 .* belongs to Vect_Q"):
        f >> g
    with pytest.raises(CompositionError, match=r"in Vect_Q: arrow 2 of 2 .* belongs to FinSet"):
        g >> f


def test_functor_and_natural_transformation_composites_check_their_ends():
    F, G = identity_functor(FinSet), identity_functor(VectQ)
    with pytest.raises(CompositionError, match="lands in"):
        F >> G
    alpha = NaturalTransformation(F, F, FinSet.identity)
    other = identity_functor(FinSet)  # equal maps, but another functor object
    beta = NaturalTransformation(other, other, FinSet.identity)
    with pytest.raises(CompositionError, match="ends at functor"):
        alpha.then(beta)

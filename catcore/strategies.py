"""Hypothesis strategies for the built-in instances, and their law checks as a catalogue.

:func:`builtin_checks` lists, for every built-in category, each rule set that applies with
the generators and equality it needs; ``catcore laws`` and ``catcore reproduce`` run them.
Users can reuse the strategies when they build on the instances (``docs/catcore.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import sympy
from hypothesis import strategies as st

from catcore.category import Category
from catcore.equality import Equality
from catcore.instances import FinSet, FreeCategory, Paths, Poset, VectQ, VectR
from catcore.instances.vect import Space, _VectBase
from catcore.laws import Report, RuleSet, check
from catcore.limits import Cone, Diagram
from catcore.suites import category_gens, category_laws, limit_laws, twocell_laws

# ----------------------------------------------------------------------------- FinSet

finsets = st.integers(0, 3).map(lambda n: FinSet.object(range(n)))


def finset_hom(a: Any, b: Any) -> st.SearchStrategy:
    """All functions ``a -> b`` (nothing when ``a`` is non-empty and ``b`` empty)."""
    a, b = list(a), list(b)
    if a and not b:
        return st.nothing()
    values = st.lists(st.sampled_from(b), min_size=len(a), max_size=len(a)) if a else st.just([])
    return values.map(lambda vs: FinSet.morphism(a, b, dict(zip(a, vs))))


def finset_nonempty_hom(a: Any, b: Any) -> st.SearchStrategy:
    return finset_hom(a, b)


# ----------------------------------------------------------------------------- Vect

rationals = st.fractions(min_value=-3, max_value=3, max_denominator=4).map(sympy.Rational)
dims = st.integers(0, 3).map(Space)


def vectq_hom(a: Space, b: Space) -> st.SearchStrategy:
    cells = st.lists(rationals, min_size=a.dim * b.dim, max_size=a.dim * b.dim)
    return cells.map(lambda xs: VectQ.morphism(sympy.Matrix(b.dim, a.dim, xs), a, b))


def vectr_hom(a: Space, b: Space) -> st.SearchStrategy:
    floats = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
    cells = st.lists(floats, min_size=a.dim * b.dim, max_size=a.dim * b.dim)
    return cells.map(lambda xs: VectR.morphism(np.array(xs).reshape(b.dim, a.dim), a, b))


# ----------------------------------------------------------------------------- limits


def cospans(objects: st.SearchStrategy, hom: Callable) -> st.SearchStrategy:
    """Diagrams ``A -> C <- B``."""

    def build(abc: tuple) -> st.SearchStrategy:
        a, b, c = abc
        return st.tuples(hom(a, c), hom(b, c)).map(
            lambda fg: Diagram.of(
                fg[0].category, {"A": a, "B": b, "C": c}, {("A", "C"): fg[0], ("B", "C"): fg[1]}
            )
        )

    return st.tuples(objects, objects, objects).flatmap(build)


def parallel_pairs(objects: st.SearchStrategy, hom: Callable) -> st.SearchStrategy:
    """Diagrams ``A => B`` (equalizer shape)."""

    def build(ab: tuple) -> st.SearchStrategy:
        a, b = ab
        return st.tuples(hom(a, b), hom(a, b)).map(
            lambda fg: Diagram.of(
                fg[0].category, {"A": a, "B": b}, {("A", "B", 0): fg[0], ("A", "B", 1): fg[1]}
            )
        )

    return st.tuples(objects, objects).flatmap(build)


def cones_over(
    category: Category, diagrams: st.SearchStrategy, objects: st.SearchStrategy, hom: Callable
) -> st.SearchStrategy:
    """``(diagram, cone)``: a cone obtained by factoring any arrow into the limit apex, so
    it is a cone by construction whatever the limit algorithm does with it."""

    def build(d: Diagram) -> st.SearchStrategy:
        L = category.limit(d)
        return objects.flatmap(lambda x: hom(x, L.apex)).map(
            lambda m: (d, Cone(m.dom, {n: m >> L.leg(n) for n in d.nodes}))
        )

    return diagrams.flatmap(build)


def with_candidates(
    category: Category, pairs: st.SearchStrategy, hom: Callable, extra: int = 4
) -> st.SearchStrategy:
    """``(diagram, cone, candidates)``: the mediating arrow plus random arrows of its type."""

    def build(dc: tuple) -> st.SearchStrategy:
        d, cone = dc
        L = category.limit(d)
        u = L.universal(cone)
        return st.lists(hom(cone.apex, L.apex), max_size=extra).map(lambda ms: (d, cone, [u, *ms]))

    return pairs.flatmap(build)


def limit_gens(category: Category, objects: st.SearchStrategy, hom: Callable) -> dict:
    diagrams = st.one_of(cospans(objects, hom), parallel_pairs(objects, hom))
    cones = cones_over(category, diagrams, objects, hom)
    return {"diagram": diagrams, "cone": cones, "candidates": with_candidates(category, cones, hom)}


# ----------------------------------------------------------------------------- posets, free, paths

divisors12 = Poset.divisibility(12)


def poset_arrows_from(a: int) -> st.SearchStrategy:
    return st.sampled_from([b for b in divisors12.elements if divisors12.leq(a, b)]).map(
        lambda b: divisors12.arrow(a, b)
    )


def poset_hom(a: int, b: int) -> st.SearchStrategy:
    return st.just(divisors12.arrow(a, b)) if divisors12.leq(a, b) else st.nothing()


def _cycle_graph() -> FreeCategory:
    g = nx.MultiDiGraph([(0, 1), (1, 2), (2, 0), (0, 0), (1, 2)])
    return FreeCategory(g, name="Free(3-cycle with loop)")


free3 = _cycle_graph()


def free_arrows_from(a: Any) -> st.SearchStrategy:
    def walk(steps: list[int]) -> Any:
        path, at = [], a
        for s in steps:
            out = list(free3.graph.out_edges(at, keys=True))
            e = out[s % len(out)]
            path.append(e)
            at = e[1]
        return free3.path(path) if path else free3.identity(a)

    return st.lists(st.integers(0, 5), max_size=4).map(walk)


plane = Paths(2, atol=1e-9, grid_size=9)
_coords = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
points2 = st.tuples(_coords, _coords).map(np.array)


def plane_hom(a: np.ndarray, b: np.ndarray) -> st.SearchStrategy:
    """Piecewise-linear paths ``a -> b`` with up to two bends and durations in [0.5, 2]."""
    bends = st.lists(points2, max_size=2)
    return st.tuples(bends, st.floats(0.5, 2.0)).map(
        lambda bd: plane.through([a, *bd[0], b], np.linspace(0, bd[1], len(bd[0]) + 2))
    )


def plane_cells(n: int) -> st.SearchStrategy:
    """``n`` vertically composable straight homotopies between paths with common ends."""

    def build(ab: tuple) -> st.SearchStrategy:
        return st.lists(plane_hom(*ab), min_size=n + 1, max_size=n + 1).map(
            lambda ps: tuple(plane.straight(ps[i], ps[i + 1]) for i in range(n))
        )

    return st.tuples(points2, points2).flatmap(build)


def plane_interchange() -> st.SearchStrategy:
    def build(abc: tuple) -> st.SearchStrategy:
        a, b, c = abc
        first = st.lists(plane_hom(a, b), min_size=3, max_size=3)
        second = st.lists(plane_hom(b, c), min_size=3, max_size=3)
        return st.tuples(first, second).map(
            lambda pq: (
                plane.straight(pq[0][0], pq[0][1]),
                plane.straight(pq[0][1], pq[0][2]),
                plane.straight(pq[1][0], pq[1][1]),
                plane.straight(pq[1][1], pq[1][2]),
            )
        )

    return st.tuples(points2, points2, points2).flatmap(build)


# ----------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class BuiltinCheck:
    """One rule set on one built-in instance, ready to run."""

    instance: str
    ruleset: RuleSet
    gens: dict[str, st.SearchStrategy]
    eq: Equality

    def run(self, max_examples: int | None = None) -> Report:
        return check(self.ruleset, self.gens, self.eq, max_examples)


def _vect_checks(V: _VectBase, hom: Callable) -> list[BuiltinCheck]:
    gens = category_gens(dims, hom=hom)
    return [
        BuiltinCheck(V.name, category_laws(V), gens, V.equality),
        BuiltinCheck(V.name, limit_laws(V), limit_gens(V, dims, hom), V.equality),
    ]


def builtin_checks() -> list[BuiltinCheck]:
    """Every applicable law suite on every built-in instance."""
    poset_objects = st.sampled_from(divisors12.elements)
    cells = {
        "cell": plane_cells(1).map(lambda c: c[0]),
        "vchain3": plane_cells(3),
        "interchange": plane_interchange(),
    }
    return [
        BuiltinCheck(
            "FinSet", category_laws(FinSet), category_gens(finsets, hom=finset_hom), FinSet.equality
        ),
        BuiltinCheck(
            "FinSet", limit_laws(FinSet), limit_gens(FinSet, finsets, finset_hom), FinSet.equality
        ),
        *_vect_checks(VectQ, vectq_hom),
        *_vect_checks(VectR, vectr_hom),
        BuiltinCheck(
            free3.name,
            category_laws(free3),
            category_gens(st.sampled_from([0, 1, 2]), arrows_from=free_arrows_from),
            free3.equality,
        ),
        BuiltinCheck(
            divisors12.name,
            category_laws(divisors12),
            category_gens(poset_objects, arrows_from=poset_arrows_from),
            divisors12.equality,
        ),
        BuiltinCheck(
            divisors12.name,
            limit_laws(divisors12),
            limit_gens(divisors12, poset_objects, poset_hom),
            divisors12.equality,
        ),
        BuiltinCheck(
            plane.name,
            twocell_laws(plane),
            {**category_gens(points2, hom=plane_hom), **cells},
            plane.equality,
        ),
    ]

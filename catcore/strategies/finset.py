"""Strategies for FinSet and its subclasses; (co)cones by brute force
(``docs/catcore.md``, "Law suites").

Every generator takes the category as a parameter, so a deliberately broken subclass of
:class:`~catcore.instances.FinSetCategory` is exercised by the same strategies as the
built-in instance. Cones are built from *compatible families* (one element per node that
every edge respects), enumerated over the whole product of the diagram's objects; cocones
by enumerating every assignment of the disjoint union to a small apex. Neither looks at
the (co)limit algorithm.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator
from typing import Any

from hypothesis import strategies as st

from catcore.diagram import Diagram
from catcore.instances.finset import FinFunction, FinSet, FinSetCategory
from catcore.limits import Cone
from catcore.strategies.generic import (
    Kit,
    enumerated_cocones,
    named_shapes,
    on_shape,
)
from catcore.suites.basic import category_gens

Strategy = st.SearchStrategy


def finsets(C: FinSetCategory = FinSet, min_size: int = 0, max_size: int = 3) -> Strategy:
    """Finite sets of small integers (sizes ``min_size..max_size``)."""
    return st.lists(st.integers(0, 5), unique=True, min_size=min_size, max_size=max_size).map(
        C.object
    )


def functions(A: Any, B: Any, C: FinSetCategory = FinSet) -> Strategy:
    """Total functions ``A -> B`` (nothing when ``A`` is non-empty and ``B`` empty)."""
    dom, cod = list(A), list(B)
    if dom and not cod:
        return st.nothing()
    values = st.tuples(*[st.sampled_from(cod) for _ in dom])
    return values.map(lambda vs: C.morphism(dom, cod, dict(zip(dom, vs))))


def all_functions(A: Any, B: Any, C: FinSetCategory = FinSet) -> list[FinFunction]:
    """Every function ``A -> B``, listed."""
    dom, cod = list(A), list(B)
    images = itertools.product(cod, repeat=len(dom))
    return [C.morphism(dom, cod, dict(zip(dom, vs))) for vs in images]


def finset_gens(C: FinSetCategory = FinSet, max_size: int = 3) -> dict[str, Strategy]:
    """Kinds ``object``, ``arrow``, ``chain2``, ``chain3`` for the category suite."""

    def arrows_from(A: Any) -> Strategy:
        return finsets(C, min_size=1 if len(A) else 0, max_size=max_size).flatmap(
            lambda B: functions(A, B, C)
        )

    return category_gens(finsets(C, max_size=max_size), arrows_from=arrows_from)


def finset_diagrams(C: FinSetCategory = FinSet, max_size: int = 3, shapes: Any = None) -> Strategy:
    """Products, pullbacks, pushout spans, equalizers and random shapes of small sets."""
    return (shapes or named_shapes()).flatmap(
        lambda shape: on_shape(
            C, shape, lambda _: finsets(C, max_size=max_size), lambda a, b: functions(a, b, C)
        )
    )


def compatible_families(d: Diagram) -> Iterator[dict[Hashable, Hashable]]:
    """Brute force: every choice of one element per node that every edge respects."""
    nodes = d.nodes
    for combo in itertools.product(*(list(d.objects[n]) for n in nodes)):
        x = dict(zip(nodes, combo))
        if all(d.arrows[(u, v, k)](x[u]) == x[v] for u, v, k in d.edges):
            yield x


def finset_cones(d: Diagram, max_apex: int = 3) -> Strategy:
    """Cones over ``d``: each of up to ``max_apex`` apex elements picks a compatible family."""
    C = d.category
    families = list(compatible_families(d))

    @st.composite
    def build(draw: Any) -> Cone:
        k = draw(st.integers(0, max_apex if families else 0))
        apex = [f"x{i}" for i in range(k)]
        picks = [draw(st.sampled_from(families)) for _ in apex]
        legs = {
            n: C.morphism(apex, d.objects[n], {x: p[n] for x, p in zip(apex, picks)})
            for n in d.nodes
        }
        return Cone(C.object(apex), legs)

    return build()


def finset_cocones(d: Diagram, max_apex: int = 2) -> Strategy:
    """Cocones under ``d`` into apexes of up to ``max_apex`` elements, enumerated."""
    C = d.category
    apexes = [C.object([f"y{i}" for i in range(k)]) for k in range(max_apex + 1)]
    found = list(enumerated_cocones(d, apexes, lambda a, b: all_functions(a, b, C)))
    return st.sampled_from(found) if found else st.nothing()


def perturbations(u: FinFunction, _limit: Any = None) -> Strategy:
    """Every function that differs from ``u`` at exactly one element."""
    C = u.category
    out = []
    for x in u.dom:
        for y in u.cod:
            if y != u(x):
                out.append(C.morphism(u.dom, u.cod, {**u.mapping, x: y}))
    return st.just(out)


def finset_kit(C: FinSetCategory = FinSet, max_size: int = 2) -> Kit:
    """Brute-force cones and cocones for ``C`` (objects of at most ``max_size`` elements
    keep the cocone enumeration small)."""

    def shaped(shape: tuple) -> Strategy:
        return on_shape(
            C, shape, lambda _: finsets(C, max_size=max_size), lambda a, b: functions(a, b, C)
        )

    return Kit(
        C,
        finset_diagrams(C, max_size=max_size),
        finset_cones,
        finset_cocones,
        perturbations,
        perturbations,
        shaped,
    )


__all__ = [
    "all_functions",
    "compatible_families",
    "finset_cocones",
    "finset_cones",
    "finset_diagrams",
    "finset_gens",
    "finset_kit",
    "finsets",
    "functions",
    "perturbations",
]

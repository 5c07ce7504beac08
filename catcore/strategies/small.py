"""Strategies for the small exact instances: posets, free categories, Rel and Mat(S)
(``docs/catcore.md``, "Law suites").

Poset cones are the common lower bounds of a diagram's objects, found by scanning every
element (cocones: the common upper bounds), independently of the meet and join algorithms.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

from hypothesis import strategies as st

from catcore.colimits import Cocone
from catcore.diagram import Diagram
from catcore.instances.finset import FinSetObject
from catcore.instances.free import FreeCategory
from catcore.instances.mat import BOOLEAN, TROPICAL, Mat, Semiring
from catcore.instances.poset import Poset
from catcore.instances.rel import RelCategory
from catcore.limits import Cone
from catcore.strategies.generic import Kit
from catcore.suites.basic import category_gens

Strategy = st.SearchStrategy


# ------------------------------------------------------------------ posets


def poset_arrows_from(P: Poset) -> Any:
    return lambda a: st.sampled_from([b for b in P.elements if P.leq(a, b)]).map(
        lambda b: P.arrow(a, b)
    )


def poset_hom(P: Poset) -> Any:
    return lambda a, b: st.just(P.arrow(a, b)) if P.leq(a, b) else st.nothing()


def poset_gens(P: Poset) -> dict[str, Strategy]:
    return category_gens(st.sampled_from(P.elements), arrows_from=poset_arrows_from(P))


@st.composite
def poset_diagrams(draw: Any, P: Poset, max_nodes: int = 4) -> Diagram:
    """Random objects, with a random subset of the arrows that exist between them."""
    n = draw(st.integers(0, max_nodes))
    objects = {i: draw(st.sampled_from(P.elements)) for i in range(n)}
    arrows = {}
    for u, v in itertools.product(range(n), repeat=2):
        if P.leq(objects[u], objects[v]) and draw(st.booleans()):
            arrows[(u, v)] = P.arrow(objects[u], objects[v])
    return Diagram.of(P, objects, arrows)


def poset_cones(d: Diagram) -> Strategy:
    """Cones at every common lower bound (found by scanning all elements)."""
    P = d.category
    lower = [z for z in P.elements if all(P.leq(z, x) for x in d.objects.values())]
    if not lower:
        return st.nothing()
    return st.sampled_from(lower).map(
        lambda z: Cone(z, {n: P.arrow(z, x) for n, x in d.objects.items()})
    )


def poset_cocones(d: Diagram) -> Strategy:
    """Cocones at every common upper bound."""
    P = d.category
    upper = [z for z in P.elements if all(P.leq(x, z) for x in d.objects.values())]
    if not upper:
        return st.nothing()
    return st.sampled_from(upper).map(
        lambda z: Cocone(z, {n: P.arrow(x, z) for n, x in d.objects.items()})
    )


def no_perturbations(u: Any, _limit: Any = None) -> Strategy:
    """Hom-sets with at most one arrow: nothing else to try."""
    return st.just([])


def poset_kit(P: Poset) -> Kit:
    """Cones at lower bounds and cocones at upper bounds, for ``P``."""
    return Kit(P, poset_diagrams(P), poset_cones, poset_cocones, no_perturbations, no_perturbations)


# ------------------------------------------------------------------ free categories


def free_arrows_from(F: FreeCategory, max_length: int = 3) -> Any:
    """Random walks of up to ``max_length`` edges (the empty walk is the identity)."""

    @st.composite
    def walk(draw: Any, start: Hashable) -> Any:
        at, edges = start, []
        for _ in range(draw(st.integers(0, max_length))):
            out = list(F.graph.out_edges(at, keys=True))
            if not out:
                break
            e = draw(st.sampled_from(out))
            edges.append(e)
            at = e[1]
        return F.path(edges) if edges else F.identity(start)

    return walk


def free_gens(F: FreeCategory) -> dict[str, Strategy]:
    return category_gens(st.sampled_from(list(F.graph.nodes)), arrows_from=free_arrows_from(F))


# ------------------------------------------------------------------ Rel and Mat(S)


def small_sets(max_size: int = 3) -> Strategy:
    return st.lists(st.integers(0, 4), unique=True, max_size=max_size).map(FinSetObject)


def relations(R: RelCategory) -> Any:
    """``hom(A, B)``: every subset of ``A x B`` can be drawn."""

    def hom(A: Any, B: Any) -> Strategy:
        pairs = sorted(itertools.product(A, B), key=repr)
        subsets = st.sets(st.sampled_from(pairs)) if pairs else st.just(set())
        return subsets.map(lambda ps: R.relation(A, B, ps))

    return hom


def rel_gens(R: RelCategory) -> dict[str, Strategy]:
    return category_gens(small_sets(), hom=relations(R))


def mat_hom(M: Mat, elements: Strategy) -> Any:
    """``hom(m, n)``: ``n x m`` matrices with entries from ``elements``."""

    def hom(m: int, n: int) -> Strategy:
        rows = st.lists(st.lists(elements, min_size=m, max_size=m), min_size=n, max_size=n)
        return rows.map(lambda rs: M.matrix(rs, dom=m))

    return hom


def mat_gens(M: Mat, elements: Strategy, max_dim: int = 3) -> dict[str, Strategy]:
    return category_gens(st.integers(0, max_dim), hom=mat_hom(M, elements))


def semiring_elements(S: Semiring) -> Strategy:
    """Elements of a built-in semiring: booleans for :data:`BOOLEAN`; small integers and
    ``inf`` for :data:`TROPICAL`."""
    if S is BOOLEAN:
        return st.booleans()
    if S is TROPICAL:
        return st.one_of(st.integers(-5, 5), st.just(S.zero))
    raise ValueError(f"no element strategy for {S.name}: pass one to mat_gens")

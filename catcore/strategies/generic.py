"""Generators for the 2-cell and (co)limit suites, for any category
(``docs/catcore.md``, "Law suites").

:func:`twocell_gens` builds every kind :func:`~catcore.suites.twocell_laws` needs from a
strategy of objects, one of arrows between two objects and one of 2-cells between two
parallel arrows. :func:`limit_gens` and :func:`colimit_gens` assemble the kinds of the
(co)limit suites from diagrams, (co)cones built *independently* of the algorithm under
test, and perturbations of a mediating morphism (for uniqueness).
:func:`enumerated_cones` and :func:`enumerated_cocones` are that independent method for a
category whose hom-sets can be listed: every (co)cone into (out of) the given apexes, by
brute force.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from catcore.category import Category, Morphism
from catcore.colimits import Cocone
from catcore.diagram import Diagram
from catcore.limits import Cone
from catcore.suites.basic import category_gens

Strategy = st.SearchStrategy
HomStrategy = Callable[[Any, Any], Strategy]
#: ``perturb(u, L)``: a strategy of lists of arrows parallel to ``u``, which mediates into
#: (or out of) the computed (co)limit ``L``.
Perturb = Callable[[Morphism, Any], Strategy]


def twocell_gens(
    K: Any,
    objects: Strategy,
    hom: HomStrategy,
    cells: Callable[[Morphism, Morphism], Strategy],
) -> dict[str, Strategy]:
    """Kinds for :func:`catcore.suites.twocell_laws`: ``object``, ``arrow``, ``chain2``,
    ``chain3``, ``cell``, ``vchain3``, ``hchain3`` and ``interchange``.

    ``hom(a, b)`` draws arrows ``a -> b`` and ``cells(f, g)`` draws 2-cells ``f => g``.
    """

    def parallel(n: int, a: Any, b: Any) -> Strategy:
        return st.tuples(*[hom(a, b) for _ in range(n)])

    def vertical(n: int, a: Any, b: Any) -> Strategy:
        """``n`` vertically composable 2-cells ``a -> b``."""
        return parallel(n + 1, a, b).flatmap(
            lambda fs: st.tuples(*[cells(fs[i], fs[i + 1]) for i in range(n)])
        )

    def pairs(n: int) -> Strategy:
        return st.tuples(*[objects for _ in range(n)])

    cell = pairs(2).flatmap(lambda ab: vertical(1, *ab)).map(lambda c: c[0])
    vchain3 = pairs(2).flatmap(lambda ab: vertical(3, *ab))
    hchain3 = (
        pairs(4)
        .flatmap(lambda obs: st.tuples(*[vertical(1, obs[i], obs[i + 1]) for i in range(3)]))
        .map(lambda cs: tuple(c[0] for c in cs))
    )
    interchange = (
        pairs(3)
        .flatmap(lambda abc: st.tuples(vertical(2, abc[0], abc[1]), vertical(2, abc[1], abc[2])))
        .map(lambda two: (*two[0], *two[1]))
    )
    return {
        **category_gens(objects, hom=hom),
        "cell": cell,
        "vchain3": vchain3,
        "hchain3": hchain3,
        "interchange": interchange,
    }


def enumerated_cones(
    d: Diagram, apexes: Iterable[Any], hom_all: Callable[[Any, Any], list], limit: int = 20000
) -> Iterator[Cone]:
    """Every cone over ``d`` with apex in ``apexes``, by brute force over the hom-sets
    listed by ``hom_all(a, b)`` (at most ``limit`` candidate families per apex)."""
    for apex in apexes:
        choices = [hom_all(apex, d.objects[n]) for n in d.nodes]
        for legs in itertools.islice(itertools.product(*choices), limit):
            cone = Cone(apex, dict(zip(d.nodes, legs)))
            if not cone.failures(d):
                yield cone


def enumerated_cocones(
    d: Diagram, apexes: Iterable[Any], hom_all: Callable[[Any, Any], list], limit: int = 20000
) -> Iterator[Cocone]:
    """Every cocone under ``d`` with apex in ``apexes``, by brute force (see
    :func:`enumerated_cones`)."""
    for apex in apexes:
        choices = [hom_all(d.objects[n], apex) for n in d.nodes]
        for legs in itertools.islice(itertools.product(*choices), limit):
            cocone = Cocone(apex, dict(zip(d.nodes, legs)))
            if not cocone.failures(d):
                yield cocone


def _with_candidates(
    compute: Callable[[Diagram], Any], given: Strategy, perturb: Perturb
) -> Strategy:
    """``(diagram, (co)cone, [u, *perturbations of u])``; when the algorithm has no
    mediating morphism at all the list is empty (the "commutes" law reports that)."""

    @st.composite
    def build(draw: Any) -> tuple:
        d, family = draw(given)
        try:
            L = compute(d)
            u = L.mediate(family)
        except Exception:  # noqa: BLE001 - reported by the mediating-morphism laws
            return d, family, []
        return d, family, [u, *draw(perturb(u, L))]

    return build()


def limit_gens(
    C: Category,
    diagrams: Strategy,
    cones: Callable[[Diagram], Strategy],
    perturb: Perturb,
) -> dict[str, Strategy]:
    """Kinds ``diagram``, ``cone`` and ``candidates`` for :func:`~catcore.suites.limit_laws`.

    ``cones(d)`` draws cones over ``d`` built without ``C.limit`` (brute force, a second
    implementation); ``perturb(u, L)`` draws a list of arrows parallel to ``u``, the
    mediating morphism into the computed limit ``L`` (for uniqueness: any of them that
    commutes with the legs must equal ``u``).
    """
    pairs = diagrams.flatmap(lambda d: cones(d).map(lambda c: (d, c)))
    return {
        "diagram": diagrams,
        "cone": pairs,
        "candidates": _with_candidates(C.limit, pairs, perturb),
    }


def colimit_gens(
    C: Category,
    diagrams: Strategy,
    cocones: Callable[[Diagram], Strategy],
    perturb: Perturb,
) -> dict[str, Strategy]:
    """Kinds ``diagram``, ``cocone`` and ``cocandidates`` for
    :func:`~catcore.suites.colimit_laws` (the dual of :func:`limit_gens`)."""
    pairs = diagrams.flatmap(lambda d: cocones(d).map(lambda c: (d, c)))
    return {
        "diagram": diagrams,
        "cocone": pairs,
        "cocandidates": _with_candidates(C.colimit, pairs, perturb),
    }


@st.composite
def shapes(draw: Any, max_nodes: int = 3, max_edges: int = 3, edges: bool = True) -> Any:
    """Small finite shapes: ``(nodes, [(u, v), ...])`` with loops and parallel edges."""
    n = draw(st.integers(0, max_nodes))
    if not edges or n == 0:
        return list(range(n)), []
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    return list(range(n)), draw(st.lists(pair, max_size=max_edges))


def named_shapes(max_nodes: int = 3, max_edges: int = 3) -> Strategy:
    """Products, cospans, spans, parallel pairs and random shapes, as ``(nodes, edges)``."""
    fixed = st.sampled_from(
        [
            (["A", "B", "C"], [("A", "C"), ("B", "C")]),
            (["A", "B", "C"], [("A", "B"), ("A", "C")]),
            (["A", "B"], [("A", "B"), ("A", "B")]),
            ([0, 1], []),
        ]
    )
    return st.one_of(fixed, shapes(max_nodes, max_edges))


def on_shape(
    category: Category,
    shape: tuple[list, list],
    objects: Callable[[Any], Strategy],
    hom: HomStrategy,
) -> Strategy:
    """A diagram of ``shape`` whose objects come from ``objects(node)`` and arrows from
    ``hom``; edges whose hom-set is empty are dropped (``hom`` returns ``st.nothing()``)."""
    nodes, edges = shape

    @st.composite
    def build(draw: Any) -> Diagram:
        obs = {n: draw(objects(n)) for n in nodes}
        arrows = {}
        for k, (u, v) in enumerate(edges):
            options = hom(obs[u], obs[v])
            if options.is_empty:
                continue
            arrows[(u, v, k)] = draw(options)
        return Diagram.of(category, obs, arrows)

    return build()


@dataclass(frozen=True)
class Kit:
    """What the (co)limit suites need of one category, each part built without its
    (co)limit algorithms: diagrams, cones and cocones over a diagram, and perturbations of
    a mediating morphism. ``on_shape(shape)`` draws diagrams of a given shape (product
    categories need both factors on one shape)."""

    category: Category
    diagrams: Strategy
    cones: Callable[[Diagram], Strategy] | None = None
    cocones: Callable[[Diagram], Strategy] | None = None
    perturb: Perturb | None = None
    coperturb: Perturb | None = None
    on_shape: Callable[[tuple], Strategy] | None = None

    def limit_gens(self) -> dict[str, Strategy]:
        return limit_gens(self.category, self.diagrams, self.cones, self.perturb)

    def colimit_gens(self) -> dict[str, Strategy]:
        return colimit_gens(self.category, self.diagrams, self.cocones, self.coperturb)

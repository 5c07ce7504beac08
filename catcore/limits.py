"""Diagrams, cones and limits (``docs/catcore.md``, "Limits").

Limits are split three ways: the limit *object* (:class:`Limit`: apex and legs), the
*algorithm* that computes it (``category.limit(diagram)``), and :meth:`Limit.universal`,
which refuses a family that is not a cone and returns the mediating morphism after
checking that it commutes. :func:`pullback`, :func:`product` and :func:`equalizer` wrap the
general construction with the familiar signatures; :func:`preservation` is the
limit-preservation probe: the comparison map ``F(lim D) -> lim(F . D)`` and a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from catcore.category import Category, Morphism
from catcore.equality import Equality
from catcore.errors import LimitError, MorphismError, NotAConeError
from catcore.functor import Functor

Edge = tuple[Hashable, Hashable, int]


@dataclass(frozen=True)
class Diagram:
    """A functor from a finite shape (a networkx multigraph) into ``category``.

    ``objects[node]`` is an object and ``arrows[(u, v, k)]`` a morphism
    ``objects[u] -> objects[v]``. Composites in the shape are free: a cone must commute
    with every edge, which then makes it commute with every path.
    """

    category: Category
    shape: nx.MultiDiGraph
    objects: Mapping[Hashable, Any]
    arrows: Mapping[Edge, Morphism]

    def __post_init__(self) -> None:
        missing = [n for n in self.shape.nodes if n not in self.objects]
        if missing:
            raise MorphismError(f"diagram has no object at shape nodes {missing}")
        for u, v, k in self.shape.edges(keys=True):
            f = self.arrows.get((u, v, k))
            if f is None:
                raise MorphismError(f"diagram has no arrow on shape edge {(u, v, k)}")
            same = self.category.same_object
            if not (same(f.dom, self.objects[u]) and same(f.cod, self.objects[v])):
                raise MorphismError(
                    f"arrow on edge {u}->{v} goes {f.dom!r} -> {f.cod!r}, "
                    f"but the diagram has {self.objects[u]!r} -> {self.objects[v]!r}"
                )

    @classmethod
    def of(
        cls,
        category: Category,
        objects: Mapping[Hashable, Any],
        arrows: Mapping[tuple, Morphism] | None = None,
    ) -> Diagram:
        """Build from ``{node: object}`` and ``{(u, v) or (u, v, k): morphism}``."""
        shape = nx.MultiDiGraph()
        shape.add_nodes_from(objects)
        keyed: dict[Edge, Morphism] = {}
        for edge, f in (arrows or {}).items():
            u, v, *rest = edge
            k = shape.add_edge(u, v, key=rest[0] if rest else None)
            keyed[(u, v, k)] = f
        return cls(category, shape, dict(objects), keyed)

    @property
    def nodes(self) -> list[Hashable]:
        return list(self.shape.nodes)

    def __repr__(self) -> str:
        arrows = ", ".join(f"{u!r}->{v!r}: {self.arrows[(u, v, k)]!r}" for u, v, k in self.edges)
        return f"Diagram({self.category}, objects={dict(self.objects)!r}, arrows={{{arrows}}})"

    @property
    def edges(self) -> list[Edge]:
        return list(self.shape.edges(keys=True))

    def image(self, functor: Functor) -> Diagram:
        """The composite diagram ``F . D`` in ``functor.cod``."""
        return Diagram(
            functor.cod,
            self.shape,
            {n: functor.ob(x) for n, x in self.objects.items()},
            {e: functor.ar(f) for e, f in self.arrows.items()},
        )


@dataclass(frozen=True)
class Cone:
    """An apex with a leg ``apex -> D(i)`` for every node ``i`` of the diagram."""

    apex: Any
    legs: Mapping[Hashable, Morphism]

    def failures(self, diagram: Diagram, eq: Equality | None = None) -> list[str]:
        """Reasons this is not a cone over ``diagram`` (empty when it is one)."""
        eq = eq or diagram.category.equality
        out = []
        for n in diagram.nodes:
            leg = self.legs.get(n)
            if leg is None:
                out.append(f"no leg to node {n!r}")
            elif not (
                diagram.category.same_object(leg.dom, self.apex)
                and diagram.category.same_object(leg.cod, diagram.objects[n])
            ):
                out.append(f"leg to {n!r} goes {leg.dom!r} -> {leg.cod!r}")
        if out:
            return out
        for u, v, k in diagram.edges:
            lhs = diagram.category.compose(self.legs[u], diagram.arrows[(u, v, k)])
            rhs = self.legs[v]
            if not eq(lhs, rhs):
                out.append(f"square on edge {u}->{v} does not commute: {eq.explain(lhs, rhs)}")
        return out


@dataclass(frozen=True)
class Limit:
    """A limit of ``diagram``: a cone with the universal property.

    ``mediate(cone)`` is the algorithm's mediating morphism; :meth:`universal` wraps it with
    the checks: a non-cone is refused (:class:`NotAConeError`) and a mediating morphism that
    does not commute raises :class:`LimitError`.
    """

    diagram: Diagram
    cone: Cone
    mediate: Callable[[Cone], Morphism] = field(repr=False)

    @property
    def apex(self) -> Any:
        return self.cone.apex

    def leg(self, node: Hashable) -> Morphism:
        return self.cone.legs[node]

    def universal(self, cone: Cone) -> Morphism:
        """The unique ``u: cone.apex -> apex`` with ``u ; leg(i) == cone.legs[i]`` for all i."""
        problems = cone.failures(self.diagram)
        if problems:
            raise NotAConeError("not a cone over the diagram: " + "; ".join(problems))
        u = self.mediate(cone)
        C = self.diagram.category
        for n in self.diagram.nodes:
            if not C.equality(C.compose(u, self.leg(n)), cone.legs[n]):
                why = C.equality.explain(C.compose(u, self.leg(n)), cone.legs[n])
                raise LimitError(f"mediating morphism does not commute at {n!r}: {why}")
        return u


@dataclass(frozen=True)
class Pullback:
    """The pullback of a cospan ``f: A -> C <- B :g``; ``legs = (p1, p2)``."""

    f: Morphism
    g: Morphism
    limit: Limit

    @property
    def apex(self) -> Any:
        return self.limit.apex

    @property
    def legs(self) -> tuple[Morphism, Morphism]:
        return self.limit.leg("A"), self.limit.leg("B")

    def universal(self, q1: Morphism, q2: Morphism) -> Morphism:
        """Mediating ``u`` with ``u ; p1 = q1`` and ``u ; p2 = q2``; needs ``q1;f == q2;g``."""
        _meets(q1, self.f, "q1")
        cone = Cone(q1.dom, {"A": q1, "B": q2, "C": q1 >> self.f})
        return self.limit.universal(cone)


def _meets(q: Morphism, f: Morphism, name: str) -> None:
    """Refuse a would-be leg ``q`` that does not land where ``f`` starts."""
    if not f.category.same_object(q.cod, f.dom):
        raise NotAConeError(f"not a cone: {name} ends at {q.cod!r}, the diagram has {f.dom!r}")


def pullback(f: Morphism, g: Morphism) -> Pullback:
    """Pullback of ``f: A -> C`` and ``g: B -> C`` in their category."""
    category = f.category
    if not category.same_object(f.cod, g.cod):
        raise MorphismError(f"pullback needs a common codomain: {f.cod!r} vs {g.cod!r}")
    diagram = Diagram.of(
        category, {"A": f.dom, "B": g.dom, "C": f.cod}, {("A", "C"): f, ("B", "C"): g}
    )
    return Pullback(f, g, category.limit(diagram))


@dataclass(frozen=True)
class Product:
    """The product of ``factors``; ``legs`` are the projections in order."""

    factors: tuple[Any, ...]
    limit: Limit

    @property
    def apex(self) -> Any:
        return self.limit.apex

    @property
    def legs(self) -> tuple[Morphism, ...]:
        return tuple(self.limit.leg(i) for i in range(len(self.factors)))

    def universal(self, *maps: Morphism) -> Morphism:
        """The pairing ``<q1, ..., qk>``."""
        if len(maps) != len(self.factors):
            raise NotAConeError(f"need {len(self.factors)} maps, got {len(maps)}")
        return self.limit.universal(Cone(maps[0].dom, dict(enumerate(maps))))


def product(category: Category, factors: Sequence[Any]) -> Product:
    """Product of finitely many objects (a limit of a discrete diagram)."""
    factors = tuple(factors)
    if not factors:
        raise LimitError("the empty product is the terminal object: use terminal(category)")
    return Product(factors, category.limit(Diagram.of(category, dict(enumerate(factors)))))


def terminal(category: Category) -> Limit:
    """The terminal object, as the limit of the empty diagram."""
    return category.limit(Diagram.of(category, {}))


@dataclass(frozen=True)
class Equalizer:
    """The equalizer ``e: E -> A`` of parallel ``f, g: A -> B``."""

    f: Morphism
    g: Morphism
    limit: Limit

    @property
    def apex(self) -> Any:
        return self.limit.apex

    @property
    def leg(self) -> Morphism:
        return self.limit.leg("A")

    def universal(self, q: Morphism) -> Morphism:
        """The unique ``u`` with ``u ; e = q``; needs ``q ; f == q ; g``."""
        _meets(q, self.f, "q")
        return self.limit.universal(Cone(q.dom, {"A": q, "B": q >> self.f}))


def equalizer(f: Morphism, g: Morphism) -> Equalizer:
    """Equalizer of two parallel morphisms."""
    category = f.category
    same = category.same_object
    if not (same(f.dom, g.dom) and same(f.cod, g.cod)):
        raise MorphismError(
            f"equalizer needs parallel arrows: {f.dom!r}->{f.cod!r} vs {g.dom!r}->{g.cod!r}"
        )
    diagram = Diagram.of(category, {"A": f.dom, "B": f.cod}, {("A", "B", 0): f, ("A", "B", 1): g})
    return Equalizer(f, g, category.limit(diagram))


@dataclass(frozen=True)
class Preservation:
    """Outcome of the limit-preservation probe for ``functor`` on ``diagram``.

    ``comparison: F(lim D) -> lim(F . D)`` is the mediating morphism of the image cone;
    ``F`` preserves this limit iff it is an isomorphism. ``defect`` quantifies the failure
    (category specific: missed and merged elements, rank gap, principal angles).
    """

    comparison: Morphism
    preserved: bool
    defect: dict[str, Any]
    source_limit: Limit
    target_limit: Limit


def preservation(functor: Functor, diagram: Diagram, limit: Limit | None = None) -> Preservation:
    """Compare ``F(lim D)`` with ``lim (F . D)`` through the canonical comparison map."""
    source = limit or diagram.category.limit(diagram)
    target_cat = functor.cod
    target = target_cat.limit(diagram.image(functor))
    image_cone = Cone(
        functor.ob(source.apex), {n: functor.ar(source.leg(n)) for n in diagram.nodes}
    )
    c = target.universal(image_cone)
    defect = dict(target_cat.iso_defect(c))
    extra = getattr(target_cat, "preservation_defect", None)
    if extra is not None:
        defect.update(extra(image_cone, target))
    return Preservation(c, target_cat.is_iso(c), defect, source, target)

"""Cones and limits (``docs/catcore.md``, "Limits").

Limits are split three ways: the limit *object* (:class:`Limit`: apex and legs), the
*algorithm* that computes it (``category.limit(diagram)``), and :meth:`Limit.universal`,
which refuses a family that is not a cone and returns the mediating morphism after
checking that it commutes. :func:`pullback`, :func:`product` and :func:`equalizer` wrap the
general construction with the familiar signatures; :func:`preservation` is the
limit-preservation probe: the comparison map ``F(lim D) -> lim(F . D)`` and a verdict.
Colimits are the dual, in :mod:`catcore.colimits`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catcore.category import Category, Morphism
from catcore.diagram import Diagram, Edge, edge_name
from catcore.equality import Equality
from catcore.errors import LimitError, MorphismError, NotAConeError
from catcore.functor import Functor

__all__ = [
    "Cone",
    "Diagram",
    "Edge",
    "Equalizer",
    "Limit",
    "Preservation",
    "Product",
    "Pullback",
    "equalizer",
    "preservation",
    "product",
    "pullback",
    "terminal",
]


def leg_problems(
    diagram: Diagram, apex: Any, legs: Mapping[Hashable, Morphism], outward: bool
) -> list[str]:
    """Legs missing or of the wrong type: ``apex -> D(i)`` (a cone, ``outward``) or
    ``D(i) -> apex`` (a cocone)."""
    C, out = diagram.category, []
    for n in diagram.nodes:
        leg = legs.get(n)
        if leg is None:
            out.append(f"no leg at node {n!r}")
            continue
        ends = (apex, diagram.objects[n]) if outward else (diagram.objects[n], apex)
        if (why := C.hom_problem(leg, *ends)) is not None:
            out.append(f"leg at node {n!r}: {why}")
    return out


@dataclass(frozen=True)
class Cone:
    """An apex with a leg ``apex -> D(i)`` for every node ``i`` of the diagram."""

    apex: Any
    legs: Mapping[Hashable, Morphism]

    def failures(self, diagram: Diagram, eq: Equality | None = None) -> list[str]:
        """Reasons this is not a cone over ``diagram`` (empty when it is one): each names
        the node of a bad leg or the edge whose triangle does not commute."""
        eq = eq or diagram.category.equality
        out = leg_problems(diagram, self.apex, self.legs, outward=True)
        if out:
            return out
        for e in diagram.edges:
            lhs = diagram.category.compose(self.legs[e[0]], diagram.arrows[e])
            rhs = self.legs[e[1]]
            if not eq(lhs, rhs):
                out.append(
                    f"triangle on edge {edge_name(e)} does not commute: {eq.explain(lhs, rhs)}"
                )
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
        if (why := C.hom_problem(u, cone.apex, self.apex)) is not None:
            raise LimitError(f"mediating morphism is not an arrow apex -> limit: {why}")
        for n in self.diagram.nodes:
            lhs = C.compose(u, self.leg(n))
            if not C.equality(lhs, cone.legs[n]):
                why = C.equality.explain(lhs, cone.legs[n])
                raise LimitError(f"mediating morphism does not commute at node {n!r}: {why}")
        return u


def _meets(q: Morphism, f: Morphism, name: str) -> None:
    """Refuse a would-be leg ``q`` that does not land where ``f`` starts."""
    if not f.category.same_object(q.cod, f.dom):
        raise NotAConeError(f"not a cone: {name} ends at {q.cod!r}, the diagram has {f.dom!r}")


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


def cospan(f: Morphism, g: Morphism) -> Diagram:
    """The diagram ``A -f-> C <-g- B`` (nodes ``"A"``, ``"B"``, ``"C"``)."""
    category = f.category
    if not category.same_object(f.cod, g.cod):
        raise MorphismError(f"a cospan needs a common codomain: {f.cod!r} vs {g.cod!r}")
    return Diagram.of(
        category, {"A": f.dom, "B": g.dom, "C": f.cod}, {("A", "C"): f, ("B", "C"): g}
    )


def parallel_pair(f: Morphism, g: Morphism) -> Diagram:
    """The diagram ``A => B`` of two parallel arrows (edges keyed 0 and 1)."""
    category, same = f.category, f.category.same_object
    if not (same(f.dom, g.dom) and same(f.cod, g.cod)):
        raise MorphismError(f"needs parallel arrows: {f.dom!r}->{f.cod!r} vs {g.dom!r}->{g.cod!r}")
    return Diagram.of(category, {"A": f.dom, "B": f.cod}, {("A", "B", 0): f, ("A", "B", 1): g})


def discrete(category: Category, objects: Sequence[Any]) -> Diagram:
    """The diagram with nodes ``0..k-1`` at ``objects`` and no edges."""
    return Diagram.of(category, dict(enumerate(objects)))


def pullback(f: Morphism, g: Morphism) -> Pullback:
    """Pullback of ``f: A -> C`` and ``g: B -> C`` in their category."""
    return Pullback(f, g, f.category.limit(cospan(f, g)))


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
    return Product(factors, category.limit(discrete(category, factors)))


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
    return Equalizer(f, g, f.category.limit(parallel_pair(f, g)))


@dataclass(frozen=True)
class Preservation:
    """Outcome of a (co)limit-preservation probe for ``functor`` on a diagram.

    For limits ``comparison: F(lim D) -> lim(F . D)``, for colimits
    ``comparison: colim(F . D) -> F(colim D)``; ``F`` preserves the (co)limit iff it is an
    isomorphism. ``source`` is the (co)limit of ``D`` and ``target`` that of ``F . D``.
    ``defect`` quantifies a failure (category specific: missed and merged elements, rank
    gap, principal angles).
    """

    comparison: Morphism
    preserved: bool
    defect: dict[str, Any]
    source: Any
    target: Any


def comparison_verdict(
    category: Category, comparison: Morphism, source: Any, target: Any, extra: dict | None = None
) -> Preservation:
    """A :class:`Preservation` for ``comparison``, judged by ``category.is_iso``, with its
    ``iso_defect`` and any ``extra`` defect entries."""
    defect = {**category.iso_defect(comparison), **(extra or {})}
    return Preservation(comparison, category.is_iso(comparison), defect, source, target)


def preservation(functor: Functor, diagram: Diagram, limit: Limit | None = None) -> Preservation:
    """Compare ``F(lim D)`` with ``lim (F . D)`` through the canonical comparison map."""
    source = limit or diagram.category.limit(diagram)
    target = functor.cod.limit(diagram.image(functor))
    image_cone = Cone(
        functor.ob(source.apex), {n: functor.ar(source.leg(n)) for n in diagram.nodes}
    )
    angles = getattr(functor.cod, "preservation_defect", None)
    extra = angles(image_cone, target) if angles is not None else None
    return comparison_verdict(functor.cod, target.universal(image_cone), source, target, extra)

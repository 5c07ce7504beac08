"""Cocones and colimits, the dual of :mod:`catcore.limits` (``docs/catcore.md``, "Colimits").

A cocone over a diagram ``D`` has an apex ``X`` and a leg ``D(i) -> X`` per node with
``D(e) ; leg_v == leg_u`` for every edge ``e: u -> v``. A colimit is a cocone through which
every cocone factors uniquely: ``colim.universal(cocone)`` refuses a non-cocone
(:class:`~catcore.errors.NotACoconeError`) and returns ``u: apex -> cocone.apex`` after
checking ``leg_i ; u == cocone_i`` at every node. The split is the same as for limits: the
colimit object (:class:`Colimit`), the algorithm (``category.colimit(diagram)``) and the
universal property. :func:`coproduct`, :func:`coequalizer`, :func:`pushout` and
:func:`initial` are the familiar special cases; :func:`colimit_preservation` is the probe
with the comparison map ``colim(F . D) -> F(colim D)``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catcore.category import Category, Morphism
from catcore.diagram import Diagram, edge_name
from catcore.equality import Equality
from catcore.errors import LimitError, MorphismError, NotACoconeError
from catcore.functor import Functor
from catcore.limits import Preservation, comparison_verdict, discrete, leg_problems, parallel_pair


@dataclass(frozen=True)
class Cocone:
    """An apex with a leg ``D(i) -> apex`` for every node ``i`` of the diagram."""

    apex: Any
    legs: Mapping[Hashable, Morphism]

    def failures(self, diagram: Diagram, eq: Equality | None = None) -> list[str]:
        """Reasons this is not a cocone over ``diagram`` (empty when it is one)."""
        eq = eq or diagram.category.equality
        out = leg_problems(diagram, self.apex, self.legs, outward=False)
        if out:
            return out
        for e in diagram.edges:
            lhs = diagram.category.compose(diagram.arrows[e], self.legs[e[1]])
            rhs = self.legs[e[0]]
            if not eq(lhs, rhs):
                out.append(
                    f"triangle on edge {edge_name(e)} does not commute: {eq.explain(lhs, rhs)}"
                )
        return out


@dataclass(frozen=True)
class Colimit:
    """A colimit of ``diagram``: a cocone with the universal property.

    ``mediate(cocone)`` is the algorithm's mediating morphism ``apex -> cocone.apex``;
    :meth:`universal` adds the checks.
    """

    diagram: Diagram
    cocone: Cocone
    mediate: Callable[[Cocone], Morphism] = field(repr=False)

    @property
    def apex(self) -> Any:
        return self.cocone.apex

    def leg(self, node: Hashable) -> Morphism:
        return self.cocone.legs[node]

    def universal(self, cocone: Cocone) -> Morphism:
        """The unique ``u: apex -> cocone.apex`` with ``leg(i) ; u == cocone.legs[i]``."""
        problems = cocone.failures(self.diagram)
        if problems:
            raise NotACoconeError("not a cocone under the diagram: " + "; ".join(problems))
        u = self.mediate(cocone)
        C = self.diagram.category
        if (why := C.hom_problem(u, self.apex, cocone.apex)) is not None:
            raise LimitError(f"mediating morphism is not an arrow colimit -> apex: {why}")
        for n in self.diagram.nodes:
            lhs = C.compose(self.leg(n), u)
            if not C.equality(lhs, cocone.legs[n]):
                why = C.equality.explain(lhs, cocone.legs[n])
                raise LimitError(f"mediating morphism does not commute at node {n!r}: {why}")
        return u


@dataclass(frozen=True)
class Coproduct:
    """The coproduct of ``summands``; ``legs`` are the injections in order."""

    summands: tuple[Any, ...]
    colimit: Colimit

    @property
    def apex(self) -> Any:
        return self.colimit.apex

    @property
    def legs(self) -> tuple[Morphism, ...]:
        return tuple(self.colimit.leg(i) for i in range(len(self.summands)))

    def universal(self, *maps: Morphism) -> Morphism:
        """The copairing ``[q1, ..., qk]``."""
        if len(maps) != len(self.summands):
            raise NotACoconeError(f"need {len(self.summands)} maps, got {len(maps)}")
        return self.colimit.universal(Cocone(maps[0].cod, dict(enumerate(maps))))


def coproduct(category: Category, summands: Sequence[Any]) -> Coproduct:
    """Coproduct of finitely many objects (a colimit of a discrete diagram)."""
    summands = tuple(summands)
    if not summands:
        raise LimitError("the empty coproduct is the initial object: use initial(category)")
    return Coproduct(summands, category.colimit(discrete(category, summands)))


def initial(category: Category) -> Colimit:
    """The initial object, as the colimit of the empty diagram."""
    return category.colimit(Diagram.of(category, {}))


def _starts(q: Morphism, f: Morphism, name: str) -> None:
    """Refuse a would-be leg ``q`` that does not start where ``f`` ends."""
    if not f.category.same_object(q.dom, f.cod):
        raise NotACoconeError(
            f"not a cocone: {name} starts at {q.dom!r}, the diagram has {f.cod!r}"
        )


@dataclass(frozen=True)
class Coequalizer:
    """The coequalizer ``q: B -> Q`` of parallel ``f, g: A -> B``."""

    f: Morphism
    g: Morphism
    colimit: Colimit

    @property
    def apex(self) -> Any:
        return self.colimit.apex

    @property
    def leg(self) -> Morphism:
        return self.colimit.leg("B")

    def universal(self, q: Morphism) -> Morphism:
        """The unique ``u`` with ``leg ; u = q``; needs ``f ; q == g ; q``."""
        _starts(q, self.f, "q")
        return self.colimit.universal(Cocone(q.cod, {"A": self.f >> q, "B": q}))


def coequalizer(f: Morphism, g: Morphism) -> Coequalizer:
    """Coequalizer of two parallel morphisms."""
    return Coequalizer(f, g, f.category.colimit(parallel_pair(f, g)))


def span(f: Morphism, g: Morphism) -> Diagram:
    """The diagram ``B <-f- A -g-> C`` (nodes ``"A"``, ``"B"``, ``"C"``)."""
    category = f.category
    if not category.same_object(f.dom, g.dom):
        raise MorphismError(f"a span needs a common domain: {f.dom!r} vs {g.dom!r}")
    return Diagram.of(
        category, {"A": f.dom, "B": f.cod, "C": g.cod}, {("A", "B"): f, ("A", "C"): g}
    )


@dataclass(frozen=True)
class Pushout:
    """The pushout of a span ``B <-f- A -g-> C``; ``legs = (i1: B -> P, i2: C -> P)``."""

    f: Morphism
    g: Morphism
    colimit: Colimit

    @property
    def apex(self) -> Any:
        return self.colimit.apex

    @property
    def legs(self) -> tuple[Morphism, Morphism]:
        return self.colimit.leg("B"), self.colimit.leg("C")

    def universal(self, q1: Morphism, q2: Morphism) -> Morphism:
        """Mediating ``u`` with ``i1 ; u = q1`` and ``i2 ; u = q2``; needs ``f;q1 == g;q2``."""
        _starts(q1, self.f, "q1")
        return self.colimit.universal(Cocone(q1.cod, {"A": self.f >> q1, "B": q1, "C": q2}))


def pushout(f: Morphism, g: Morphism) -> Pushout:
    """Pushout of ``f: A -> B`` and ``g: A -> C`` in their category."""
    return Pushout(f, g, f.category.colimit(span(f, g)))


def colimit_preservation(
    functor: Functor, diagram: Diagram, colimit: Colimit | None = None
) -> Preservation:
    """Compare ``colim (F . D)`` with ``F(colim D)`` through the canonical comparison map
    ``colim(F . D) -> F(colim D)``, the mediating morphism of the image cocone."""
    source = colimit or diagram.category.colimit(diagram)
    target = functor.cod.colimit(diagram.image(functor))
    image = Cocone(functor.ob(source.apex), {n: functor.ar(source.leg(n)) for n in diagram.nodes})
    return comparison_verdict(functor.cod, target.universal(image), source, target)

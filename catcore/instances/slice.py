"""Slice ``C/X`` and coslice ``X/C`` categories (``docs/catcore.md``, "Slices").

An object of ``C/X`` is an arrow ``p: A -> X`` of ``C``; an arrow ``p -> q`` (for
``q: B -> X``) is an arrow ``h: A -> B`` of ``C`` with ``h ; q == p``. Dually an object of
``X/C`` is ``p: X -> A`` and an arrow ``p -> q`` is ``h: A -> B`` with ``p ; h == q``.
Each :class:`OverArrow` checks its triangle at construction and
:meth:`Slice.arrow_problem` checks it again, so a composite that breaks a triangle is
caught by every suite. Limits in ``C/X`` are limits in ``C`` of the diagram with ``X``
added as a cone point under it (products in ``C/X`` are pullbacks over ``X``); colimits in
``X/C`` are colimits in ``C`` of the diagram with ``X`` added above it (coproducts are
pushouts under ``X``).

>>> from catcore.instances import FinSet, Slice
>>> X = FinSet.object("ab")
>>> over = Slice(FinSet, X)
>>> p = FinSet.morphism([1, 2], X, {1: "a", 2: "b"})
>>> q = FinSet.morphism([3], X, {3: "a"})
>>> over.arrow(q, p, FinSet.morphism([3], [1, 2], {3: 1})).arrow.mapping
{3: 1}
>>> from catcore.limits import product
>>> product(over, [p, p]).apex.dom      # the pullback of p along p
{(1, 1), (2, 2)}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from catcore.category import Category, Morphism
from catcore.colimits import Cocone, Colimit
from catcore.diagram import Diagram
from catcore.errors import MorphismError
from catcore.limits import Cone, Limit

BASE = "__base__"  # the node of the base object X in the extended diagrams


class OverArrow(Morphism):
    """An arrow ``dom -> cod`` of a slice or coslice, carried by ``arrow`` of the base."""

    def __init__(self, category: Slice, dom: Morphism, cod: Morphism, arrow: Morphism):
        self.category, self.dom, self.cod, self.arrow = category, dom, cod, arrow
        if (why := category.triangle_problem(self)) is not None:
            raise MorphismError(why)

    def array(self) -> np.ndarray:
        return np.asarray(self.arrow.array())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OverArrow) and (self.dom, self.cod, self.arrow) == (
            other.dom,
            other.cod,
            other.arrow,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self.category).__name__}Arrow({self.arrow!r})"


class Slice(Category):
    """``C/X``: arrows into ``X`` and the arrows of ``C`` that make triangles commute."""

    co = False

    def __init__(self, base: Category, over: Any):
        self.base, self.over = base, over
        self.name = f"{base.name}/{over!r}" if not self.co else f"{over!r}/{base.name}"
        self.equality = base.equality

    def arrow(self, dom: Morphism, cod: Morphism, arrow: Morphism) -> OverArrow:
        """The arrow ``dom -> cod`` carried by ``arrow`` (its triangle is checked)."""
        return OverArrow(self, dom, cod, arrow)

    def is_object(self, x: Any) -> bool:
        if self.base.arrow_problem(x) is not None:
            return False
        return self.base.same_object(x.dom if self.co else x.cod, self.over)

    def same_object(self, a: Any, b: Any) -> bool:
        return self.base.equality(a, b)

    def triangle_problem(self, h: OverArrow) -> str | None:
        """Why ``h`` is not an arrow ``h.dom -> h.cod`` over (or under) the base object."""
        return self.triangle_problem_of(h.dom, h.cod, h.arrow)

    def triangle_problem_of(self, p: Morphism, q: Morphism, arrow: Morphism) -> str | None:
        """Why ``arrow`` of the base does not carry an arrow ``p -> q`` here."""
        for end in (p, q):
            if not self.is_object(end):
                return f"{end!r} is not an object of {self.name}"
        ends = (p.cod, q.cod) if self.co else (p.dom, q.dom)
        if (why := self.base.hom_problem(arrow, *ends)) is not None:
            return why
        B = self.base
        lhs, rhs = (B.compose(p, arrow), q) if self.co else (B.compose(arrow, q), p)
        if not B.equality(lhs, rhs):
            return f"triangle does not commute: {B.equality.explain(lhs, rhs)}"
        return None

    def arrow_problem(self, f: Any) -> str | None:
        return super().arrow_problem(f) or self.triangle_problem(f)

    def identity(self, obj: Morphism) -> OverArrow:
        return OverArrow(self, obj, obj, self.base.identity(obj.cod if self.co else obj.dom))

    def _compose(self, f: OverArrow, g: OverArrow) -> OverArrow:
        return OverArrow(self, f.dom, g.cod, self.base.compose(f.arrow, g.arrow))

    def is_iso(self, f: OverArrow) -> bool:
        return self.base.is_iso(f.arrow)

    def _extended(self, diagram: Diagram) -> Diagram:
        """The diagram of underlying objects with ``X`` attached at node :data:`BASE`."""
        carrier = {n: (p.cod if self.co else p.dom) for n, p in diagram.objects.items()}
        arrows = {e: diagram.arrows[e].arrow for e in diagram.edges}
        for n, p in diagram.objects.items():
            arrows[(BASE, n, "base") if self.co else (n, BASE, "base")] = p
        return Diagram.of(self.base, {**carrier, BASE: self.over}, arrows)

    def limit(self, diagram: Diagram) -> Limit:
        if self.co:
            return super().limit(diagram)
        lim = self.base.limit(self._extended(diagram))
        apex = lim.leg(BASE)
        legs = {n: OverArrow(self, apex, diagram.objects[n], lim.leg(n)) for n in diagram.nodes}

        def mediate(cone: Cone) -> OverArrow:
            base_legs = {n: leg.arrow for n, leg in cone.legs.items()}
            u = lim.mediate(Cone(cone.apex.dom, {**base_legs, BASE: cone.apex}))
            return OverArrow(self, cone.apex, apex, u)

        return Limit(diagram, Cone(apex, legs), mediate)


class Coslice(Slice):
    """``X/C``: arrows out of ``X`` and the arrows of ``C`` that make triangles commute."""

    co = True

    def colimit(self, diagram: Diagram) -> Colimit:
        colim = self.base.colimit(self._extended(diagram))
        apex = colim.leg(BASE)
        legs = {n: OverArrow(self, diagram.objects[n], apex, colim.leg(n)) for n in diagram.nodes}

        def mediate(cocone: Cocone) -> OverArrow:
            base_legs = {n: leg.arrow for n, leg in cocone.legs.items()}
            u = colim.mediate(Cocone(cocone.apex.cod, {**base_legs, BASE: cocone.apex}))
            return OverArrow(self, apex, cocone.apex, u)

        return Colimit(diagram, Cocone(apex, legs), mediate)

"""The product category ``C x D`` (``docs/catcore.md``, "Product categories").

Objects are pairs ``(A, B)``, arrows are pairs ``(f, g)`` (:class:`PairArrow`), identities
and composition are componentwise, and the two projections are functors
(``CxD.first``, ``CxD.second``). Limits and colimits are componentwise too, computed by
each factor's own algorithm on the projected diagrams.

>>> from catcore.instances import FinSet, Poset, ProductCategory
>>> P = Poset.divisibility(12)
>>> CP = ProductCategory(FinSet, P)
>>> f = CP.pair(FinSet.identity(FinSet.object("ab")), P.arrow(2, 4))
>>> CP.first(f) == FinSet.identity(FinSet.object("ab")), CP.second(f)
(True, 2 <= 4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from catcore.category import Category, Morphism
from catcore.colimits import Cocone, Colimit
from catcore.diagram import Diagram
from catcore.equality import Equality, mapping_mismatch, tuple_mismatch
from catcore.errors import MorphismError
from catcore.functor import Functor
from catcore.limits import Cone, Limit


class PairArrow(Morphism):
    """``(first, second): (A, B) -> (A', B')`` with ``first`` in ``C`` and ``second`` in ``D``."""

    def __init__(self, category: ProductCategory, first: Morphism, second: Morphism):
        for part, factor in ((first, category.left), (second, category.right)):
            if (why := factor.arrow_problem(part)) is not None:
                raise MorphismError(f"not a pair of arrows of {category.name}: {why}")
        self.category, self.first, self.second = category, first, second

    @property
    def dom(self) -> tuple[Any, Any]:
        return (self.first.dom, self.second.dom)

    @property
    def cod(self) -> tuple[Any, Any]:
        return (self.first.cod, self.second.cod)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PairArrow) and (self.first, self.second) == (
            other.first,
            other.second,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"({self.first!r}, {self.second!r})"


@dataclass(frozen=True)
class Pairwise:
    """Equality of pairs of arrows: each component with its own category's equality.

    Tuples and mappings of pairs (the two sides of a law) compare item by item.
    """

    left: Equality
    right: Equality

    def _mismatch(self, a: Any, b: Any) -> str | None:
        if isinstance(a, tuple) and isinstance(b, tuple):
            return tuple_mismatch(a, b, self._mismatch)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            return mapping_mismatch(a, b, self._mismatch)
        if not (isinstance(a, PairArrow) and isinstance(b, PairArrow)):
            return f"not both pairs of arrows: {a!r} vs {b!r}"
        if not self.left(a.first, b.first):
            return "first component: " + self.left.explain(a.first, b.first)
        if not self.right(a.second, b.second):
            return "second component: " + self.right.explain(a.second, b.second)
        return None

    def __call__(self, a: Any, b: Any) -> bool:
        return self._mismatch(a, b) is None

    def explain(self, a: Any, b: Any) -> str:
        return self._mismatch(a, b) or "equal"


class ProductCategory(Category):
    """``left x right``; see the module docstring."""

    def __init__(self, left: Category, right: Category):
        self.left, self.right = left, right
        self.name = f"{left.name} x {right.name}"
        self.equality = Pairwise(left.equality, right.equality)
        self.first = Functor(self, left, lambda ab: ab[0], lambda f: f.first, name="pi_1")
        self.second = Functor(self, right, lambda ab: ab[1], lambda f: f.second, name="pi_2")

    def pair(self, first: Morphism, second: Morphism) -> PairArrow:
        return PairArrow(self, first, second)

    def is_object(self, x: Any) -> bool:
        return (
            isinstance(x, tuple)
            and len(x) == 2
            and self.left.is_object(x[0])
            and self.right.is_object(x[1])
        )

    def same_object(self, a: Any, b: Any) -> bool:
        return self.left.same_object(a[0], b[0]) and self.right.same_object(a[1], b[1])

    def identity(self, obj: tuple[Any, Any]) -> PairArrow:
        return PairArrow(self, self.left.identity(obj[0]), self.right.identity(obj[1]))

    def _compose(self, f: PairArrow, g: PairArrow) -> PairArrow:
        return PairArrow(
            self, self.left.compose(f.first, g.first), self.right.compose(f.second, g.second)
        )

    def is_iso(self, f: PairArrow) -> bool:
        return self.left.is_iso(f.first) and self.right.is_iso(f.second)

    def _split(self, diagram: Diagram, compute: str) -> tuple[Any, Any]:
        parts = (diagram.image(self.first), diagram.image(self.second))
        return tuple(getattr(c, compute)(d) for c, d in zip((self.left, self.right), parts))

    def _legs(self, a: Any, b: Any, nodes: list) -> dict:
        return {n: PairArrow(self, a.leg(n), b.leg(n)) for n in nodes}

    @staticmethod
    def _halves(legs: Mapping, part: Callable[[PairArrow], Morphism]) -> dict:
        return {n: part(f) for n, f in legs.items()}

    def limit(self, diagram: Diagram) -> Limit:
        a, b = self._split(diagram, "limit")

        def mediate(cone: Cone) -> PairArrow:
            first = a.mediate(Cone(cone.apex[0], self._halves(cone.legs, lambda f: f.first)))
            second = b.mediate(Cone(cone.apex[1], self._halves(cone.legs, lambda f: f.second)))
            return PairArrow(self, first, second)

        apex = (a.apex, b.apex)
        return Limit(diagram, Cone(apex, self._legs(a, b, diagram.nodes)), mediate)

    def colimit(self, diagram: Diagram) -> Colimit:
        a, b = self._split(diagram, "colimit")

        def mediate(cocone: Cocone) -> PairArrow:
            legs = cocone.legs
            first = a.mediate(Cocone(cocone.apex[0], self._halves(legs, lambda f: f.first)))
            second = b.mediate(Cocone(cocone.apex[1], self._halves(legs, lambda f: f.second)))
            return PairArrow(self, first, second)

        apex = (a.apex, b.apex)
        return Colimit(diagram, Cocone(apex, self._legs(a, b, diagram.nodes)), mediate)

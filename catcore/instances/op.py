"""The opposite category ``Op(C)``: the same objects, every arrow reversed.

An arrow ``A -> B`` of ``Op(C)`` is an arrow ``f: B -> A`` of ``C`` (wrapped as
:class:`OpArrow`, with ``f.arrow`` the original); ``f ;_op g = g ;_C f``. Limits of
``Op(C)`` are colimits of ``C`` of the reversed diagram and colimits of ``Op(C)`` are
limits of ``C``, so each (co)limit algorithm of ``C`` is checked a second time through
``Op(C)`` by the very same law suites. ``docs/catcore.md``, "Opposite categories".

>>> from catcore.instances import FinSet, Op
>>> f = FinSet.morphism([1, 2], "ab", {1: "a", 2: "a"})
>>> op = Op(FinSet)
>>> g = op.op(f)
>>> (g.dom, g.cod)
({'a', 'b'}, {1, 2})
>>> op.unop(g >> op.identity(f.dom)) == f
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from catcore.category import Category, Morphism
from catcore.colimits import Cocone, Colimit
from catcore.diagram import Diagram
from catcore.errors import MorphismError
from catcore.limits import Cone, Limit


class OpArrow(Morphism):
    """The arrow ``arrow: B -> A`` of the base category, read as ``A -> B``."""

    def __init__(self, category: Op, arrow: Morphism):
        if (why := category.base.arrow_problem(arrow)) is not None:
            raise MorphismError(f"not an arrow of {category.base.name}: {why}")
        self.category, self.arrow = category, arrow

    @property
    def dom(self) -> Any:
        return self.arrow.cod

    @property
    def cod(self) -> Any:
        return self.arrow.dom

    def array(self) -> np.ndarray:
        return np.asarray(self.arrow.array())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpArrow) and self.arrow == other.arrow

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"op({self.arrow!r})"


class Op(Category):
    """``Op(C)``; arrows compare with ``C``'s equality on the wrapped arrows."""

    def __init__(self, base: Category):
        self.base = base
        self.name = f"Op({base.name})"
        self.equality = base.equality

    def op(self, f: Morphism) -> OpArrow:
        """``f: B -> A`` of the base category as the arrow ``A -> B`` here."""
        return OpArrow(self, f)

    def unop(self, f: OpArrow) -> Morphism:
        """The base category's arrow behind ``f``."""
        return f.arrow

    def is_object(self, x: Any) -> bool:
        return self.base.is_object(x)

    def same_object(self, a: Any, b: Any) -> bool:
        return self.base.same_object(a, b)

    def arrow_problem(self, f: Any) -> str | None:
        return super().arrow_problem(f) or self.base.arrow_problem(f.arrow)

    def identity(self, obj: Any) -> OpArrow:
        return OpArrow(self, self.base.identity(obj))

    def _compose(self, f: OpArrow, g: OpArrow) -> OpArrow:
        return OpArrow(self, self.base.compose(g.arrow, f.arrow))

    def is_iso(self, f: OpArrow) -> bool:
        return self.base.is_iso(f.arrow)

    def iso_defect(self, f: OpArrow) -> dict[str, Any]:
        return self.base.iso_defect(f.arrow)

    def _reversed(self, diagram: Diagram) -> Diagram:
        return diagram.opposite(self.base, self.unop)

    def limit(self, diagram: Diagram) -> Limit:
        """The colimit of the reversed diagram in the base category, read backwards."""
        colim = self.base.colimit(self._reversed(diagram))
        legs = {n: OpArrow(self, colim.leg(n)) for n in diagram.nodes}

        def mediate(cone: Cone) -> OpArrow:
            cocone = Cocone(cone.apex, {n: leg.arrow for n, leg in cone.legs.items()})
            return OpArrow(self, colim.mediate(cocone))

        return Limit(diagram, Cone(colim.apex, legs), mediate)

    def colimit(self, diagram: Diagram) -> Colimit:
        """The limit of the reversed diagram in the base category, read backwards."""
        lim = self.base.limit(self._reversed(diagram))
        legs = {n: OpArrow(self, lim.leg(n)) for n in diagram.nodes}

        def mediate(cocone: Cocone) -> OpArrow:
            cone = Cone(cocone.apex, {n: leg.arrow for n, leg in cocone.legs.items()})
            return OpArrow(self, lim.mediate(cone))

        return Colimit(diagram, Cocone(lim.apex, legs), mediate)

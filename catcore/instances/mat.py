"""Mat(S): matrices over a semiring (``docs/catcore.md``, "Matrices over a semiring").

Objects are natural numbers; an arrow ``m -> n`` is an ``n x m`` matrix over the semiring
``S`` (acting on columns, as in Vect), ``f ; g`` is the product ``G F`` computed with ``S``'s
addition and multiplication, and the identity has ``S.one`` on the diagonal and ``S.zero``
elsewhere. The category laws hold exactly when ``S`` is a semiring (associative and unital
``add`` and ``mul``, ``mul`` distributing over ``add``, ``zero`` absorbing): a broken
"semiring" is caught by the category suite. Built in: :data:`BOOLEAN` (or, and: relations
between finite sets as 0/1 matrices) and :data:`TROPICAL` (min, +: shortest paths, with
``inf`` as zero).

>>> from catcore.instances import Mat, TROPICAL
>>> M = Mat(TROPICAL)
>>> d = M.matrix([[0, 1, 5], [1, 0, 1], [5, 1, 0]])   # one-step distances, three towns
>>> (d >> d).rows                                       # shortest trips of two steps
((0, 1, 2), (1, 0, 1), (2, 1, 0))
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from catcore.category import Category, Morphism
from catcore.errors import MorphismError


@dataclass(frozen=True)
class Semiring:
    """``(zero, one, add, mul)``; ``contains(x)`` says whether ``x`` is an element."""

    name: str
    zero: Any
    one: Any
    add: Callable[[Any, Any], Any]
    mul: Callable[[Any, Any], Any]
    contains: Callable[[Any], bool] = lambda x: True

    def sum(self, xs: Sequence[Any]) -> Any:
        total = self.zero
        for x in xs:
            total = self.add(total, x)
        return total


BOOLEAN = Semiring("B", False, True, operator.or_, operator.and_, lambda x: isinstance(x, bool))


def _is_tropical(x: Any) -> bool:
    return isinstance(x, int) or x == math.inf


TROPICAL = Semiring("min-plus", math.inf, 0, min, operator.add, _is_tropical)


class MatArrow(Morphism):
    """An ``n x m`` matrix ``m -> n`` over the category's semiring (rows as tuples)."""

    def __init__(self, category: Mat, rows: Sequence[Sequence[Any]], dom: int, cod: int):
        self.category, self.dom, self.cod = category, int(dom), int(cod)
        self.rows = tuple(tuple(r) for r in rows)
        if len(self.rows) != self.cod or any(len(r) != self.dom for r in self.rows):
            shape = (len(self.rows), len(self.rows[0]) if self.rows else 0)
            raise MorphismError(f"matrix of shape {shape} does not map {dom} -> {cod}")
        S = category.semiring
        bad = [x for r in self.rows for x in r if not S.contains(x)]
        if bad:
            raise MorphismError(f"entry {bad[0]!r} is not an element of {S.name}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MatArrow) and (self.dom, self.cod, self.rows) == (
            other.dom,
            other.cod,
            other.rows,
        )

    def __hash__(self) -> int:
        return hash((self.dom, self.cod, self.rows))

    def __repr__(self) -> str:
        return f"MatArrow({self.dom}->{self.cod}, {[list(r) for r in self.rows]})"


class Mat(Category):
    """Matrices over ``semiring``; see the module docstring."""

    def __init__(self, semiring: Semiring):
        self.semiring = semiring
        self.name = f"Mat({semiring.name})"

    def matrix(self, rows: Sequence[Sequence[Any]], dom: int | None = None) -> MatArrow:
        """The arrow with these rows (give ``dom`` when there are no rows)."""
        rows = [list(r) for r in rows]
        cols = len(rows[0]) if rows else (dom or 0)
        return MatArrow(self, rows, cols if dom is None else dom, len(rows))

    def is_object(self, x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    def identity(self, obj: int) -> MatArrow:
        S = self.semiring
        rows = [[S.one if i == j else S.zero for j in range(obj)] for i in range(obj)]
        return MatArrow(self, rows, obj, obj)

    def _compose(self, f: MatArrow, g: MatArrow) -> MatArrow:
        S = self.semiring
        rows = [
            [S.sum([S.mul(g.rows[i][k], f.rows[k][j]) for k in range(f.cod)]) for j in range(f.dom)]
            for i in range(g.cod)
        ]
        return MatArrow(self, rows, f.dom, g.cod)

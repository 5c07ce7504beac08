"""Natural transformations (``docs/catcore.md``, "Natural transformations").

``alpha: F => G`` between functors ``F, G: C -> D`` has a component ``alpha_A: F A -> G A``
for each object; it is natural when every square commutes::

    F f ; alpha_B  ==  alpha_A ; G f      for f: A -> B.

:meth:`NaturalTransformation.failures` returns the squares that do not commute, as data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from catcore.category import Morphism
from catcore.equality import Equality
from catcore.errors import CompositionError
from catcore.functor import Functor


@dataclass(frozen=True)
class SquareFailure:
    """A naturality square that does not commute at ``arrow``."""

    arrow: Morphism
    lhs: Morphism
    rhs: Morphism
    reason: str


@dataclass(frozen=True)
class NaturalTransformation:
    """A family of components ``alpha_A: F A -> G A``, given as a function of ``A``."""

    source: Functor
    target: Functor
    component: Callable[[Any], Morphism]
    name: str = "alpha"

    def __call__(self, obj: Any) -> Morphism:
        return self.component(obj)

    def square(self, f: Morphism) -> tuple[Morphism, Morphism]:
        """The two sides ``(F f ; alpha_B, alpha_A ; G f)`` of the square at ``f``."""
        D = self.source.cod
        return D.compose(self.source(f), self(f.cod)), D.compose(self(f.dom), self.target(f))

    def failures(
        self, arrows: Iterable[Morphism], eq: Equality | None = None
    ) -> list[SquareFailure]:
        """Squares that do not commute, among those at ``arrows`` (compared with ``eq``,
        default: the target category's equality)."""
        eq = eq or self.source.cod.equality
        out = []
        for f in arrows:
            lhs, rhs = self.square(f)
            if not eq(lhs, rhs):
                out.append(SquareFailure(f, lhs, rhs, eq.explain(lhs, rhs)))
        return out

    def then(self, other: NaturalTransformation) -> NaturalTransformation:
        """Vertical composite ``self ; other: F => H`` with components ``alpha_A ; beta_A``."""
        if other.source is not self.target:
            raise CompositionError(
                f"{self.name} ends at functor {self.target.name}, "
                f"{other.name} starts at {other.source.name}"
            )
        return NaturalTransformation(
            self.source,
            other.target,
            lambda a: self(a) >> other(a),
            name=f"{self.name};{other.name}",
        )

"""2-cells: morphisms between parallel morphisms (``docs/catcore.md``, "2-cells").

In a 2-category a 2-cell ``alpha: f => g`` relates two arrows ``f, g: A -> B``. Two
compositions exist:

* vertical ``alpha.vthen(beta): f => h`` for ``alpha: f => g`` and ``beta: g => h``;
* horizontal ``alpha.hthen(gamma): f;f' => g;g'`` for ``alpha: f => g`` (``A -> B``) and
  ``gamma: f' => g'`` (``B -> C``).

They satisfy the interchange law
``(alpha.vthen(beta)).hthen(gamma.vthen(delta)) == (alpha.hthen(gamma)).vthen(beta.hthen(delta))``,
checked by :func:`catcore.suites.twocell_laws`. Homotopies of paths (Def 3.1) are the 2-cells
of :class:`catcore.instances.paths.Paths`; there vertical composition is unital and
associative only up to reparametrization of the homotopy parameter, which is what
:attr:`TwoCategory.vertical_equality` expresses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from catcore.category import Category, Morphism
from catcore.equality import Equality
from catcore.errors import CompositionError


class TwoCell(ABC):
    """A 2-cell ``source => target`` between parallel arrows of ``category``."""

    category: TwoCategory

    @property
    @abstractmethod
    def source(self) -> Morphism: ...

    @property
    @abstractmethod
    def target(self) -> Morphism: ...

    def vthen(self, other: TwoCell) -> TwoCell:
        """Vertical composite: ``self`` then ``other`` (``f => g => h``)."""
        return self.category.vcompose(self, other)

    def hthen(self, other: TwoCell) -> TwoCell:
        """Horizontal composite along the shared object ``self.target.cod``."""
        return self.category.hcompose(self, other)


class TwoCategory(Category):
    """A category whose hom-sets are categories: arrows plus 2-cells."""

    #: How the vertical unit and associativity laws compare 2-cells; ``None`` means
    #: :attr:`equality` (a strict 2-category). :class:`~catcore.instances.paths.Paths` sets
    #: an equality up to reparametrization of the homotopy parameter.
    vertical_equality: Equality | None = None
    #: The same for the horizontal unit and associativity laws (``None``: strict).
    horizontal_equality: Equality | None = None

    @abstractmethod
    def id2(self, f: Morphism) -> TwoCell:
        """The identity 2-cell ``f => f``."""

    @abstractmethod
    def _vcompose(self, alpha: TwoCell, beta: TwoCell) -> TwoCell: ...

    @abstractmethod
    def _hcompose(self, alpha: TwoCell, gamma: TwoCell) -> TwoCell: ...

    def cell_problem(self, alpha: object) -> str | None:
        """Why ``alpha`` is not a 2-cell of this 2-category, or ``None`` when it is one:
        it must be a :class:`TwoCell` it owns, between parallel arrows of the category."""
        if not isinstance(alpha, TwoCell):
            return f"{alpha!r} is a {type(alpha).__name__}, not a 2-cell"
        if not self.owns(alpha):
            return f"{alpha!r} is a 2-cell of {getattr(alpha, 'category', None)}, not {self.name}"
        for end in ("source", "target"):
            if (why := self.arrow_problem(getattr(alpha, end))) is not None:
                return f"its {end} is not an arrow: {why}"
        f, g = alpha.source, alpha.target
        if not (self.same_object(f.dom, g.dom) and self.same_object(f.cod, g.cod)):
            return f"source {f!r} and target {g!r} are not parallel"
        return None

    def same_arrow(self, f: Morphism, g: Morphism) -> bool:
        """Whether two arrows are the same (2-cells compose only along equal arrows)."""
        return f is g or bool(f == g)

    def vcompose(self, alpha: TwoCell, beta: TwoCell) -> TwoCell:
        if not self.same_arrow(alpha.target, beta.source):
            raise CompositionError(
                f"vertical composition in {self.name}: first 2-cell ends at {alpha.target!r}, "
                f"second starts at {beta.source!r}"
            )
        return self._vcompose(alpha, beta)

    def hcompose(self, alpha: TwoCell, gamma: TwoCell) -> TwoCell:
        if not self.same_object(alpha.source.cod, gamma.source.dom):
            raise CompositionError(
                f"horizontal composition in {self.name}: first 2-cell ends at object "
                f"{alpha.source.cod!r}, second starts at {gamma.source.dom!r}"
            )
        return self._hcompose(alpha, gamma)

"""Categories and morphisms.

A category supplies identities and composition; a morphism knows its ``dom``, ``cod`` and
category. Composition is written two ways that mean the same arrow (``docs/catcore.md``,
"Conventions"):

* ``f >> g`` and ``f.then(g)``: *diagrammatic*, "f, then g";
* ``g @ f``: *applicative*, "g after f", as for matrices and functions.

Both are ``g . f : dom f -> cod g`` and require ``f.cod == g.dom``, else
:class:`~catcore.errors.CompositionError` names both ends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from catcore.equality import Equality, Exact
from catcore.errors import CompositionError, LimitError


class Morphism(ABC):
    """An arrow ``dom -> cod`` of ``category``; subclasses hold the data."""

    category: Category

    @property
    @abstractmethod
    def dom(self) -> Any:
        """The source object."""

    @property
    @abstractmethod
    def cod(self) -> Any:
        """The target object."""

    def then(self, other: Morphism) -> Morphism:
        """Diagrammatic composite ``self ; other`` (apply ``self`` first)."""
        return self.category.compose(self, other)

    def __rshift__(self, other: Morphism) -> Morphism:
        return self.then(other)

    def __matmul__(self, other: Morphism) -> Morphism:
        return other.then(self)


class Category(ABC):
    """A category: objects, identities and associative, unital composition.

    Subclasses implement :meth:`identity` and :meth:`_compose`; :meth:`compose` checks that
    the arrows meet first. Limits are optional: override :meth:`limit`.
    """

    name: str = "Category"
    #: How this category compares arrows (law checks and cone checks use it by default).
    equality: Equality = Exact()

    @abstractmethod
    def identity(self, obj: Any) -> Morphism:
        """The identity arrow ``obj -> obj``."""

    @abstractmethod
    def _compose(self, f: Morphism, g: Morphism) -> Morphism:
        """``f ; g`` for arrows already known to meet."""

    def same_object(self, a: Any, b: Any) -> bool:
        """Whether two objects are equal (override for tolerance-based objects)."""
        return bool(a == b)

    def compose(self, *arrows: Morphism) -> Morphism:
        """Diagrammatic composite ``f1 ; f2 ; ... ; fk`` of a non-empty chain."""
        if not arrows:
            raise ValueError("compose needs at least one morphism")
        result = arrows[0]
        for g in arrows[1:]:
            if not self.same_object(result.cod, g.dom):
                raise CompositionError(
                    f"cannot compose in {self.name}: first arrow ends at {result.cod!r}, "
                    f"second starts at {g.dom!r}"
                )
            result = self._compose(result, g)
        return result

    def limit(self, diagram: Any) -> Any:
        """A limit of ``diagram`` (see :mod:`catcore.limits`)."""
        raise LimitError(f"{self.name} does not compute limits")

    def is_iso(self, f: Morphism) -> bool:
        """Whether ``f`` is an isomorphism (used by the limit-preservation probe)."""
        raise NotImplementedError(f"{self.name} cannot decide isomorphisms")

    def iso_defect(self, f: Morphism) -> dict[str, Any]:
        """Quantitative distance of ``f`` from an isomorphism (category specific)."""
        return {"is_iso": self.is_iso(f)}

    def __repr__(self) -> str:
        return self.name

"""Categories and morphisms.

A category supplies identities and composition; a morphism knows its ``dom``, ``cod`` and
category. Composition is written two ways that mean the same arrow (``docs/catcore.md``,
"Conventions"):

* ``f >> g`` and ``f.then(g)``: *diagrammatic*, "f, then g";
* ``g @ f``: *applicative*, "g after f", as for matrices and functions.

Both are ``g . f : dom f -> cod g`` and require that both arrows belong to the category
and that ``f.cod == g.dom``, else :class:`~catcore.errors.CompositionError` says which.

Hom-membership is a hook: :meth:`Category.arrow_problem` says why a value is not an arrow
of the category (``None`` when it is one). Every law suite calls it on the arrows it is
handed and on those it produces, so an identity, composite, functor image, component, leg
or mediating morphism of the wrong type is a failure, not a silent pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from catcore.equality import Equality, Exact
from catcore.errors import CompositionError, LimitError


class Morphism:
    """An arrow ``dom -> cod`` of ``category``; subclasses hold the data.

    A subclass provides the attributes ``dom``, ``cod`` and ``category`` in any form: plain
    attributes, properties, class attributes or dataclass fields (a frozen dataclass with
    ``dom``/``cod`` fields is a fine morphism).
    """

    dom: Any
    cod: Any
    category: Category

    def then(self, other: Morphism) -> Morphism:
        """Diagrammatic composite ``self ; other`` (apply ``self`` first)."""
        return self.category.compose(self, other)

    def __rshift__(self, other: Morphism) -> Morphism:
        return self.then(other)

    def __matmul__(self, other: Morphism) -> Morphism:
        return other.then(self)


def name_of(category: Any) -> str:
    """A category's name for messages (its ``name``, else its repr)."""
    return str(getattr(category, "name", None) or category)


class Category(ABC):
    """A category: objects, identities and associative, unital composition.

    Subclasses implement :meth:`identity` and :meth:`_compose`; :meth:`compose` checks that
    the arrows belong here and meet first. Optional hooks: :meth:`is_object` and
    :meth:`arrow_problem` (hom-membership), :meth:`same_object`, :meth:`limit`,
    :meth:`colimit`, :meth:`is_iso` and :meth:`iso_defect`.
    """

    name: str = "Category"
    #: How this category compares arrows (law checks and cone checks use it by default).
    equality: Equality = Exact()

    @abstractmethod
    def identity(self, obj: Any) -> Morphism:
        """The identity arrow ``obj -> obj``."""

    @abstractmethod
    def _compose(self, f: Morphism, g: Morphism) -> Morphism:
        """``f ; g`` for arrows already known to belong here and to meet."""

    def same_object(self, a: Any, b: Any) -> bool:
        """Whether two objects are equal (override for tolerance-based objects)."""
        return bool(a == b)

    def is_object(self, x: Any) -> bool:
        """Whether ``x`` is an object of this category (default: anything is)."""
        return True

    def owns(self, f: Any) -> bool:
        """Whether ``f`` claims this category as its own (``f.category is self``)."""
        return getattr(f, "category", None) is self

    def arrow_problem(self, f: Any) -> str | None:
        """Why ``f`` is not an arrow of this category, or ``None`` when it is one.

        Default: ``f`` is a :class:`Morphism` that this category :meth:`owns`, and its
        ends are objects (:meth:`is_object`). Override to add the category's own
        conditions (a triangle that must commute in a slice, a relation inside ``A x B``).
        """
        if not isinstance(f, Morphism):
            return f"{f!r} is a {type(f).__name__}, not a morphism"
        if not self.owns(f):
            owner = getattr(f, "category", None)
            return f"{f!r} is an arrow of {name_of(owner)}, not of {self.name}"
        for end in ("dom", "cod"):
            if not self.is_object(getattr(f, end)):
                return f"the {end} {getattr(f, end)!r} of {f!r} is not an object of {self.name}"
        return None

    def is_arrow(self, x: Any) -> bool:
        """Whether ``x`` is an arrow of this category (see :meth:`arrow_problem`)."""
        return self.arrow_problem(x) is None

    def hom_problem(self, f: Any, dom: Any, cod: Any) -> str | None:
        """Why ``f`` is not an arrow ``dom -> cod`` of this category, or ``None``."""
        problem = self.arrow_problem(f)
        if problem is not None:
            return problem
        if not (self.same_object(f.dom, dom) and self.same_object(f.cod, cod)):
            return f"{f!r} goes {f.dom!r} -> {f.cod!r}, expected {dom!r} -> {cod!r}"
        return None

    def compose(self, *arrows: Morphism) -> Morphism:
        """Diagrammatic composite ``f1 ; f2 ; ... ; fk`` of a non-empty chain."""
        if not arrows:
            raise ValueError("compose needs at least one morphism")
        for i, f in enumerate(arrows, 1):
            if not self.owns(f):
                raise CompositionError(
                    f"cannot compose in {self.name}: arrow {i} of {len(arrows)} ({f!r}) "
                    f"belongs to {name_of(getattr(f, 'category', None))}"
                )
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

    def colimit(self, diagram: Any) -> Any:
        """A colimit of ``diagram`` (see :mod:`catcore.colimits`)."""
        raise LimitError(f"{self.name} does not compute colimits")

    def is_iso(self, f: Morphism) -> bool:
        """Whether ``f`` is an isomorphism (used by the (co)limit-preservation probes)."""
        raise NotImplementedError(f"{self.name} cannot decide isomorphisms")

    def iso_defect(self, f: Morphism) -> dict[str, Any]:
        """Quantitative distance of ``f`` from an isomorphism (category specific)."""
        return {"is_iso": self.is_iso(f)}

    def __repr__(self) -> str:
        return self.name

"""Errors raised by the categorical core. See ``docs/catcore.md``."""

from __future__ import annotations


class CategoryError(Exception):
    """Base class of every error the categorical core raises."""


class CompositionError(CategoryError, ValueError):
    """Two morphisms do not meet: the codomain of the first is not the domain of the second."""


class MorphismError(CategoryError, ValueError):
    """Morphism data that does not define a morphism between the stated objects."""


class NotAConeError(CategoryError, ValueError):
    """A family of morphisms handed to ``universal`` does not commute with the diagram."""


class LimitError(CategoryError):
    """A limit that does not exist, or that this category cannot compute."""


class NotACoconeError(NotAConeError):
    """A family of morphisms handed to a colimit's ``universal`` is not a cocone."""

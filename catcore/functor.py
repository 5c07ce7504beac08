"""Functors between categories (``docs/catcore.md``, "Functors").

A functor ``F: C -> D`` maps objects to objects and arrows to arrows so that
``F(id_A) = id_{F A}`` and ``F(f ; g) = F f ; F g``. Those laws are checked by
:func:`catcore.suites.functor_laws`, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catcore.category import Category, Morphism


@dataclass(frozen=True)
class Functor:
    """``F: dom -> cod`` given by its object map ``ob`` and arrow map ``ar``.

    ``F(x)`` applies ``ar`` to morphisms and ``ob`` to everything else.
    """

    dom: Category
    cod: Category
    ob: Callable[[Any], Any]
    ar: Callable[[Morphism], Morphism]
    name: str = "F"

    def __call__(self, x: Any) -> Any:
        return self.ar(x) if isinstance(x, Morphism) else self.ob(x)

    def then(self, other: Functor) -> Functor:
        """Composite functor ``self ; other`` (apply ``self`` first)."""
        if other.dom is not self.cod:
            raise ValueError(
                f"functor {self.name} lands in {self.cod}, {other.name} starts at {other.dom}"
            )
        return Functor(
            self.dom,
            other.cod,
            lambda a: other.ob(self.ob(a)),
            lambda f: other.ar(self.ar(f)),
            name=f"{self.name};{other.name}",
        )

    __rshift__ = then

    def __repr__(self) -> str:
        return f"Functor({self.name}: {self.dom} -> {self.cod})"


def identity_functor(category: Category) -> Functor:
    """The identity functor on ``category``."""
    return Functor(category, category, lambda a: a, lambda f: f, name=f"id_{category.name}")

"""Functors between categories (``docs/catcore.md``, "Functors").

A functor ``F: C -> D`` maps objects to objects and arrows to arrows so that
``F(id_A) = id_{F A}`` and ``F(f ; g) = F f ; F g``. Those laws are checked by
:func:`catcore.suites.functor_laws`, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from catcore.category import Category, Morphism
from catcore.errors import CompositionError, MorphismError


@dataclass(frozen=True)
class Functor:
    """``F: dom -> cod`` given by its object map ``ob`` and arrow map ``ar``.

    ``F(x)`` applies ``ar`` to what ``dom`` says is an arrow (:meth:`Category.is_arrow`)
    and ``ob`` to everything else.
    """

    dom: Category
    cod: Category
    ob: Callable[[Any], Any]
    ar: Callable[[Morphism], Morphism]
    name: str = "F"

    def __call__(self, x: Any) -> Any:
        return self.ar(x) if self.dom.is_arrow(x) else self.ob(x)

    def then(self, other: Functor) -> Functor:
        """Composite functor ``self ; other`` (apply ``self`` first)."""
        if other.dom is not self.cod:
            raise CompositionError(
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

    @classmethod
    def from_generators(
        cls,
        dom: Any,
        cod: Category,
        ob: Mapping[Hashable, Any],
        gens: Mapping[tuple, Morphism],
        name: str = "F",
    ) -> Functor:
        """The functor out of a free category determined by its generators.

        ``dom`` is a :class:`~catcore.instances.free.FreeCategory`; ``ob[node]`` is an object
        of ``cod`` and ``gens[(u, v, key)]`` (or ``gens[(u, v)]`` for key ``0``) an arrow
        ``ob[u] -> ob[v]`` for every edge. A path goes to the composite of its edges'
        images and the empty path at ``x`` to ``id_{ob[x]}``: by freeness this is the
        unique functor with these values (``docs/catcore.md``, "Functors").
        """
        graph = dom.graph
        missing = [x for x in graph.nodes if x not in ob]
        if missing:
            raise MorphismError(f"no object given for nodes {missing!r}")
        images: dict[tuple, Morphism] = {}
        for u, v, k in graph.edges(keys=True):
            f = gens.get((u, v, k), gens.get((u, v)) if k == 0 else None)
            if f is None:
                raise MorphismError(f"no arrow given for the edge {(u, v, k)!r}")
            if (why := cod.hom_problem(f, ob[u], ob[v])) is not None:
                raise MorphismError(f"the image of edge {(u, v, k)!r} is wrong: {why}")
            images[(u, v, k)] = f

        def ar(path: Morphism) -> Morphism:
            if not path.edges:
                return cod.identity(ob[path.dom])
            return cod.compose(*(images[e] for e in path.edges))

        return cls(dom, cod, lambda x: ob[x], ar, name=name)

    def __repr__(self) -> str:
        return f"Functor({self.name}: {self.dom} -> {self.cod})"


def identity_functor(category: Category) -> Functor:
    """The identity functor on ``category``."""
    return Functor(category, category, lambda a: a, lambda f: f, name=f"id_{category.name}")

"""Diagrams: functors from a finite shape into a category (``docs/catcore.md``, "Limits").

Limits (:mod:`catcore.limits`) and colimits (:mod:`catcore.colimits`) are taken of the
same :class:`Diagram`. A shape is a networkx ``MultiDiGraph``; its edges are keyed
``(u, v, k)`` so that parallel arrows (an equalizer's pair) are distinct.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from catcore.category import Category, Morphism
from catcore.errors import MorphismError

Edge = tuple[Hashable, Hashable, int]


def edge_name(edge: Edge) -> str:
    """``u->v`` for an edge (``u->v #k`` when its key is not the default)."""
    u, v, k = edge
    return f"{u!r}->{v!r}" + ("" if k in (0, None) else f" #{k!r}")


@dataclass(frozen=True)
class Diagram:
    """A functor from a finite shape (a networkx multigraph) into ``category``.

    ``objects[node]`` is an object and ``arrows[(u, v, k)]`` a morphism
    ``objects[u] -> objects[v]``. Composites in the shape are free: a cone must commute
    with every edge, which then makes it commute with every path.
    """

    category: Category
    shape: nx.MultiDiGraph
    objects: Mapping[Hashable, Any]
    arrows: Mapping[Edge, Morphism]

    def __post_init__(self) -> None:
        missing = [n for n in self.shape.nodes if n not in self.objects]
        if missing:
            raise MorphismError(f"diagram has no object at shape nodes {missing}")
        for u, v, k in self.shape.edges(keys=True):
            f = self.arrows.get((u, v, k))
            if f is None:
                raise MorphismError(f"diagram has no arrow on shape edge {(u, v, k)}")
            why = self.category.hom_problem(f, self.objects[u], self.objects[v])
            if why is not None:
                raise MorphismError(f"arrow on edge {edge_name((u, v, k))}: {why}")

    @classmethod
    def of(
        cls,
        category: Category,
        objects: Mapping[Hashable, Any],
        arrows: Mapping[tuple, Morphism] | None = None,
    ) -> Diagram:
        """Build from ``{node: object}`` and ``{(u, v) or (u, v, k): morphism}``."""
        shape = nx.MultiDiGraph()
        shape.add_nodes_from(objects)
        keyed: dict[Edge, Morphism] = {}
        for edge, f in (arrows or {}).items():
            u, v, *rest = edge
            k = shape.add_edge(u, v, key=rest[0] if rest else None)
            keyed[(u, v, k)] = f
        return cls(category, shape, dict(objects), keyed)

    @property
    def nodes(self) -> list[Hashable]:
        return list(self.shape.nodes)

    def __repr__(self) -> str:
        arrows = ", ".join(f"{u!r}->{v!r}: {self.arrows[(u, v, k)]!r}" for u, v, k in self.edges)
        return f"Diagram({self.category}, objects={dict(self.objects)!r}, arrows={{{arrows}}})"

    @property
    def edges(self) -> list[Edge]:
        return list(self.shape.edges(keys=True))

    def opposite(self, category: Any, arrow: Callable[[Morphism], Morphism]) -> Diagram:
        """The same diagram read in an opposite category: every edge reversed, its arrow
        mapped by ``arrow`` (``docs/catcore.md``, "Opposite categories")."""
        shape = nx.MultiDiGraph()
        shape.add_nodes_from(self.shape.nodes)
        arrows = {}
        for u, v, k in self.edges:
            shape.add_edge(v, u, key=k)
            arrows[(v, u, k)] = arrow(self.arrows[(u, v, k)])
        return Diagram(category, shape, dict(self.objects), arrows)

    def image(self, functor: Any) -> Diagram:
        """The composite diagram ``F . D`` in ``functor.cod``."""
        return Diagram(
            functor.cod,
            self.shape,
            {n: functor.ob(x) for n, x in self.objects.items()},
            {e: functor.ar(f) for e, f in self.arrows.items()},
        )

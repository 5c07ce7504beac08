"""The free category on a directed multigraph: objects are nodes, arrows are paths.

Composition concatenates edge lists; the identity is the empty path. Equality of paths is
equality of their edge sequences (no relations are imposed). ``docs/catcore.md``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import networkx as nx

from catcore.category import Category, Morphism
from catcore.errors import MorphismError

Edge = tuple[Hashable, Hashable, Hashable]


class GraphPath(Morphism):
    """A path ``dom -> cod`` as a sequence of edges ``(u, v, key)`` of the graph."""

    def __init__(self, category: FreeCategory, dom: Hashable, cod: Hashable, edges: Sequence[Edge]):
        self.category, self._dom, self._cod, self.edges = category, dom, cod, tuple(edges)
        graph = category.graph
        for node in (dom, cod):
            if node not in graph:
                raise MorphismError(f"{node!r} is not a node of the graph")
        at = dom
        for u, v, k in self.edges:
            if not graph.has_edge(u, v, key=k):
                raise MorphismError(f"edge {(u, v, k)!r} is not in the graph")
            if u != at:
                raise MorphismError(f"path breaks at {at!r}: next edge starts at {u!r}")
            at = v
        if at != cod:
            raise MorphismError(f"path ends at {at!r}, not at its codomain {cod!r}")

    @property
    def dom(self) -> Hashable:
        return self._dom

    @property
    def cod(self) -> Hashable:
        return self._cod

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphPath) and (self.dom, self.cod, self.edges) == (
            other.dom,
            other.cod,
            other.edges,
        )

    def __hash__(self) -> int:
        return hash((self.dom, self.cod, self.edges))

    def __repr__(self) -> str:
        return f"GraphPath({self.dom!r} -> {self.cod!r} via {[e[:2] for e in self.edges]})"


class FreeCategory(Category):
    """Free category on ``graph`` (a networkx graph; converted to a ``MultiDiGraph``)."""

    def __init__(self, graph: nx.Graph, name: str = "Free"):
        self.graph = nx.MultiDiGraph(graph)
        self.name = name

    def generator(self, u: Hashable, v: Hashable, key: Hashable = 0) -> GraphPath:
        """The one-edge path along ``(u, v, key)``."""
        return GraphPath(self, u, v, [(u, v, key)])

    def path(self, edges: Sequence[Edge]) -> GraphPath:
        """A non-empty path from its edges."""
        if not edges:
            raise MorphismError("an empty path needs its object: use identity(node)")
        return GraphPath(self, edges[0][0], edges[-1][1], edges)

    def identity(self, obj: Hashable) -> GraphPath:
        return GraphPath(self, obj, obj, ())

    def _compose(self, f: GraphPath, g: GraphPath) -> GraphPath:
        return GraphPath(self, f.dom, g.cod, f.edges + g.edges)

    def is_iso(self, f: GraphPath) -> bool:
        return not f.edges

"""A poset as a category: one arrow ``a -> b`` exactly when ``a <= b``.

Limits are greatest lower bounds (meets): the limit of a diagram is the meet of its objects,
when it exists; colimits are least upper bounds (joins). ``docs/catcore.md``, "Posets".

>>> from catcore.instances import Poset
>>> P = Poset.divisibility(12)
>>> P.meet([4, 6]), P.join([4, 6])
(2, 12)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx

from catcore.category import Category, Morphism
from catcore.colimits import Cocone, Colimit
from catcore.errors import LimitError, MorphismError
from catcore.limits import Cone, Diagram, Limit


class Leq(Morphism):
    """The unique arrow ``a -> b`` of a poset, which exists iff ``a <= b``."""

    def __init__(self, category: Poset, a: Hashable, b: Hashable):
        self.category, self._dom, self._cod = category, a, b
        if not category.leq(a, b):
            raise MorphismError(f"no arrow {a!r} -> {b!r}: {a!r} <= {b!r} is false")

    @property
    def dom(self) -> Hashable:
        return self._dom

    @property
    def cod(self) -> Hashable:
        return self._cod

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Leq) and (self.dom, self.cod) == (other.dom, other.cod)

    def __hash__(self) -> int:
        return hash((self.dom, self.cod))

    def __repr__(self) -> str:
        return f"{self.dom!r} <= {self.cod!r}"


class Poset(Category):
    """The poset whose order is the reflexive-transitive closure of ``graph``'s edges."""

    def __init__(self, graph: nx.DiGraph, name: str = "Poset"):
        closure = nx.transitive_closure_dag(graph) if nx.is_directed_acyclic_graph(graph) else None
        if closure is None:
            raise MorphismError("the order graph has a cycle: not antisymmetric")
        self.elements = tuple(graph.nodes)
        self._below = {x: {x} | set(nx.ancestors(closure, x)) for x in self.elements}
        self.name = name

    @classmethod
    def divisibility(cls, n: int) -> Poset:
        """Divisors of ``n`` ordered by divisibility."""
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        g = nx.DiGraph()
        g.add_nodes_from(divisors)
        g.add_edges_from((a, b) for a in divisors for b in divisors if a != b and b % a == 0)
        return cls(g, name=f"Div({n})")

    def leq(self, a: Hashable, b: Hashable) -> bool:
        for x in (a, b):
            if x not in self._below:
                raise MorphismError(f"{x!r} is not an element of {self.name}")
        return a in self._below[b]

    def arrow(self, a: Hashable, b: Hashable) -> Leq:
        return Leq(self, a, b)

    def identity(self, obj: Hashable) -> Leq:
        return Leq(self, obj, obj)

    def _compose(self, f: Leq, g: Leq) -> Leq:
        return Leq(self, f.dom, g.cod)

    def is_iso(self, f: Leq) -> bool:
        return f.dom == f.cod

    def is_object(self, x: Any) -> bool:
        return x in self._below

    def meet(self, xs: Iterable[Hashable]) -> Hashable:
        """Greatest lower bound of ``xs``; :class:`LimitError` if there is none."""
        xs = list(xs)
        lower = [z for z in self.elements if all(self.leq(z, x) for x in xs)]
        top = [z for z in lower if all(self.leq(w, z) for w in lower)]
        if not top:
            raise LimitError(f"{xs!r} has no meet in {self.name}")
        return top[0]

    def join(self, xs: Iterable[Hashable]) -> Hashable:
        """Least upper bound of ``xs``; :class:`LimitError` if there is none."""
        xs = list(xs)
        upper = [z for z in self.elements if all(self.leq(x, z) for x in xs)]
        bottom = [z for z in upper if all(self.leq(z, w) for w in upper)]
        if not bottom:
            raise LimitError(f"{xs!r} has no join in {self.name}")
        return bottom[0]

    def limit(self, diagram: Diagram) -> Limit:
        m = self.meet(diagram.objects.values())
        legs = {n: Leq(self, m, x) for n, x in diagram.objects.items()}

        def mediate(cone: Cone) -> Any:
            return Leq(self, cone.apex, m)

        return Limit(diagram, Cone(m, legs), mediate)

    def colimit(self, diagram: Diagram) -> Colimit:
        j = self.join(diagram.objects.values())
        legs = {n: Leq(self, x, j) for n, x in diagram.objects.items()}
        return Colimit(diagram, Cocone(j, legs), lambda cocone: Leq(self, j, cocone.apex))

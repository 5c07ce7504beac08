"""FinSet: finite sets and total functions, with all finite limits and colimits
(``docs/catcore.md``).

Limits are sets of compatible families; colimits are the disjoint union of the objects,
tagged ``(node, x)``, quotiented by ``(u, x) ~ (v, D(e)(x))`` for every edge ``e: u -> v``
(each class is named by its first member, members at nodes without outgoing edges first).

>>> from catcore.instances import FinSet
>>> f = FinSet.morphism([1, 2, 3], ["a", "b"], {1: "a", 2: "b", 3: "a"})
>>> f(3)
'a'
>>> (FinSet.identity(f.dom) >> f) == f
True
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from catcore.category import Category, Morphism
from catcore.colimits import Cocone, Colimit
from catcore.errors import MorphismError
from catcore.limits import Cone, Diagram, Limit


class FinSetObject:
    """A finite set; iterates over its elements in the order given (duplicates dropped)."""

    __slots__ = ("elements", "_set")

    def __init__(self, elements: Iterable[Hashable]):
        self.elements = tuple(dict.fromkeys(elements))
        self._set = frozenset(self.elements)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.elements)

    def __len__(self) -> int:
        return len(self.elements)

    def __contains__(self, x: object) -> bool:
        return x in self._set

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FinSetObject) and self._set == other._set

    def __hash__(self) -> int:
        return hash(self._set)

    def __repr__(self) -> str:
        shown = ", ".join(map(repr, self.elements[:8])) + (", ..." if len(self) > 8 else "")
        return "{" + shown + "}"


def as_finset(x: Iterable[Hashable]) -> FinSetObject:
    return x if isinstance(x, FinSetObject) else FinSetObject(x)


class FinFunction(Morphism):
    """A total function ``dom -> cod`` given by ``mapping``; checked at construction.

    ``category`` is the :class:`FinSetCategory` that composes it (default :data:`FinSet`;
    a subclass of the category hands itself so that its own composition is used).
    """

    def __init__(
        self,
        dom: Iterable[Hashable],
        cod: Iterable[Hashable],
        mapping: Mapping,
        category: FinSetCategory | None = None,
    ):
        self._dom, self._cod = as_finset(dom), as_finset(cod)
        self.mapping = {x: mapping[x] for x in self._dom if x in mapping}
        self.category = category if category is not None else FinSet
        missing = [x for x in self._dom if x not in mapping]
        if missing:
            raise MorphismError(f"function is not total: no value for {missing[:5]!r}")
        extra = [x for x in mapping if x not in self._dom]
        if extra:
            raise MorphismError(f"mapping has keys outside the domain: {extra[:5]!r}")
        for x, y in self.mapping.items():
            if y not in self._cod:
                raise MorphismError(f"value {y!r} of {x!r} is not in the codomain {self._cod!r}")

    @property
    def dom(self) -> FinSetObject:
        return self._dom

    @property
    def cod(self) -> FinSetObject:
        return self._cod

    def __call__(self, x: Hashable) -> Hashable:
        return self.mapping[x]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FinFunction)
            and self._dom == other._dom
            and self._cod == other._cod
            and self.mapping == other.mapping
        )

    def __hash__(self) -> int:
        return hash((self._dom, self._cod, frozenset(self.mapping.items())))

    def __repr__(self) -> str:
        pairs = ", ".join(f"{x!r}: {y!r}" for x, y in list(self.mapping.items())[:6])
        return (
            f"FinFunction({{{pairs}{', ...' if len(self.mapping) > 6 else ''}}} -> {self._cod!r})"
        )


class FinSetCategory(Category):
    """The category of finite sets; limits are computed as sets of compatible tuples."""

    name = "FinSet"

    def object(self, elements: Iterable[Hashable]) -> FinSetObject:
        return as_finset(elements)

    def morphism(
        self, dom: Iterable[Hashable], cod: Iterable[Hashable], mapping: Mapping
    ) -> FinFunction:
        """The function ``dom -> cod`` with ``mapping`` (a dict defined on all of ``dom``)."""
        return FinFunction(dom, cod, mapping, self)

    def identity(self, obj: Iterable[Hashable]) -> FinFunction:
        obj = as_finset(obj)
        return FinFunction(obj, obj, {x: x for x in obj}, self)

    def _compose(self, f: FinFunction, g: FinFunction) -> FinFunction:
        return FinFunction(f.dom, g.cod, {x: g.mapping[f.mapping[x]] for x in f.dom}, self)

    def same_object(self, a: Any, b: Any) -> bool:
        return as_finset(a) == as_finset(b)

    def is_iso(self, f: FinFunction) -> bool:
        return len(set(f.mapping.values())) == len(f.dom) == len(f.cod)

    def iso_defect(self, f: FinFunction) -> dict[str, Any]:
        image = set(f.mapping.values())
        return {
            "is_iso": self.is_iso(f),
            "merged": len(f.dom) - len(image),
            "missed": [y for y in f.cod if y not in image],
        }

    def is_object(self, x: Any) -> bool:
        return isinstance(x, FinSetObject)

    def limit(self, diagram: Diagram) -> Limit:
        return _finset_limit(diagram, self)

    def colimit(self, diagram: Diagram) -> Colimit:
        return _finset_colimit(diagram, self)


FinSet = FinSetCategory()


def _generators(shape: nx.MultiDiGraph) -> list[Hashable]:
    """Nodes whose values determine all others: sources, plus one node per source cycle."""
    condensed = nx.condensation(shape)
    return [
        next(iter(condensed.nodes[c]["members"]))
        for c in nx.topological_sort(condensed)
        if condensed.in_degree(c) == 0
    ]


@dataclass(frozen=True)
class _Tuples:
    """Elements of the limit: values at generator nodes (bare value when there is one)."""

    gens: tuple[Hashable, ...]

    def pack(self, values: Mapping[Hashable, Hashable]) -> Hashable:
        t = tuple(values[g] for g in self.gens)
        return t[0] if len(t) == 1 else t

    def unpack(self, element: Hashable) -> dict[Hashable, Hashable]:
        t = (element,) if len(self.gens) == 1 else element
        return dict(zip(self.gens, t))


def _complete(diagram: Diagram, seed: dict[Hashable, Hashable]) -> dict | None:
    """Propagate generator values along edges; ``None`` when two edges disagree."""
    values = dict(seed)
    changed = True
    while changed:
        changed = False
        for u, v, k in diagram.edges:
            if u in values:
                y = diagram.arrows[(u, v, k)](values[u])
                if v not in values:
                    values[v], changed = y, True
                elif values[v] != y:
                    return None
    return values


def _finset_limit(diagram: Diagram, category: FinSetCategory) -> Limit:
    gens = _generators(diagram.shape)
    tuples = _Tuples(tuple(gens))
    elements, rows = [], {}
    for combo in itertools.product(*(list(diagram.objects[g]) for g in gens)):
        values = _complete(diagram, dict(zip(gens, combo)))
        if values is not None:
            element = tuples.pack(values)
            elements.append(element)
            rows[element] = values
    apex = FinSetObject(elements)
    legs = {
        n: FinFunction(apex, diagram.objects[n], {e: rows[e][n] for e in elements}, category)
        for n in diagram.nodes
    }

    def mediate(cone: Cone) -> FinFunction:
        mapping = {x: tuples.pack({g: cone.legs[g](x) for g in gens}) for x in as_finset(cone.apex)}
        return FinFunction(cone.apex, apex, mapping, category)

    return Limit(diagram, Cone(apex, legs), mediate)


def _finset_colimit(diagram: Diagram, category: FinSetCategory) -> Colimit:
    tagged = [(n, x) for n in diagram.nodes for x in diagram.objects[n]]
    classes = nx.utils.UnionFind(tagged)
    for u, v, k in diagram.edges:
        f = diagram.arrows[(u, v, k)]
        for x in diagram.objects[u]:
            classes.union((u, x), (v, f(x)))
    sinks = [(diagram.shape.out_degree(n) > 0, i) for i, n in enumerate(diagram.nodes)]
    rank = dict(zip(diagram.nodes, sinks))
    order = {t: (rank[t[0]], i) for i, t in enumerate(tagged)}
    name = {}
    for members in classes.to_sets():
        first = min(members, key=order.__getitem__)
        name.update({t: first for t in members})
    apex = FinSetObject(name[t] for t in tagged)
    legs = {
        n: FinFunction(
            diagram.objects[n], apex, {x: name[(n, x)] for x in diagram.objects[n]}, category
        )
        for n in diagram.nodes
    }

    def mediate(cocone: Cocone) -> FinFunction:
        mapping = {(n, x): cocone.legs[n](x) for n, x in apex}
        return FinFunction(apex, cocone.apex, mapping, category)

    return Colimit(diagram, Cocone(apex, legs), mediate)

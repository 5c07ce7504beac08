"""Rel: finite sets and relations (``docs/catcore.md``, "Rel").

An arrow ``A -> B`` is a subset of ``A x B``; ``r ; s = {(a, c) : (a, b) in r, (b, c) in s}``
and the identity is the diagonal. ``converse`` reverses a relation: it is a functor
``Op(Rel) -> Rel`` (an isomorphism), checked by the functor suite.

>>> from catcore.instances import Rel
>>> r = Rel.relation({1, 2}, {"a", "b"}, {(1, "a"), (1, "b")})
>>> r >> Rel.relation({"a", "b"}, {0}, {("b", 0)})
Relation({(1, 0)})
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from catcore.category import Category, Morphism
from catcore.errors import MorphismError
from catcore.instances.finset import FinSetObject, as_finset


class Relation(Morphism):
    """A relation ``dom -> cod``: a set of pairs inside ``dom x cod``."""

    def __init__(self, category: RelCategory, dom: Any, cod: Any, pairs: Iterable[tuple]):
        self.category, self.dom, self.cod = category, as_finset(dom), as_finset(cod)
        self.pairs = frozenset(tuple(p) for p in pairs)
        outside = [p for p in self.pairs if p[0] not in self.dom or p[1] not in self.cod]
        if outside:
            raise MorphismError(f"pairs outside dom x cod: {sorted(outside, key=repr)[:5]!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Relation) and (self.dom, self.cod, self.pairs) == (
            other.dom,
            other.cod,
            other.pairs,
        )

    def __hash__(self) -> int:
        return hash((self.dom, self.cod, self.pairs))

    def __repr__(self) -> str:
        return "Relation({" + ", ".join(map(repr, sorted(self.pairs, key=repr))) + "})"


class RelCategory(Category):
    """The category of finite sets and relations."""

    name = "Rel"

    def relation(self, dom: Iterable[Hashable], cod: Iterable[Hashable], pairs: Any) -> Relation:
        return Relation(self, dom, cod, pairs)

    def graph(self, f: Any) -> Relation:
        """The graph ``{(x, f(x))}`` of a function (a :class:`FinFunction`)."""
        return Relation(self, f.dom, f.cod, f.mapping.items())

    def converse(self, r: Relation) -> Relation:
        """``{(b, a) : (a, b) in r}``: ``cod -> dom``."""
        return Relation(self, r.cod, r.dom, {(b, a) for a, b in r.pairs})

    def is_object(self, x: Any) -> bool:
        return isinstance(x, FinSetObject)

    def identity(self, obj: Any) -> Relation:
        return Relation(self, obj, obj, {(x, x) for x in as_finset(obj)})

    def _compose(self, r: Relation, s: Relation) -> Relation:
        after: dict[Hashable, list] = {}
        for b, c in s.pairs:
            after.setdefault(b, []).append(c)
        pairs = {(a, c) for a, b in r.pairs for c in after.get(b, ())}
        return Relation(self, r.dom, s.cod, pairs)

    def is_iso(self, r: Relation) -> bool:
        """Isomorphisms of Rel are the graphs of bijections."""
        firsts = [a for a, _ in r.pairs]
        seconds = [b for _, b in r.pairs]
        return len(set(firsts)) == len(firsts) == len(r.dom) and len(set(seconds)) == len(
            seconds
        ) == len(r.cod)


Rel = RelCategory()

"""DisCoPy categories, functors and natural transformations under catcore's law suites
(``pip install 'catcore[discopy]'``; ``docs/catcore.md``, "DisCoPy").

:class:`DisCoPyCategory` wraps any DisCoPy arrow type with ``id`` and ``then`` (``cat.Arrow``,
``Matrix[int]``, ``python.finset.Function``, ...) as a catcore :class:`~catcore.Category`
whose arrows are :class:`Wrapped` DisCoPy arrows; ``contract(arrow)`` states what an arrow
of the category must satisfy (its hom-membership), so that a composite or an identity that
breaks it fails the suites. :func:`functor` turns a ``discopy.cat.Functor`` into a catcore
:class:`~catcore.Functor` between two such categories, and :func:`natural` builds a
natural transformation from DisCoPy components.

>>> from discopy import cat
>>> x, y = cat.Ob("x"), cat.Ob("y")
>>> C = DisCoPyCategory(cat.Arrow, name="Free(x, y)")
>>> f = C.wrap(cat.Box("f", x, y))
>>> (C.identity(x) >> f) == f
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catcore.category import Category, Morphism
from catcore.functor import Functor
from catcore.natural import NaturalTransformation

try:
    import discopy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("catcore.interop.discopy needs pip install 'catcore[discopy]'") from exc


class Wrapped(Morphism):
    """A DisCoPy arrow ``inner`` as an arrow of a :class:`DisCoPyCategory`."""

    def __init__(self, category: DisCoPyCategory, inner: Any):
        self.category, self.inner = category, inner

    @property
    def dom(self) -> Any:
        return self.inner.dom

    @property
    def cod(self) -> Any:
        return self.inner.cod

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Wrapped) and bool(self.inner == other.inner)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.inner)


class DisCoPyCategory(Category):
    """The category of DisCoPy arrows of ``arrow_type``: identities ``arrow_type.id(x)``,
    composition ``f.then(g)``.

    ``contract(inner)`` returns why a DisCoPy arrow is not an arrow of this category
    (``None`` when it is one), for example "a dictionary from ``range(dom)`` to
    ``range(cod)``"; by default every arrow of ``arrow_type`` is one.
    """

    def __init__(
        self,
        arrow_type: type,
        name: str | None = None,
        contract: Callable[[Any], str | None] | None = None,
    ):
        self.arrow_type = arrow_type
        self.name = name or f"DisCoPy({arrow_type.__name__})"
        self.contract = contract

    def wrap(self, inner: Any) -> Wrapped:
        return Wrapped(self, inner)

    def arrow_problem(self, f: Any) -> str | None:
        problem = super().arrow_problem(f)
        if problem is None and not isinstance(f.inner, self.arrow_type):
            problem = f"{f.inner!r} is not a {self.arrow_type.__name__}"
        if problem is None and self.contract is not None:
            problem = self.contract(f.inner)
        return problem

    def identity(self, obj: Any) -> Wrapped:
        return Wrapped(self, self.arrow_type.id(obj))

    def _compose(self, f: Wrapped, g: Wrapped) -> Wrapped:
        return Wrapped(self, f.inner.then(g.inner))


def functor(F: Any, dom: DisCoPyCategory, cod: DisCoPyCategory, name: str = "F") -> Functor:
    """The DisCoPy functor ``F`` (``F(ob)``, ``F(arrow)``) as a catcore functor."""
    return Functor(dom, cod, lambda x: F(x), lambda f: cod.wrap(F(f.inner)), name=name)


def natural(
    source: Functor, target: Functor, component: Callable[[Any], Any], name: str = "alpha"
) -> NaturalTransformation:
    """A natural transformation whose component at ``x`` is the DisCoPy arrow
    ``component(x): source(x) -> target(x)`` of ``source.cod``."""
    D = source.cod
    return NaturalTransformation(source, target, lambda x: D.wrap(component(x)), name=name)


def function_contract(f: Any) -> str | None:
    """What ``discopy.python.finset.Function``'s docstring promises: ``inside`` is a
    dictionary from ``range(dom)`` to ``range(cod)``."""
    if set(f.inside) != set(range(f.dom)):
        return f"keys {sorted(f.inside)} are not range(dom={f.dom})"
    outside = [v for v in f.inside.values() if not 0 <= v < f.cod]
    if outside:
        return f"values {outside} fall outside range(cod={f.cod})"
    return None

"""The laws of categories, functors and natural transformations, as data for
:func:`catcore.laws.check` (``docs/catcore.md``, "Law suites").

Each rule set names the *kinds* of example its laws need; :func:`category_gens` builds the
usual kinds (``object``, ``arrow``, ``chain2``, ``chain3``) from a strategy of objects and
one of arrows out of (or between) objects, so checking a new category takes one call. Every
suite also checks that the arrows it is handed and those it produces are arrows of the
right category with the right ends (:mod:`catcore.suites.typing`), and compares with the
target category's own equality unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from catcore.category import Category
from catcore.equality import Equality
from catcore.functor import Functor
from catcore.laws import Equation, Law, Report, RuleSet, check
from catcore.natural import NaturalTransformation
from catcore.suites.typing import typed


def category_laws(C: Category) -> RuleSet:
    """``id ; f = f``, ``f ; id = f`` (kind ``arrow``) and associativity (kind ``chain3``),
    with the typing of generated arrows, identities and composites."""

    def arrows_typed(f: Any) -> Equation:
        return typed(
            C,
            {
                "the arrow": (f, f.dom, f.cod),
                "id(dom)": (C.identity(f.dom), f.dom, f.dom),
                "id(cod)": (C.identity(f.cod), f.cod, f.cod),
            },
        )

    def composites_typed(fgh: tuple) -> Equation:
        f, g, h = fgh
        return typed(
            C,
            {
                "f ; g": (C.compose(f, g), f.dom, g.cod),
                "g ; h": (C.compose(g, h), g.dom, h.cod),
                "f ; g ; h": (C.compose(f, g, h), f.dom, h.cod),
            },
        )

    return RuleSet(
        f"category {C.name}",
        (
            Law("arrows and identities are well typed", "arrow", arrows_typed),
            Law("composites are well typed", "chain3", composites_typed),
            Law("left identity", "arrow", lambda f: Equation(C.compose(C.identity(f.dom), f), f)),
            Law("right identity", "arrow", lambda f: Equation(C.compose(f, C.identity(f.cod)), f)),
            Law(
                "associativity",
                "chain3",
                lambda fgh: Equation(
                    C.compose(C.compose(fgh[0], fgh[1]), fgh[2]),
                    C.compose(fgh[0], C.compose(fgh[1], fgh[2])),
                ),
            ),
        ),
        equality=C.equality,
    )


def functor_laws(F: Functor, eq: Equality | None = None) -> RuleSet:
    """``F(id_A) = id_{F A}`` (kind ``object``) and ``F(f ; g) = F f ; F g`` (kind
    ``chain2``), with ``F f : F A -> F B`` an arrow of ``F.cod`` for every arrow handed."""
    C, D = F.dom, F.cod

    def images_typed(fg: tuple) -> Equation:
        f, g = fg
        checks = {"F f": (F.ar(f), F.ob(f.dom), F.ob(f.cod))}
        checks["F g"] = (F.ar(g), F.ob(g.dom), F.ob(g.cod))
        checks["F (f ; g)"] = (F.ar(C.compose(f, g)), F.ob(f.dom), F.ob(g.cod))
        return typed(D, checks)

    return RuleSet(
        f"functor {F.name}",
        (
            Law(
                "identity image is well typed",
                "object",
                lambda a: typed(D, {"F id": (F.ar(C.identity(a)), F.ob(a), F.ob(a))}),
            ),
            Law("arrow images are well typed", "chain2", images_typed),
            Law(
                "functor preserves identity",
                "object",
                lambda a: Equation(F.ar(C.identity(a)), D.identity(F.ob(a)), eq=eq),
            ),
            Law(
                "functor preserves composition",
                "chain2",
                lambda fg: Equation(
                    F.ar(C.compose(*fg)), D.compose(F.ar(fg[0]), F.ar(fg[1])), eq=eq
                ),
            ),
        ),
        equality=D.equality,
    )


def naturality_laws(alpha: NaturalTransformation, eq: Equality | None = None) -> RuleSet:
    """``F f ; alpha_B = alpha_A ; G f`` for every arrow ``f: A -> B`` (kind ``arrow``),
    with each component ``alpha_A : F A -> G A`` an arrow of the target category."""
    F, G = alpha.source, alpha.target
    D = F.cod

    def components_typed(f: Any) -> Equation:
        return typed(
            D,
            {
                f"component at {end}": (alpha(x), F.ob(x), G.ob(x))
                for end, x in (("dom", f.dom), ("cod", f.cod))
            },
        )

    return RuleSet(
        f"naturality of {alpha.name}",
        (
            Law("components are well typed", "arrow", components_typed),
            Law("naturality square", "arrow", lambda f: Equation(*alpha.square(f), eq=eq)),
        ),
        equality=D.equality,
    )


def category_gens(
    objects: st.SearchStrategy,
    hom: Callable[[Any, Any], st.SearchStrategy] | None = None,
    arrows_from: Callable[[Any], st.SearchStrategy] | None = None,
) -> dict[str, st.SearchStrategy]:
    """Strategies of kinds ``object``, ``arrow``, ``chain2``, ``chain3`` for a category.

    Give ``hom(A, B)`` (arrows between two drawn objects) or ``arrows_from(A)`` (arrows out
    of ``A``, for categories whose hom-sets are often empty, like posets and free categories).
    """
    if (hom is None) == (arrows_from is None):
        raise ValueError("give exactly one of hom= or arrows_from=")

    if arrows_from is not None:

        def after(chain: tuple) -> st.SearchStrategy:
            return arrows_from(chain[-1].cod).map(lambda g: (*chain, g))

        arrow = objects.flatmap(arrows_from)
    else:

        def after(chain: tuple) -> st.SearchStrategy:
            return objects.flatmap(lambda B: hom(chain[-1].cod, B)).map(lambda g: (*chain, g))

        arrow = st.tuples(objects, objects).flatmap(lambda ab: hom(*ab))
    chain2 = arrow.map(lambda f: (f,)).flatmap(after)
    chain3 = chain2.flatmap(after)
    return {"object": objects, "arrow": arrow, "chain2": chain2, "chain3": chain3}


def check_category(
    C: Category,
    objects: st.SearchStrategy,
    hom: Callable[[Any, Any], st.SearchStrategy] | None = None,
    arrows_from: Callable[[Any], st.SearchStrategy] | None = None,
    eq: Equality | None = None,
    max_examples: int | None = None,
) -> Report:
    """All category laws for ``C`` in one call (see :func:`category_gens`)."""
    return check(category_laws(C), category_gens(objects, hom, arrows_from), eq, max_examples)

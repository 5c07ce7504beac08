"""Standard rule sets: the laws of categories, functors, natural transformations, 2-cells
and limits, as data for :func:`catcore.laws.check` (``docs/catcore.md``, "Law suites").

Each rule set names the *kinds* of example its laws need; :func:`category_gens` builds the
usual kinds (``object``, ``arrow``, ``chain2``, ``chain3``) from a strategy of objects and
one of arrows out of (or between) objects, so checking a new category takes one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from catcore.category import Category, Morphism
from catcore.equality import Equality
from catcore.functor import Functor
from catcore.laws import Equation, Law, Report, RuleSet, check
from catcore.limits import Cone, Diagram, Preservation, preservation
from catcore.natural import NaturalTransformation
from catcore.twocell import TwoCategory


def category_laws(C: Category) -> RuleSet:
    """``id ; f = f``, ``f ; id = f`` (kind ``arrow``) and associativity (kind ``chain3``)."""
    return RuleSet(
        f"category {C.name}",
        (
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
    )


def functor_laws(F: Functor, eq: Equality | None = None) -> RuleSet:
    """``F(id_A) = id_{F A}`` (kind ``object``) and ``F(f ; g) = F f ; F g`` (kind ``chain2``)."""
    return RuleSet(
        f"functor {F.name}",
        (
            Law(
                "functor preserves identity",
                "object",
                lambda a: Equation(F.ar(F.dom.identity(a)), F.cod.identity(F.ob(a)), eq=eq),
            ),
            Law(
                "functor preserves composition",
                "chain2",
                lambda fg: Equation(
                    F.ar(F.dom.compose(*fg)), F.cod.compose(F.ar(fg[0]), F.ar(fg[1])), eq=eq
                ),
            ),
        ),
    )


def naturality_laws(alpha: NaturalTransformation, eq: Equality | None = None) -> RuleSet:
    """``F f ; alpha_B = alpha_A ; G f`` for every arrow ``f: A -> B`` (kind ``arrow``)."""
    return RuleSet(
        f"naturality of {alpha.name}",
        (Law("naturality square", "arrow", lambda f: Equation(*alpha.square(f), eq=eq)),),
    )


def twocell_laws(K: TwoCategory) -> RuleSet:
    """Unit and associativity of vertical composition, and the interchange law.

    Kinds: ``cell`` (one 2-cell), ``vchain3`` (three vertically composable 2-cells) and
    ``interchange`` (``(alpha, beta, gamma, delta)`` with ``alpha;beta`` and ``gamma;delta``
    vertically composable and ``alpha``, ``gamma`` horizontally composable). The vertical
    laws compare with ``K.vertical_equality`` when it is set, the others with the equality
    handed to the check.
    """
    veq = K.vertical_equality

    def interchange(cells: tuple) -> Equation:
        a, b, c, d = cells
        return Equation(
            K.hcompose(K.vcompose(a, b), K.vcompose(c, d)),
            K.vcompose(K.hcompose(a, c), K.hcompose(b, d)),
        )

    def associativity(abc: tuple) -> Equation:
        a, b, c = abc
        return Equation(K.vcompose(K.vcompose(a, b), c), K.vcompose(a, K.vcompose(b, c)), eq=veq)

    return RuleSet(
        f"2-cells of {K.name}",
        (
            Law(
                "vertical left unit",
                "cell",
                lambda a: Equation(K.vcompose(K.id2(a.source), a), a, eq=veq),
            ),
            Law(
                "vertical right unit",
                "cell",
                lambda a: Equation(K.vcompose(a, K.id2(a.target)), a, eq=veq),
            ),
            Law("vertical associativity", "vchain3", associativity),
            Law("interchange", "interchange", interchange),
        ),
        parents=(category_laws(K),),
    )


def _legs_after(C: Category, u: Morphism, legs: dict) -> tuple:
    return tuple(C.compose(u, legs[n]) for n in sorted(legs, key=repr))


def limit_laws(C: Category) -> RuleSet:
    """Laws of ``C.limit``: the limit cone commutes (kind ``diagram``); on a cone over a
    diagram (kind ``cone``: ``(diagram, cone)``) the mediating morphism commutes; and among
    candidate arrows (kind ``candidates``: ``(diagram, cone, arrows)``) every arrow that
    commutes with the legs equals the mediating one (uniqueness, checked on samples).
    """

    def cone_commutes(d: Diagram) -> Equation:
        L = C.limit(d)
        lhs = tuple(C.compose(L.leg(u), d.arrows[(u, v, k)]) for u, v, k in d.edges)
        return Equation(lhs, tuple(L.leg(v) for _, v, _ in d.edges))

    def mediating_commutes(dc: tuple[Diagram, Cone]) -> Equation:
        d, cone = dc
        L = C.limit(d)
        u = L.mediate(cone)  # the algorithm's answer, before universal()'s own check
        order = sorted(d.nodes, key=repr)
        return Equation(
            tuple(C.compose(u, L.leg(n)) for n in order), tuple(cone.legs[n] for n in order)
        )

    def unique(dcm: tuple[Diagram, Cone, Any]) -> Equation | None:
        d, cone, candidates = dcm
        L = C.limit(d)
        legs = {n: L.leg(n) for n in d.nodes}
        want = tuple(cone.legs[n] for n in sorted(legs, key=repr))
        commuting = [m for m in candidates if C.equality(_legs_after(C, m, legs), want)]
        if not commuting:
            return None
        u = L.mediate(cone)
        return Equation(tuple(commuting), tuple(u for _ in commuting))

    return RuleSet(
        f"limits of {C.name}",
        (
            Law("limit cone commutes", "diagram", cone_commutes),
            Law("mediating morphism commutes", "cone", mediating_commutes),
            Law("mediating morphism is unique", "candidates", unique),
        ),
    )


class _IsPreserved:
    """Equality for the preservation law: holds when the probe's verdict is "preserved";
    a mismatch is explained by the probe's defect (rank gap, missed elements, ...)."""

    def __call__(self, p: Preservation, _want: Any) -> bool:
        return bool(p.preserved)

    def explain(self, p: Preservation, _want: Any) -> str:
        return f"comparison map {p.comparison!r} is not an isomorphism: {p.defect}"


def preservation_laws(F: Functor) -> RuleSet:
    """``F`` preserves the limit of each sampled diagram (kind ``diagram`` in ``F.dom``):
    the comparison map ``F(lim D) -> lim(F . D)`` is an isomorphism (decided by
    ``F.cod.is_iso``, whatever equality the check is given)."""

    def preserved(d: Diagram) -> Equation:
        return Equation(preservation(F, d), True, eq=_IsPreserved())

    return RuleSet(
        f"{F.name} preserves limits", (Law("comparison map is iso", "diagram", preserved),)
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
    return check(
        category_laws(C), category_gens(objects, hom, arrows_from), eq or C.equality, max_examples
    )

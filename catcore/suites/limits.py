"""The laws of limits and colimits, and of their preservation by a functor
(``docs/catcore.md``, "Laws of limits and colimits").

Kinds for :func:`limit_laws`: ``diagram``, ``cone`` = ``(diagram, cone)`` and
``candidates`` = ``(diagram, cone, arrows)``; for :func:`colimit_laws`: ``diagram``,
``cocone`` and ``cocandidates``. The cones and cocones must come from a method independent
of the algorithm under test (brute force, a second implementation): a cone built by
factoring through the computed apex cannot expose a limit that is a cone but not universal.
:func:`catcore.strategies.limit_gens` assembles the kinds from such strategies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catcore.category import Category
from catcore.colimits import colimit_preservation
from catcore.diagram import Diagram, edge_name
from catcore.functor import Functor
from catcore.laws import Equation, Law, RuleSet
from catcore.limits import Preservation, preservation
from catcore.suites.typing import typed


def _given(family: Any, d: Diagram) -> None:
    """Refuse a generated (co)cone that is not one: the generator is wrong, not the limit."""
    problems = family.failures(d)
    if problems:
        kind = type(family).__name__.lower()
        raise ValueError(f"the generator produced a {kind} that is not one: {problems[0]}")


def _side_laws(C: Category, co: bool) -> tuple[Law, ...]:
    """The five laws of limits (``co=False``) or colimits (``co=True``) of ``C``."""
    compute: Callable[[Diagram], Any] = C.colimit if co else C.limit
    word, family = ("colimit", "cocone") if co else ("limit", "cone")

    def legs_typed(d: Diagram) -> Equation:
        L = compute(d)
        return typed(
            C,
            {
                f"leg at node {n!r}": (
                    L.leg(n),
                    *((d.objects[n], L.apex) if co else (L.apex, d.objects[n])),
                )
                for n in d.nodes
            },
        )

    def commutes(d: Diagram) -> Equation:
        L = compute(d)
        lhs, rhs = {}, {}
        for e in d.edges:
            u, v, _ = e
            key = f"edge {edge_name(e)}"
            if co:
                lhs[key], rhs[key] = C.compose(d.arrows[e], L.leg(v)), L.leg(u)
            else:
                lhs[key], rhs[key] = C.compose(L.leg(u), d.arrows[e]), L.leg(v)
        return Equation(lhs, rhs)

    def mediator(dc: tuple) -> tuple[Any, Any]:
        d, given = dc
        _given(given, d)
        L = compute(d)
        return L, L.mediate(given)  # the algorithm's answer, before universal()'s own check

    def mediating_typed(dc: tuple) -> Equation:
        L, u = mediator(dc)
        ends = (L.apex, dc[1].apex) if co else (dc[1].apex, L.apex)
        return typed(C, {"mediating morphism": (u, *ends)})

    def after(L: Any, u: Any, d: Diagram) -> dict:
        if co:
            return {f"node {n!r}": C.compose(L.leg(n), u) for n in d.nodes}
        return {f"node {n!r}": C.compose(u, L.leg(n)) for n in d.nodes}

    def mediating_commutes(dc: tuple) -> Equation:
        L, u = mediator(dc)
        d, given = dc
        return Equation(after(L, u, d), {f"node {n!r}": given.legs[n] for n in d.nodes})

    def unique(dcm: tuple) -> Equation | None:
        d, given, candidates = dcm
        L, u = mediator((d, given))
        want = {f"node {n!r}": given.legs[n] for n in d.nodes}
        commuting = [m for m in candidates if C.equality(after(L, m, d), want)]
        if not commuting:
            return None
        return Equation(tuple(commuting), tuple(u for _ in commuting))

    kinds = ("cocone", "cocandidates") if co else ("cone", "candidates")
    return (
        Law(f"{word} legs are well typed", "diagram", legs_typed),
        Law(f"{word} {family} commutes", "diagram", commutes),
        Law("mediating morphism is well typed", kinds[0], mediating_typed),
        Law("mediating morphism commutes", kinds[0], mediating_commutes),
        Law("mediating morphism is unique", kinds[1], unique),
    )


def limit_laws(C: Category) -> RuleSet:
    """Laws of ``C.limit``: the limit cone is well typed and commutes (kind ``diagram``);
    on an independent cone (kind ``cone``) the mediating morphism is an arrow
    ``cone.apex -> lim`` that commutes with every leg; among candidate arrows (kind
    ``candidates``) every one that commutes equals the mediating one (uniqueness)."""
    return RuleSet(f"limits of {C.name}", _side_laws(C, co=False), equality=C.equality)


def colimit_laws(C: Category) -> RuleSet:
    """The dual of :func:`limit_laws` for ``C.colimit``: kinds ``diagram``, ``cocone`` and
    ``cocandidates``."""
    return RuleSet(f"colimits of {C.name}", _side_laws(C, co=True), equality=C.equality)


class _IsPreserved:
    """Equality for the preservation laws: holds when the probe's verdict is "preserved";
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


def colimit_preservation_laws(F: Functor) -> RuleSet:
    """``F`` preserves the colimit of each sampled diagram: the comparison map
    ``colim(F . D) -> F(colim D)`` is an isomorphism."""

    def preserved(d: Diagram) -> Equation:
        return Equation(colimit_preservation(F, d), True, eq=_IsPreserved())

    return RuleSet(
        f"{F.name} preserves colimits", (Law("comparison map is iso", "diagram", preserved),)
    )

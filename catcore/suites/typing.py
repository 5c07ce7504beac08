"""Hom-membership as an equation: the checks every suite makes on the arrows it is handed
and on the arrows it produces (``docs/catcore.md``, "Law suites").

``typed(C, {label: (arrow, dom, cod)})`` is an :class:`~catcore.laws.Equation` that holds
when every ``arrow`` is an arrow ``dom -> cod`` of ``C`` (:meth:`Category.hom_problem`);
its failure names the first label that is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from catcore.category import Category
from catcore.laws import Equation


@dataclass(frozen=True)
class InHom:
    """Equality-shaped check: ``lhs[label]`` is an arrow ``rhs[label]`` of ``category``."""

    category: Category

    def problem(self, arrows: Mapping, ends: Mapping) -> str | None:
        for label, f in arrows.items():
            why = self.category.hom_problem(f, *ends[label])
            if why is not None:
                return f"{label} is not an arrow {ends[label][0]!r} -> {ends[label][1]!r}: {why}"
        return None

    def __call__(self, arrows: Mapping, ends: Mapping) -> bool:
        return self.problem(arrows, ends) is None

    def explain(self, arrows: Mapping, ends: Mapping) -> str:
        return self.problem(arrows, ends) or "well typed"


def typed(category: Category, checks: Mapping[str, tuple[Any, Any, Any]]) -> Equation:
    """The equation "each ``arrow`` is an arrow ``dom -> cod`` of ``category``"."""
    arrows = {label: c[0] for label, c in checks.items()}
    ends = {label: (c[1], c[2]) for label, c in checks.items()}
    return Equation(arrows, ends, eq=InHom(category))


@dataclass(frozen=True)
class IsCell:
    """Equality-shaped check: every ``lhs[label]`` is a 2-cell of ``category`` (``rhs`` is
    ignored); see :meth:`TwoCategory.cell_problem`."""

    category: Any

    def problem(self, cells: Mapping) -> str | None:
        for label, alpha in cells.items():
            if (why := self.category.cell_problem(alpha)) is not None:
                return f"{label}: {why}"
        return None

    def __call__(self, cells: Mapping, _: Any) -> bool:
        return self.problem(cells) is None

    def explain(self, cells: Mapping, _: Any) -> str:
        return self.problem(cells) or "well formed"

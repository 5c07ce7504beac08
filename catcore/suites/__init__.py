"""Standard rule sets: the laws of categories, functors, natural transformations, 2-cells,
limits and colimits, as data for :func:`catcore.laws.check` (``docs/catcore.md``,
"Law suites"). Generators for them are in :mod:`catcore.strategies`."""

from catcore.suites.basic import (
    category_gens,
    category_laws,
    check_category,
    functor_laws,
    naturality_laws,
)
from catcore.suites.limits import (
    colimit_laws,
    colimit_preservation_laws,
    limit_laws,
    preservation_laws,
)
from catcore.suites.twocells import twocell_laws
from catcore.suites.typing import InHom, IsCell, typed

__all__ = [
    "InHom",
    "IsCell",
    "category_gens",
    "category_laws",
    "check_category",
    "colimit_laws",
    "colimit_preservation_laws",
    "functor_laws",
    "limit_laws",
    "naturality_laws",
    "preservation_laws",
    "twocell_laws",
    "typed",
]

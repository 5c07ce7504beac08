"""Hypothesis strategies for the law suites: generic builders for any category
(:func:`twocell_gens`, :func:`limit_gens`, :func:`colimit_gens`, brute-force (co)cones),
ready-made ones for every built-in instance and construction, each taking the category as
a parameter, and :func:`builtin_checks`, the catalogue that ``catcore laws`` runs
(``docs/catcore.md``, "Law suites")."""

from catcore.strategies.catalogue import BuiltinCheck, builtin_checks, law_table
from catcore.strategies.generic import (
    Kit,
    colimit_gens,
    enumerated_cocones,
    enumerated_cones,
    limit_gens,
    named_shapes,
    on_shape,
    twocell_gens,
)

__all__ = [
    "BuiltinCheck",
    "Kit",
    "builtin_checks",
    "law_table",
    "colimit_gens",
    "enumerated_cocones",
    "enumerated_cones",
    "limit_gens",
    "named_shapes",
    "on_shape",
    "twocell_gens",
]

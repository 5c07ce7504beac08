"""The library's proof obligations, one module per area; :func:`load` registers them all.

Modules import only catcore, sympy, numpy and hypothesis at import time; anything from
``adapters`` (torch) is imported inside the check that needs it, so one broken adapter makes
its obligations fail without stopping the others.
"""

from __future__ import annotations

import importlib

from proofs_check.registry import REGISTRY, Registry

MODULES: tuple[str, ...] = (
    "paths",
    "twocells",
    "learning",
    "limits",
    "laws",
    "suites",
    "landscapes",
    "networks",
    "fisher",
    "federated",
)


def load() -> Registry:
    """Import every obligation module (registering into :data:`REGISTRY`) and return it."""
    for name in MODULES:
        importlib.import_module(f"proofs_check.obligations.{name}")
    return REGISTRY

"""Torch instances of the paper's categories and the algorithms derived from them.

``catcore`` is the framework-free layer; everything that touches PyTorch lives here and
needs the ``nets`` extra (``pip install 'catcore[nets]'``). The names below are the public
API, imported on first use, so that ``import adapters`` (and the command line's core
commands) work without torch and a missing extra is named when a name is asked for.
See ``docs/adapters.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

from adapters.extras import require_nets

#: Public name -> the module that defines it.
_API = {
    "Engine": "adapters.nets.engine",
    "ParamSpace": "adapters.nets.params",
    "Param": "adapters.categories.param",
    "Rep": "adapters.categories.rep",
    "LearningFunctor": "adapters.categories.learning",
    "verify_functor": "adapters.categories.learning",
    "train": "adapters.nets.training",
    "loss_barrier": "adapters.constructions.barrier",
    "are_homotopic": "adapters.constructions.homotopy",
    "homotopy_classes": "adapters.constructions.class_search",
    "landscape_persistence": "adapters.constructions.persistence",
    "total_persistence": "adapters.constructions.diagrams",
    "pullback_transfer": "adapters.constructions.transfer",
    "limit_preservation_probe": "adapters.constructions.multitask",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'adapters' has no attribute {name!r}")
    require_nets(f"adapters.{name}")
    return getattr(importlib.import_module(_API[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

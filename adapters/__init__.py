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
    "Engine": "adapters.engine",
    "ParamSpace": "adapters.params",
    "Param": "adapters.param",
    "Rep": "adapters.rep",
    "LearningFunctor": "adapters.functor",
    "verify_functor": "adapters.functor",
    "train": "adapters.training",
    "loss_barrier": "adapters.barrier",
    "are_homotopic": "adapters.homotopy",
    "homotopy_classes": "adapters.homotopy",
    "landscape_persistence": "adapters.persistence",
    "total_persistence": "adapters.persistence",
    "pullback_transfer": "adapters.transfer",
    "limit_preservation_probe": "adapters.multitask",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'adapters' has no attribute {name!r}")
    require_nets(f"adapters.{name}")
    return getattr(importlib.import_module(_API[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Executors by name: the one place that knows every backend (``docs/cluster.md``)."""

from __future__ import annotations

from typing import Any

from adapters.runtime.executor import Executor, LocalExecutor


def make_executor(name: str, **options: Any) -> Executor:
    """An executor by name: ``"local"`` (:class:`~adapters.runtime.executor.LocalExecutor`;
    options ``workers``, ``threads``, ``max_retries``) or ``"ray"``
    (:class:`~adapters.runtime.ray_executor.RayExecutor`; options ``address``, ``num_cpus``,
    ``max_retries``, ...)."""
    if name == "local":
        return LocalExecutor(**options)
    if name == "ray":
        from adapters.runtime.ray_executor import RayExecutor

        return RayExecutor(**options)
    raise ValueError(f"executor must be 'local' or 'ray', got {name!r}")

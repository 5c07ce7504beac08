"""Run work items on a Ray cluster, or on a Ray instance started on this machine.

Ray is an optional extra (``pip install "catcore[ray]"``); it is imported when a
:class:`RayExecutor` is made. Each :class:`~adapters.runtime.executor.WorkItem` becomes one Ray task
(``num_cpus=cpus_per_item``) that Ray retries up to ``max_retries`` times when its worker
process or node dies; an exception raised by the item itself is not retried (it would
fail again). Completions are streamed with ``ray.wait``, so
:func:`~adapters.runtime.executor.run_items`
stores each result the moment it arrives. At most ``max_in_flight`` tasks are submitted
at once (default: twice the cluster's CPUs), which bounds memory on the driver for long
item lists. See ``docs/cluster.md``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from adapters.runtime.executor import Executor, WorkItem, WorkItemError, check_picklable, execute

INSTALL_HINT = 'RayExecutor needs Ray, an optional extra: pip install "catcore[ray]"'


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return ray


def _driver_paths() -> list[str]:
    """This process's import path (folders only): workers append what they lack, so a
    module-level function from a script's folder imports there as it does here."""
    paths = [os.path.abspath(p or os.curdir) for p in sys.path]
    return [p for p in dict.fromkeys(paths) if os.path.isdir(p)]


def _ray_call(paths: list[str], payload: bytes) -> Any:
    """The Ray task: extend the import path, unpickle the item, run it."""
    sys.path.extend(p for p in paths if p not in sys.path)
    fn, args, kwargs, threads = pickle.loads(payload)
    return execute(fn, args, kwargs, threads)


class RayExecutor(Executor):
    """Work items as Ray tasks.

    ``address``: ``None`` starts a local Ray instance with ``num_cpus`` CPUs (default: all)
    that :meth:`close` shuts down; ``"auto"`` joins the cluster already running on this
    node; ``"HOST:6379"`` (or ``"ray://HOST:10001"``) joins that cluster. If Ray is already
    initialized in this process it is used as it is and left running. ``max_retries``: how
    often a task is rerun after its worker dies. ``threads``: torch threads per item.
    ``init_options``: further keyword arguments of ``ray.init`` (e.g. ``runtime_env``).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = 3,
        cpus_per_item: float = 1,
        threads: int | None = 1,
        max_in_flight: int | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if address is not None and num_cpus is not None:
            raise ValueError(
                f"num_cpus={num_cpus} applies to a local instance (address=None); "
                f"a cluster's CPUs are set by `ray start --num-cpus` on each node"
            )
        if num_cpus is not None and (not isinstance(num_cpus, int) or num_cpus < 1):
            raise ValueError(f"num_cpus must be a positive integer, got {num_cpus!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if not cpus_per_item > 0:
            raise ValueError(f"cpus_per_item must be positive, got {cpus_per_item!r}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if max_in_flight is not None and (not isinstance(max_in_flight, int) or max_in_flight < 1):
            raise ValueError(f"max_in_flight must be a positive integer, got {max_in_flight!r}")
        self.ray = import_ray()
        self.address, self.num_cpus, self.max_retries = address, num_cpus, max_retries
        self.cpus_per_item, self.threads, self.max_in_flight = cpus_per_item, threads, max_in_flight
        self.init_options = dict(init_options or {})
        self.owned = False
        self._task: Any = None

    def __repr__(self) -> str:
        where = self.address or "local instance"
        return f"RayExecutor({where!r}, max_retries={self.max_retries}, owned={self.owned})"

    def connect(self) -> None:
        """Join or start Ray now (otherwise done by the first :meth:`imap`)."""
        ray = self.ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"logging_level": logging.WARNING, **self.init_options}
            if self.address is None:
                options.setdefault("include_dashboard", False)
                if self.num_cpus is not None:
                    options["num_cpus"] = self.num_cpus
            ray.init(address=self.address or "local", **options)
            self.owned = True
        if self._task is None:
            self._task = ray.remote(num_cpus=self.cpus_per_item, max_retries=self.max_retries,
                                    retry_exceptions=False)(_ray_call)  # fmt: skip

    def cluster_cpus(self) -> int:
        """CPUs of the cluster (connecting first if needed)."""
        self.connect()
        return int(self.ray.cluster_resources().get("CPU", 1))

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "executor": "ray",
            "address": self.address,
            "max_retries": self.max_retries,
            "threads": self.threads,
        }
        if self.ray.is_initialized():
            info["cluster_cpus"] = self.cluster_cpus()
        return info

    def imap(self, items: Sequence[WorkItem]) -> Iterator[tuple[str, Any]]:
        for item in items:
            check_picklable(item)
        self.connect()
        return self._stream(items)

    def _submit(self, item: WorkItem, paths: list[str]) -> Any:
        try:
            payload = self.ray.cloudpickle.dumps((item.fn, item.args, item.kwargs, self.threads))
        except Exception as exc:
            raise TypeError(f"work item {item.key!r}: its arguments cannot be pickled "
                            f"({type(exc).__name__}: {exc})") from exc  # fmt: skip
        return self._task.remote(paths, payload)

    def _stream(self, items: Sequence[WorkItem]) -> Iterator[tuple[str, Any]]:
        ray = self.ray
        paths = _driver_paths()
        window = self.max_in_flight or max(2, 2 * self.cluster_cpus())
        queue = iter(items)
        pending: dict[Any, str] = {}
        try:
            for item in queue:
                pending[self._submit(item, paths)] = item.key
                if len(pending) >= window:
                    break
            while pending:
                [ref], _ = ray.wait(list(pending), num_returns=1)
                key = pending.pop(ref)
                yield key, self._result(ray, ref, key)
                for item in queue:
                    pending[self._submit(item, paths)] = item.key
                    break
        finally:
            # force: a plain cancel raises KeyboardInterrupt inside the task, which can land
            # in the middle of an import (torch, numpy) and leave a worker that Ray reuses
            # but that can never import it again; a killed worker is replaced by a fresh one
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)

    def _result(self, ray: Any, ref: Any, key: str) -> Any:
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None) or exc
            raise WorkItemError(key, f"{type(cause).__name__}: {cause}") from exc
        except ray.exceptions.RayError as exc:
            message = (f"its worker was lost and max_retries={self.max_retries} retries "
                       f"are spent ({type(exc).__name__})")  # fmt: skip
            raise WorkItemError(key, message) from exc

    def close(self) -> None:
        """Shut Ray down if this executor started it; leave a joined cluster running."""
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()
        self.owned = False
        self._task = None

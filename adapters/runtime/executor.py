"""Executors for idempotent, keyed work items: run locally, in a process pool, or on Ray.

The embarrassingly parallel parts of the studies (training the networks of an ensemble,
the barriers of all pairs, loss landscapes at many checkpoints) are lists of
:class:`WorkItem`: a *key* naming what is computed, a module-level function and its
arguments. :func:`run_items` skips every key already in a :class:`~adapters.runtime.store.Store`,
hands the rest to an executor, and writes each result to the store *as soon as it arrives*,
so an interrupt, a lost worker or a restart recomputes only what is missing. Results are
JSON values (or the path of a file the item wrote atomically, see :func:`atomic_file`),
returned as JSON gives them back, so a fresh run and a resumed run return equal values.

Executors (:func:`adapters.runtime.registry.make_executor`): :class:`LocalExecutor`
(in-process, or a spawn process pool) and
:class:`~adapters.runtime.ray_executor.RayExecutor` (``pip install "catcore[ray]"``).
Determinism: an item carries its own seeds and runs with a fixed number of torch threads
(``threads=1`` by default everywhere), so the same items give bit-identical results on
every executor. See ``docs/cluster.md``.

>>> import math
>>> items = [WorkItem(work_key("factorial", n), math.factorial, (n,)) for n in (3, 5)]
>>> list(run_items(items, LocalExecutor(0), progress=False).values())
[6, 120]
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import pickle
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.runtime.store import Store, digest
from adapters.runtime.threads import set_threads

__all__ = [
    "Executor",
    "LocalExecutor",
    "WorkItem",
    "WorkItemError",
    "atomic_file",
    "missing_items",
    "run_items",
    "work_key",
]


@dataclass(frozen=True)
class WorkItem:
    """One unit of work: ``fn(*args, **kwargs)``, stored under ``key``.

    ``fn`` must be a module-level function (workers import it by name) and must be
    deterministic given its arguments: seeds travel in ``args``/``kwargs``, never in a
    global random state. The key must change whenever anything that changes the result
    changes (see :func:`work_key`).
    """

    key: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise TypeError(f"a work item's key must be a non-empty string, got {self.key!r}")
        if not callable(self.fn):
            raise TypeError(f"work item {self.key!r}: fn must be callable, got {self.fn!r}")
        if not isinstance(self.args, tuple):
            raise TypeError(f"work item {self.key!r}: args must be a tuple, got "
                            f"{type(self.args).__name__}")  # fmt: skip
        if not isinstance(self.kwargs, dict):
            raise TypeError(f"work item {self.key!r}: kwargs must be a dict, got "
                            f"{type(self.kwargs).__name__}")  # fmt: skip

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


class WorkItemError(RuntimeError):
    """A work item failed (its function raised, or its worker died more often than the
    executor retries). ``key`` names the item; the cause is chained (``__cause__``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"work item {key!r} failed: {message}")
        self.key = key


def work_key(kind: str, *parts: Any) -> str:
    """The store key ``"<kind>/<digest>"`` of a work item whose result is determined by the
    JSON-serializable (or bytes) ``parts``: settings, seeds, hashes of input data.

    >>> work_key("pair", {"a": 1, "b": 2}) == work_key("pair", {"b": 2, "a": 1})
    True
    >>> work_key("pair", 1).startswith("pair/"), work_key("pair", 1) == work_key("run", 1)
    (True, False)
    """
    if not isinstance(kind, str) or not kind or "/" in kind:
        raise ValueError(f"kind must be a non-empty string without '/', got {kind!r}")
    return f"{kind}/{digest(kind, *parts)}"


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Write a file atomically: yields a temporary path next to ``path``, which replaces
    ``path`` only when the block finishes without an exception. An item whose result is
    a large file returns ``str(path)`` after writing it this way.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_file(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['out.txt'])
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# -- running items -------------------------------------------------------------------------


def missing_items(items: Sequence[WorkItem], store: Store | None) -> list[WorkItem]:
    """The items whose key is not yet in ``store`` (all of them when ``store`` is None)."""
    _check_unique(items)
    if store is None:
        return list(items)
    return [item for item in items if item.key not in store]


def run_items(
    items: Sequence[WorkItem],
    executor: Executor | None = None,
    store: Store | None = None,
    progress: Any = None,
    *,
    desc: str = "work",
) -> dict[str, Any]:
    """Results of ``items`` as ``{key: result}`` in item order, computing only what
    ``store`` lacks and storing each result as soon as it completes.

    ``executor``: default ``LocalExecutor(0)`` (in-process). ``progress``: ``None`` (a tqdm
    bar when stderr is a terminal), ``True``/``False``, a tqdm-like object (its
    ``update(n)`` is called: first with the number of stored items, then once per finished
    item) or a callable ``progress(done, total)``. Results must be JSON-serializable;
    they are returned as JSON gives them back (tuples become lists, dict keys strings).
    An item that fails raises :class:`WorkItemError`; everything finished before stays
    stored.
    """
    missing = missing_items(items, store)
    todo = {item.key for item in missing}
    results: dict[str, Any] = {}
    if store is not None:
        results = {item.key: store.get(item.key) for item in items if item.key not in todo}
    bar = _Progress(progress, len(items), desc)
    bar.advance(len(results))
    try:
        if missing:
            runner = executor if executor is not None else LocalExecutor(0)
            with contextlib.closing(runner.imap(missing)) as stream:
                for key, result in stream:
                    value = _as_json(key, result)
                    if store is not None:
                        store.put(key, value)
                    results[key] = value
                    bar.advance(1)
    finally:
        bar.close()
    return {item.key: results[item.key] for item in items}


def _check_unique(items: Sequence[WorkItem]) -> None:
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, WorkItem):
            raise TypeError(f"expected WorkItem, got {type(item).__name__}: {item!r}")
        if item.key in seen:
            raise ValueError(f"duplicate work item key {item.key!r}")
        seen.add(item.key)


def _as_json(key: str, result: Any) -> Any:
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"work item {key!r} returned a {type(result).__name__}, which is not "
            f"JSON-serializable ({exc}); return numbers, strings, lists and dicts, or the "
            f"path of a file written with atomic_file"
        ) from exc


class _Progress:
    """The ``progress`` argument of :func:`run_items`, as one ``advance(n)`` method."""

    def __init__(self, progress: Any, total: int, desc: str) -> None:
        self.total, self.done = total, 0
        self.bar: Any = None
        self.callback: Callable[[int, int], Any] | None = None
        self.owned = False
        if progress is None:
            progress = sys.stderr.isatty()
        if progress is True:
            from tqdm.auto import tqdm

            self.bar, self.owned = tqdm(total=total, desc=desc, unit="item"), True
        elif hasattr(progress, "update"):
            self.bar = progress
        elif callable(progress):
            self.callback = progress
        elif progress is not False:
            raise TypeError(f"progress must be None, a bool, a tqdm-like object or a callable "
                            f"(done, total), got {progress!r}")  # fmt: skip

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None and n:
            self.bar.update(n)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.owned:
            self.bar.close()


# -- executors -----------------------------------------------------------------------------


class Executor(ABC):
    """Runs work items and yields ``(key, result)`` pairs as they complete.

    Executors may hold workers between calls (a process pool, a Ray connection); use them
    as context managers, or call :meth:`close`, to release what they started.
    """

    @abstractmethod
    def imap(self, items: Sequence[WorkItem]) -> Iterator[tuple[str, Any]]:
        """Run ``items``; yield ``(key, result)`` in completion order. Closing the
        iterator early cancels items not yet started. A failure raises
        :class:`WorkItemError`."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """The settings of this executor, JSON-serializable (for reports)."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers this executor started (and nothing else)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def execute(fn: Callable[..., Any], args: tuple, kwargs: dict, threads: int | None) -> Any:
    """Call ``fn(*args, **kwargs)`` with ``threads`` torch threads (in a worker)."""
    set_threads(threads)
    return fn(*args, **kwargs)


def check_picklable(item: WorkItem) -> None:
    """Refuse functions that a worker could not import (lambdas, nested functions)."""
    try:
        pickle.dumps(item.fn)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(
            f"work item {item.key!r}: fn {item.fn!r} cannot be sent to a worker process; "
            f"use a function defined at module level ({exc})"
        ) from exc


def _check_threads(threads: int | None) -> None:
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")


class LocalExecutor(Executor):
    """This machine: ``workers=0`` runs items in this process, one after the other;
    ``workers=n`` runs them in a pool of ``n`` processes started with ``spawn``.

    Every item runs with ``threads`` torch threads (``None``: unchanged). A pool whose
    worker dies (killed, out of memory) is restarted and the unfinished items are
    resubmitted, at most ``max_retries`` times per :meth:`imap` call. The pool is kept
    between calls until :meth:`close`.
    """

    def __init__(self, workers: int = 0, *, threads: int | None = 1, max_retries: int = 3) -> None:
        if not isinstance(workers, int) or workers < 0:
            raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        _check_threads(threads)
        self.workers, self.threads, self.max_retries = workers, threads, max_retries
        self._pool: ProcessPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers}, threads={self.threads})"

    def describe(self) -> dict[str, Any]:
        return {"executor": "local", "workers": self.workers, "threads": self.threads}

    def imap(self, items: Sequence[WorkItem]) -> Iterator[tuple[str, Any]]:
        if self.workers == 0:
            return self._serial(items)
        for item in items:
            check_picklable(item)
        return self._pooled(items)

    def _serial(self, items: Sequence[WorkItem]) -> Iterator[tuple[str, Any]]:
        for item in items:
            before = set_threads(self.threads)
            try:
                result = item()
            except Exception as exc:
                raise WorkItemError(item.key, f"{type(exc).__name__}: {exc}") from exc
            finally:
                set_threads(before)
            yield item.key, result

    def _pooled(self, items: Sequence[WorkItem]) -> Iterator[tuple[str, Any]]:
        todo = {item.key: item for item in items}
        restarts = 0
        while todo:
            futures: dict[Future, str] = {}
            lost: str | None = None
            try:
                pool = self._ensure_pool()
                for key, it in todo.items():
                    lost = key
                    futures[pool.submit(execute, it.fn, it.args, it.kwargs, self.threads)] = key
                lost = None
                for fut in as_completed(futures):
                    key = futures[fut]
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        lost = key
                        break
                    except Exception as exc:
                        raise WorkItemError(key, f"{type(exc).__name__}: {exc}") from exc
                    del todo[key]
                    yield key, result
            except BrokenProcessPool:
                pass  # broke while submitting: ``lost`` names the item being submitted
            finally:
                for fut in futures:
                    fut.cancel()
            if lost is not None:
                self._drop_pool()
                restarts += 1
                if restarts > self.max_retries:
                    raise WorkItemError(lost, f"a worker process died {restarts} times "
                                              f"(max_retries={self.max_retries})")  # fmt: skip

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start,
                initargs=(self.threads, os.getpid()),
            )
        return self._pool

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _worker_start(threads: int | None, parent: int) -> None:
    """A pool worker's initializer: fix its torch threads, and end it when ``parent`` (the
    process that started the pool) is gone, however that ended (a SIGKILL included: a
    daemon thread watches the parent pid; the worker is re-parented when its parent dies)."""
    set_threads(threads)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="catcore-parent-watch", daemon=True).start()


#: how often a pool worker checks that its parent is alive
_WATCH_SECONDS = 0.5


@functools.lru_cache(maxsize=8)
def built(fn: Callable[..., Any], args_json: str) -> Any:
    """``fn(*json.loads(args_json))``, built once per process: a worker's cache of the
    engine (or any other recipe result) its work items evaluate."""
    return fn(*json.loads(args_json))

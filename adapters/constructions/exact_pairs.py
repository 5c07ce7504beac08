"""Every barrier of every pair, to tolerance: the exact mode of
:func:`~adapters.constructions.class_search.homotopy_classes`, here or as work items on an
executor (the same chunks and batched calls, so the same results), and the loss identity
under which the store keeps them (``docs/homotopy.md``, ``docs/cluster.md``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from adapters.constructions.barrier_scan import BarrierSettings, Scan, evaluate_stage, refine
from adapters.constructions.certified import certified_barrier
from adapters.constructions.pair_tests import summarize
from adapters.constructions.taylor import SegmentLoss
from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.runtime.executor import (
    Executor,
    LocalExecutor,
    WorkItem,
    built,
    run_items,
    work_key,
)
from adapters.runtime.store import Store, digest
from catcore.instances.paths import Paths

__all__ = ["exact_chunk", "all_pairs", "loss_id"]


def loss_id(loss: Any) -> str:
    """A key naming an engine's loss (data, labels, calibration, model layout, loss
    function, buffer policy, dtype) for the result store."""
    eng = loss.engine if isinstance(loss, LossFunction) else loss
    if not isinstance(eng, Engine):
        raise TypeError("loss_id is derived for an Engine only; pass loss_id= for a callable")

    def raw(t: Tensor | None) -> bytes:
        return b"" if t is None else t.detach().cpu().contiguous().numpy().tobytes()

    fn = getattr(eng.loss_fn, "__qualname__", repr(eng.loss_fn))
    return digest(raw(eng.X), raw(eng.y), raw(eng.calibration), repr(eng.model),
                  list(eng.space.names), fn, eng.space.buffers, str(eng.dtype))  # fmt: skip


def missing(t: Any, chunk: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """``(u, v, kind)`` of the chunk with no stored exact barrier; stored ones are reused."""
    todo = []
    for u, v in chunk:
        for kind in t.kinds:
            hit = t.stored(u, v, kind, exact=True)
            if hit is not None:
                t.reuse(u, v, kind, hit)
            else:
                todo.append((u, v, kind))
    return todo


def all_pairs(
    t: Any,
    order: list[tuple[int, int]],
    batch: int,
    bar: Any,
    executor: Executor | None = None,
    recipe: tuple[Callable[..., Engine], Sequence[Any]] | None = None,
) -> None:
    """Every barrier of every pair and kind to tolerance: each chunk of ``batch`` pairs
    whose barriers are not stored is one work item (coarse grids in one batched call), run
    by ``executor`` (default: in this process, on the tester's own loss). An executor
    rebuilds the loss from ``recipe = (fn, args)`` (checked against the loss identity)."""
    make = _loss_maker(t, executor, recipe)
    opts, dtype = t.barrier.to_json(), str(t.pts.dtype).removeprefix("torch.")
    oriented = [t.orient(i, j) for i, j in order]
    items, todos, sizes = [], {}, {}
    for start in range(0, len(oriented), batch):
        chunk = oriented[start : start + batch]
        todo = missing(t, chunk)
        if not todo:
            bar.update(len(chunk))
            continue
        pair_keys = [t.key(u, v, kind, t.exact_mode) for u, v, kind in todo]
        loss = t.loss64 if t.certify else (lambda i: t.losses[i])
        entries = [[t.points64[u].tolist(), t.segment(u, v, kind).cod.tolist(), loss(u),
                    loss(v)] for u, v, kind in todo]  # fmt: skip
        key = work_key("barriers", pair_keys)
        items.append(WorkItem(key, exact_chunk, (make, entries, opts, dtype, t.certify)))
        todos[key], sizes[key] = (todo, pair_keys), len(chunk)
    view = _PairStore(t.store, {k: keys for k, (_, keys) in todos.items()})
    runner = executor if executor is not None else LocalExecutor(0, threads=None)
    results = run_items(items, runner, view, _ChunkBar(bar, [sizes[i.key] for i in items]))
    for key, summaries in results.items():
        for (u, v, kind), summary in zip(todos[key][0], summaries):
            t.results.setdefault((u, v), {})[kind] = summary
            t.item_evaluations += summary["evaluations"]


def _loss_maker(t: Any, executor: Executor | None, recipe: Any) -> Callable[[], Any]:
    """How a work item gets the loss: ``built(fn, args)`` from a recipe (checked against
    the tester's loss identity), else the tester's own engine or callable (in process)."""
    if recipe is None:
        if executor is not None:
            raise ValueError("an executor needs loss_recipe=(fn, args) to rebuild the loss "
                             "in its workers")  # fmt: skip
        return functools.partial(_same, t.lf.engine if t.lf.engine is not None else t.lf.fn)
    fn, args = recipe
    if t.lf.engine is None:
        raise TypeError("an executor computes barriers of an Engine's loss; got a callable")
    if loss_id(built(fn, json.dumps(list(args)))) != loss_id(t.lf.engine):
        raise ValueError(f"loss_recipe {fn.__qualname__}{tuple(args)!r} does not rebuild the "
                         "loss of this call (a different loss identity)")  # fmt: skip
    return functools.partial(built, fn, json.dumps(list(args)))


def _same(x: Any) -> Any:
    return x


def exact_chunk(make: Callable[[], Any], entries: list[list], settings: dict[str, Any],
                dtype: str = "float64", certify: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """The work item of an exact all-pairs run: the barriers, to tolerance, of the straight
    segments ``entries = [[a, b, loss_a, loss_b], ...]`` on the loss ``make()`` (an
    :class:`~adapters.nets.engine.Engine` or a callable), their coarse grids evaluated in
    one batched call as :func:`homotopy_classes` does; points in ``dtype`` (the
    engine's own when it has one). ``certify``: certified barriers to tolerance instead
    (:func:`~adapters.constructions.certified.certified_barrier`, float64 endpoint losses).
    Returns one summary per entry."""
    lf = LossFunction(make())
    precision = lf.dtype or getattr(torch, dtype)
    barrier = BarrierSettings(**settings)
    if certify:
        f64 = torch.float64
        segs = [(SegmentLoss(lf.engine, torch.tensor(a, dtype=f64), torch.tensor(b, dtype=f64)),
                 la, lb) for a, b, la, lb in entries]  # fmt: skip
        return [summarize(certified_barrier(seg, barrier, None, la, lb)) for seg, la, lb in segs]
    K = Paths(len(entries[0][0])) if entries else None
    scans = [Scan(K.linear(np.asarray(a), np.asarray(b)), la, lb, barrier.grid, precision)  # type: ignore[union-attr]
             for a, b, la, lb in entries]  # fmt: skip
    evaluate_stage(lf, scans, all_levels=True)
    return [summarize(sc.result(refine(lf, sc, barrier))) for sc in scans]


class _PairStore:
    """The store as :func:`~adapters.runtime.executor.run_items` sees it for exact chunks: a
    chunk's result is written as its pairs' own keys, in one transaction (so stores
    written by either path serve both)."""

    def __init__(self, store: Store | None, pairs: dict[str, list[str]]) -> None:
        self.store, self.pairs = store, pairs

    def __contains__(self, key: object) -> bool:
        return self.store is not None and all(k in self.store for k in self.pairs[key])  # type: ignore[index]

    def get(self, key: str, default: Any = None) -> Any:
        assert self.store is not None
        return [self.store.get(k) for k in self.pairs[key]]

    def put(self, key: str, value: Any) -> None:
        if self.store is not None:
            self.store.put_many(dict(zip(self.pairs[key], value)))


class _ChunkBar:
    """A pair progress bar advanced by whole chunks (``update(n)`` counts chunks)."""

    def __init__(self, bar: Any, sizes: list[int]) -> None:
        self.bar, self.sizes = bar, sorted(sizes, reverse=True)

    def update(self, n: int) -> None:
        for _ in range(n):
            if self.sizes:
                self.bar.update(self.sizes.pop())



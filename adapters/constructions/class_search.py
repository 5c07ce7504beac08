"""The search behind :func:`homotopy_classes`: homotopy classes of trained networks as the
components of the low-barrier graph (what a class is: :mod:`adapters.constructions.homotopy`
and ``docs/homotopy.md``).

:func:`homotopy_classes` avoids most barrier computations:

- union-find pruning: a pair already in one class is not tested;
- pairs are tested nearest first (Euclidean distance), in rounds of ``batch`` pairs whose
  first probe (the midpoint) is evaluated in one batched call; survivors are finished in
  the order of their midpoint excess, lowest first, so that links are found before the
  pairs they make redundant;
- a test stops as soon as a sample exceeds ``eps`` (the barrier is then only known to be
  above ``eps``), and accepts without refinement when a curvature bound certifies it.

Pairs that end in different classes are always tested (nothing prunes them), so the
partition is the same as testing all pairs. ``exact=True`` computes every barrier to
tolerance instead (no pruning, no early stop), which the single-linkage tree needs to be
exact; see :attr:`Classes.linkage`.

Symmetry: with ``align=`` (a callable ``(a, b) -> Permutation``, or ``True`` for weight
matching on an engine's model) a pair is also linked when the barrier from ``a`` to the
permuted ``pi(b)`` is at most ``eps`` (plain first, aligned only if plain fails): classes
"up to isomorphism", each a union of plain classes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import Tensor, nn

from adapters.constructions.barrier_scan import (
    DEFAULT,
    BarrierSettings,
    Scan,
    evaluate_stage,
)
from adapters.constructions.exact_pairs import all_pairs, loss_id
from adapters.constructions.homotopy import Aligner, Classes, _check_eps
from adapters.constructions.linkage import UnionFind, single_linkage
from adapters.constructions.pair_tests import PairTests
from adapters.nets.alignment import WeightMatching
from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction, as_vector
from adapters.nets.params import ParamSpace, stat_modules
from adapters.runtime.executor import Executor
from adapters.runtime.store import Store, tensor_digest
from catcore.instances.paths import Path, Paths

__all__ = ["homotopy_classes"]


# ----------------------------------------------------------------------------- inputs
def _as_points(points: Any, lf: LossFunction) -> Tensor:
    """``(N, n)`` tensor from a tensor, a list of 1-D tensors/arrays or a list of modules."""
    if isinstance(points, np.ndarray):
        points = torch.from_numpy(points)
    if isinstance(points, Tensor):
        if points.ndim != 2 or not points.is_floating_point():
            raise ValueError(f"points must be a floating (N, n) tensor, got shape "
                             f"{tuple(points.shape)}, dtype {points.dtype}")  # fmt: skip
        pts = points.detach()
    elif isinstance(points, Sequence) and points:
        if all(isinstance(p, nn.Module) for p in points):
            space = (
                lf.engine.space
                if lf.engine is not None
                else ParamSpace(
                    points[0], buffers="recompute" if stat_modules(points[0]) else "refuse"
                )
            )
            pts = torch.stack([space.vector(m) for m in points])
        else:
            pts = torch.stack([as_vector(p, f"points[{k}]") for k, p in enumerate(points)])
    else:
        raise TypeError("points must be an (N, n) tensor, a non-empty list of 1-D tensors "
                        f"or a list of nn.Modules, got {type(points).__name__}")  # fmt: skip
    if lf.engine is not None:
        if pts.shape[1] != lf.engine.space.n:
            raise ValueError(f"points have {pts.shape[1]} coordinates, the engine's model has "
                             f"{lf.engine.space.n}")  # fmt: skip
        pts = pts.to(lf.engine.dtype)
    return pts


# ----------------------------------------------------------------------------- the search


def _pair_order(pts: Tensor, order: str) -> list[tuple[int, int]]:
    N = pts.shape[0]
    pairs = [(i, j) for i in range(N) for j in range(i + 1, N)]
    if order == "index":
        return pairs
    if order != "nearest":
        raise ValueError(f"order must be 'nearest' or 'index', got {order!r}")
    D = torch.cdist(pts.to(torch.float64), pts.to(torch.float64)).numpy()
    return sorted(pairs, key=lambda p: (D[p], p))


def _progress(total: int, progress: bool | None) -> Any:
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, desc="barriers", unit="pair", disable=not show)


def _pruned(t: PairTests, order: list[tuple[int, int]], N: int, batch: int, bar: Any) -> None:
    """Union-find search in rounds (module docstring)."""
    uf = UnionFind(N)
    queue: Iterator[tuple[int, int]] = iter(order)
    while True:
        round_ = list(_take(queue, batch))
        if not round_:
            break
        live: list[tuple[int, int]] = []
        for i, j in round_:  # stored results first (they cost nothing)
            if uf.find(i) == uf.find(j):
                continue
            u, v = t.orient(i, j)
            status = _apply_stored(t, u, v)
            if status is True:
                uf.union(u, v)
            elif status is None:
                live.append((u, v))
        if t.certify:
            _certified_round(t, live, uf)
            bar.update(len(round_))
            continue
        screened = _screen(t, [p for p in live if uf.find(p[0]) != uf.find(p[1])])
        for (u, v), kind, scan in screened:
            if uf.find(u) == uf.find(v):
                continue
            if _complete(t, u, v, kind, scan):
                uf.union(u, v)
        bar.update(len(round_))


def _certified_round(t: PairTests, live: list[tuple[int, int]], uf: UnionFind) -> None:
    """One batched midpoint probe separates what it can; the other pairs get certified
    decisions, nearest first, skipping those already joined."""
    first = t.kinds[0]
    apart = t.separate([p for p in live if uf.find(p[0]) != uf.find(p[1])], first)
    for u, v in live:
        kinds = [k for k in t.kinds if not (k == first and (u, v) in apart)]
        if uf.find(u) != uf.find(v) and any(t.connected(t.full(u, v, k)) for k in kinds):
            uf.union(u, v)


def _take(it: Iterator, k: int) -> Iterator:
    for _ in range(k):
        try:
            yield next(it)
        except StopIteration:
            return


def _apply_stored(t: PairTests, u: int, v: int) -> bool | None:
    """``True``/``False`` when stored results decide the pair, ``None`` when work is left."""
    for kind in t.kinds:
        hit = t.stored(u, v, kind, exact=False)
        if hit is None:
            return None
        t.reuse(u, v, kind, hit)
        if t.connected(hit):
            return True
    return False


def _screen(t: PairTests, pairs: list[tuple[int, int]]) -> list[tuple[tuple[int, int], str, Scan]]:
    """Midpoint probes, batched per candidate kind; a candidate above ``eps`` at its
    midpoint is recorded as failed and the pair moves on to its next kind. Returns the
    survivors (pair, kind, scan), lowest midpoint excess first."""
    survivors = []
    todo = list(pairs)
    for kind in t.kinds:
        scans, pending = {}, []
        for u, v in todo:
            hit = t.stored(u, v, kind, exact=False)
            if hit is not None:
                t.reuse(u, v, kind, hit)
                if t.connected(hit):
                    survivors.append(((u, v), kind, None, -math.inf))
                else:
                    pending.append((u, v))
                continue
            scans[(u, v)] = t.scan(u, v, kind)
        evaluate_stage(t.lf, list(scans.values()), all_levels=False)
        for (u, v), scan in scans.items():
            top = scan.best()[1]
            if top > t.eps:
                t.record(u, v, kind, scan.result("above"), exact=False)
                pending.append((u, v))
            else:
                survivors.append(((u, v), kind, scan, top))
        todo = pending
    survivors.sort(key=lambda s: (s[3], s[0]))
    return [(p, kind, scan) for p, kind, scan, _ in survivors]


def _complete(t: PairTests, u: int, v: int, kind: str, scan: Scan | None) -> bool:
    """Finish the surviving candidate, then later kinds if it fails."""
    kinds = t.kinds[t.kinds.index(kind) :]
    for k, name in enumerate(kinds):
        if k == 0 and scan is None:  # decided by a stored result
            return True
        if k == 0:
            summary = t.record(u, v, name, t.finish(scan), exact=False)
        else:
            summary = t.full(u, v, name)
        if t.connected(summary):
            return True
    return False


def _graph(t: PairTests, N: int) -> nx.Graph:
    G = nx.Graph()
    G.add_nodes_from((i, {"loss": float(t.losses[i])}) for i in range(N))
    for (u, v), res in t.results.items():
        kind = min(res, key=lambda k: (res[k]["height"], t.kinds.index(k)))
        best = res[kind]
        if not t.connected(best) and len(res) < len(t.kinds):
            continue  # pruned before every kind was tried: undecided, not an edge
        attrs = {
            "barrier": float(best["height"]),
            "upper": float(best.get("upper", math.inf)),
            "certified": bool(best.get("certified", False)),
            "undecided": t.undecided(best),
            "connected": t.connected(best),
            "status": best["status"],
            "kind": kind,
            "t": float(best["t"]),
            "frame": (u, v),
        }
        attrs.update({k: float(res[k]["height"]) for k in res})
        G.add_edge(u, v, **attrs)
    return G


def homotopy_classes(
    loss: Any,
    points: Any,
    eps: float,
    *,
    align: Aligner | bool | None = None,
    exact: bool = False,
    settings: BarrierSettings = DEFAULT,
    order: str = "nearest",
    batch: int | None = None,
    store: Store | None = None,
    loss_key: str | None = None,
    progress: bool | None = None,
    executor: Executor | None = None,
    loss_recipe: tuple[Callable[..., Engine], Sequence[Any]] | None = None,
    category: Paths | None = None,
    certify: bool = True,
) -> Classes:
    """Homotopy classes of ``points`` at barrier threshold ``eps`` (module docstring).

    ``loss``: an :class:`~adapters.nets.engine.Engine` or a callable on a flat 1-D tensor.
    ``points``: an ``(N, n)`` tensor, a list of 1-D tensors, or a list of ``nn.Module``
    (flattened with the engine's :class:`~adapters.nets.params.ParamSpace`). ``align``: see the
    module docstring. ``exact``: all pairs to tolerance (exact dendrogram). ``settings``:
    how each barrier is searched (:class:`~adapters.constructions.barrier.BarrierSettings`).
    ``order``: ``"nearest"`` pairs first or ``"index"`` order; ``batch``: pairs per round
    (default ``N``). ``store``: a :class:`~adapters.runtime.store.Store`; finished pairs (and the
    points' losses) are written there as they finish and reused by later calls with the
    same loss, points and settings. ``loss_key`` names the loss in the store (derived for
    an engine; required for a callable). ``progress``: a progress bar (default: when
    stderr is a terminal). ``category``: the Param whose straight segments are tested
    (default: the path category ``Paths(n)``); the result's ``links`` are the segments of
    the links, and :meth:`Classes.witness` composes them. ``certify`` (default): every
    decision is certified when the bound sees through the loss
    (:func:`~adapters.constructions.barrier.certifier`); a pair whose bounds straddle
    ``eps`` when the budget runs out is reported in ``Classes.undecided``, not guessed, and
    the partition is that of the certified links (the same for the pruned search, the
    exact mode and any store history). Otherwise, or for a loss the bound cannot see
    through, decisions are sampled and ``Classes.certified`` is ``False``.

    ``executor`` (with ``exact``): run the chunks of pairs as work items there
    (:mod:`adapters.runtime.executor`); ``loss_recipe = (fn, args)`` is a module-level function and
    JSON arguments that rebuild the same :class:`~adapters.nets.engine.Engine` in a worker
    (checked against the loss identity). The pruned search always runs in this process.
    See ``docs/cluster.md``.
    """
    _check_eps(eps)
    lf = LossFunction.of(loss)
    before = lf.evaluations
    pts = _as_points(points, lf)
    N = pts.shape[0]
    K = category if category is not None else Paths(pts.shape[1])
    aligner = _aligner(align, lf)
    if store is not None and loss_key is None:
        if lf.engine is None:
            raise ValueError("a store needs loss_key= to name a callable loss")
        loss_key = loss_id(lf.engine)
    hashes = [tensor_digest(p) for p in pts]
    losses, losses_reused = _point_losses(lf, pts, hashes, store, loss_key)
    config = {**settings.to_json(), "order": order, "batch": batch or N, "certify": certify}
    tester = PairTests(lf, pts, losses, hashes, eps, config, store, loss_key, aligner, K,
                       certify)  # fmt: skip
    pairs = _pair_order(pts, order)
    with _progress(len(pairs), progress) as bar:
        if exact:
            all_pairs(tester, pairs, max(1, batch or N), bar, executor, loss_recipe)
        else:
            _pruned(tester, pairs, N, max(1, batch or N), bar)
    G = _graph(tester, N)
    uf = UnionFind(N)
    for u, v, d in G.edges(data=True):
        if d["connected"]:
            uf.union(u, v)
    labels = _relabel([uf.find(i) for i in range(N)])
    Z = single_linkage(N, [(u, v, d["barrier"]) for u, v, d in G.edges(data=True)])
    return Classes(
        labels=labels, eps=float(eps), graph=G, linkage=Z,
        evaluations=lf.evaluations - before + tester.item_evaluations, points=pts, exact=exact,
        aligned=aligner is not None, pairs_total=len(pairs),
        pairs_tested=G.number_of_edges(), pairs_reused=len(tester.reused),
        evaluations_reused=losses_reused + sum(tester.reused_cost.values()),
        settings=config, category=K, links=_links(tester, G),
        certified=tester.certify, undecided=_undecided(G, labels),
        _perm=tester.perm if aligner is not None else None,
    )  # fmt: skip


def _undecided(G: nx.Graph, labels: np.ndarray) -> list[tuple[int, int]]:
    """Tested pairs in different classes whose certified bounds straddle ``eps``."""
    return sorted((min(u, v), max(u, v)) for u, v, d in G.edges(data=True)
                  if d["undecided"] and labels[u] != labels[v])  # fmt: skip


def _links(t: PairTests, G: nx.Graph) -> dict[tuple[int, int], Path]:
    """The segment of every link, oriented ``(u, v)`` as tested: the morphism whose
    barrier was found to be at most ``eps`` (built again for links read from the store)."""
    out = {}
    for u, v, d in G.edges(data=True):
        if d["connected"]:
            u, v = d["frame"]
            out[(u, v)] = t.links.get((u, v, d["kind"])) or t.segment(u, v, d["kind"])
    return out


def _aligner(align: Aligner | bool | None, lf: LossFunction) -> Aligner | None:
    if align is None or align is False:
        return None
    if align is True:
        if lf.engine is None:
            raise ValueError("align=True needs an Engine (its model gives the permutation "
                             "spec); pass an aligner callable for other losses")  # fmt: skip
        return WeightMatching(lf.engine.space)
    if not callable(align):
        raise TypeError(f"align must be None, True or a callable (a, b) -> Permutation, "
                        f"got {type(align).__name__}")  # fmt: skip
    return align


def _point_losses(
    lf: LossFunction, pts: Tensor, hashes: list[str], store: Store | None, lid: str | None
) -> tuple[list[float], int]:
    """The loss at every point, read from ``store`` where it is there; with how many were
    (each cost one evaluation when it was computed)."""
    keys = [f"loss/{lid}/{h}" for h in hashes]
    known = [store.get(k) if store is not None else None for k in keys]
    missing = [i for i, v in enumerate(known) if v is None]
    if missing:
        values = lf(pts[missing]).tolist()
        for i, v in zip(missing, values):
            known[i] = v
        if store is not None:
            store.put_many({keys[i]: known[i] for i in missing})
    bad = [i for i, v in enumerate(known) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"the loss is not finite at points {bad}")
    return [float(v) for v in known], len(known) - len(missing)


def _relabel(roots: list[int]) -> np.ndarray:
    seen: dict[int, int] = {}
    return np.array([seen.setdefault(r, len(seen)) for r in roots], dtype=int)

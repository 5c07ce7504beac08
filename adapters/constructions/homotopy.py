"""Homotopy classes of trained networks: components of the low-barrier graph.

Two parameter points are *linked* when the loss barrier of the straight segment between them
(:func:`loss_barrier`, with the chord-corrected definition of
:mod:`adapters.constructions.barrier`) is at most ``eps``. A low-barrier segment is a
morphism of Param (Def 2.1) lying in the sublevel band ``loss(theta) <= chord(t) + eps``;
such segments and their reverses generate a groupoid, and a *homotopy class* is one of its
connected components, i.e. a connected component of the graph of links: the **transitive
closure** of "barrier <= eps". (The relation "barrier <= eps" itself is not transitive; two
members of one class may have a high direct barrier and be joined through others.)
:meth:`Classes.witness` returns the chain of segments joining two members. How this relates
to Def 3.1 is spelled out in ``docs/homotopy.md``, "What a class is".

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

import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import Tensor, nn

from adapters.constructions.barrier import (
    DEFAULT,
    Barrier,
    BarrierSettings,
    LossFunction,
    Scan,
    as_pair,
    as_vector,
    barrier_below,
    curve_barrier,
    decide_scan,
    endpoint_losses,
    evaluate_stage,
    linear_curve,
    loss_barrier,
    refine,
)
from adapters.constructions.bezier import Bezier
from adapters.constructions.linkage import UnionFind, single_linkage
from adapters.nets.alignment import Permutation, WeightMatching
from adapters.nets.engine import Engine
from adapters.nets.params import ParamSpace, stat_modules
from adapters.runtime.executor import Executor, WorkItem, built, run_items, work_key
from adapters.runtime.store import Store, digest, tensor_digest
from catcore.instances.paths import Homotopy, Paths

__all__ = [
    "Classes",
    "Homotopic",
    "Witness",
    "are_homotopic",
    "exact_chunk",
    "homotopy_classes",
    "loss_barrier",
    "loss_id",
    "single_linkage",
]

Aligner = Callable[[Tensor, Tensor], Permutation]


# ----------------------------------------------------------------------------- one pair
@dataclass
class Homotopic:
    """Outcome of :func:`are_homotopic`. ``bool(result)`` is the decision."""

    homotopic: bool
    method: str | None
    eps: float
    linear: Barrier
    curved: Barrier | None = None
    curve: Bezier | None = field(default=None, repr=False)
    evaluations: int = 0
    fit_evaluations: int = 0

    def __bool__(self) -> bool:
        return self.homotopic

    def cell(self, category: Paths | None = None) -> Homotopy | None:
        """The 2-cell ``segment => curve`` of the curved test: the straight homotopy from
        the straight segment ``a -> b`` to the fitted Bezier curve, in ``category`` (a
        Param, or by default ``Paths(n)``), checked against Def 3.1's boundary conditions.
        ``None`` when no curve was fitted."""
        if self.curve is None:
            return None
        a, b = self.curve.a, self.curve.b
        K = category if category is not None else Paths(a.numel())
        segment = K.linear(a.to(torch.float64).numpy(), b.to(torch.float64).numpy())
        return K.straight(segment, self.curve.path(K))


def are_homotopic(
    loss: Any,
    a: Any,
    b: Any,
    eps: float,
    *,
    curved: bool = False,
    bends: int = 1,
    steps: int = 200,
    lr: float = 1e-2,
    samples: int = 4,
    jitter: float = 1e-2,
    seed: int = 0,
    settings: BarrierSettings = DEFAULT,
) -> Homotopic:
    """Whether ``a`` and ``b`` are linked: barrier at most ``eps`` (absolute, in loss units).

    The straight segment is tested first (early-stopping decision, see
    :mod:`adapters.constructions.barrier`). If it fails and ``curved``, a Bezier curve with
    ``bends`` trainable control points (initialized on the segment with relative ``jitter``) is
    fitted (``steps`` Adam steps at ``lr`` on ``samples`` random points of the curve per
    step; the loss must be differentiable: an
    :class:`~adapters.nets.engine.Engine` or a torch-differentiable callable) and its barrier
    (same definition, along the curve) is computed to tolerance; ``a`` and ``b`` are then
    homotopic when it is at most ``eps``. A curve can only remove false negatives of the
    linear test: the decision is "some tested path has barrier <= eps". ``settings``: how
    each barrier is searched (:class:`~adapters.constructions.barrier.BarrierSettings`).

    >>> import torch
    >>> well = lambda p: (p[0] ** 2 - 1) ** 2
    >>> bool(are_homotopic(well, torch.tensor([-1.0]), torch.tensor([1.0]), eps=0.5))
    False
    """
    _check_eps(eps)
    a, b = as_pair(a, b)
    lf = LossFunction.of(loss)
    before = lf.evaluations
    la, lb = endpoint_losses(lf, a, b, None, None)
    lin = barrier_below(lf, linear_curve(a, b), eps, loss_a=la, loss_b=lb, settings=settings)
    out = Homotopic(lin.below(eps), "linear" if lin.below(eps) else None, eps, lin)
    if not out.homotopic and curved:
        curve = Bezier(a, b, bends, jitter=jitter, seed=seed)
        curve.fit(_differentiable(loss), steps=steps, lr=lr, samples=samples, seed=seed)
        bent = curve_barrier(lf, curve, loss_a=la, loss_b=lb, settings=settings)
        out.curved, out.curve, out.fit_evaluations = bent, curve, steps * samples
        if bent.below(eps):
            out.homotopic, out.method = True, "bezier"
    out.evaluations = lf.evaluations - before
    return out


def _differentiable(loss: Any) -> Callable[[Tensor], Tensor]:
    inner = (loss.engine or loss.fn) if isinstance(loss, LossFunction) else loss
    if isinstance(inner, Engine):
        return inner.loss_fn_at
    if callable(inner):
        return inner
    raise TypeError(f"cannot differentiate a loss of type {type(inner).__name__}")


def _check_eps(eps: float) -> None:
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number (loss units), got {eps!r}")


# ----------------------------------------------------------------------------- results
@dataclass
class Witness:
    """A chain of low-barrier segments from ``nodes[0]`` to (an isomorphic copy of)
    ``nodes[-1]``: ``segments[k]`` runs from ``frame(theta_{nodes[k]})`` to
    ``frame(theta_{nodes[k+1]})`` in Param; ``path`` is their composite (one morphism),
    ``heights`` their barriers. For a plain class ``iso`` is ``None`` and the chain ends at
    ``theta_{nodes[-1]}``; up to isomorphism it ends at ``iso(theta_{nodes[-1]})``."""

    nodes: list[int]
    segments: list[Any]
    heights: list[float]
    iso: Permutation | None
    path: Any

    @property
    def max_barrier(self) -> float:
        return max(self.heights, default=0.0)


@dataclass
class Classes:
    """Result of :func:`homotopy_classes`.

    ``labels[i]``: class of point ``i`` (classes numbered by first member); ``graph``:
    networkx graph on ``0..N-1`` with the tested pairs as edges (attributes ``barrier``,
    ``connected``, ``status``, ``kind`` = ``"plain"``/``"aligned"``, ``plain`` and, when
    tested, ``aligned`` heights); ``linkage``: scipy-format single-linkage tree (see
    :func:`single_linkage` and ``docs/homotopy.md``, "The dendrogram"); ``evaluations``:
    loss evaluations spent in this call (stored results cost none).
    """

    labels: np.ndarray
    eps: float
    graph: nx.Graph = field(repr=False)
    linkage: np.ndarray = field(repr=False)
    evaluations: int
    points: Tensor = field(repr=False)
    exact: bool
    aligned: bool
    pairs_total: int
    pairs_tested: int
    pairs_reused: int
    settings: dict[str, Any] = field(default_factory=dict, repr=False)
    _perm: Callable[[int, int], Permutation] | None = field(default=None, repr=False)

    @property
    def n_classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    @property
    def classes(self) -> list[list[int]]:
        """Members of each class, classes in label order."""
        return [np.flatnonzero(self.labels == k).tolist() for k in range(self.n_classes)]

    def barrier_matrix(self) -> np.ndarray:
        """``(N, N)`` barriers of the tested pairs (NaN where not tested; 0 diagonal).
        Without ``exact``, an entry above ``eps`` may be a lower bound (status "above")."""
        N = len(self.labels)
        M = np.full((N, N), np.nan)
        np.fill_diagonal(M, 0.0)
        for i, j, d in self.graph.edges(data=True):
            M[i, j] = M[j, i] = d["barrier"]
        return M

    def witness(self, i: int, j: int, category: Any = None) -> Witness:
        """The chain of low-barrier segments joining ``i`` and ``j`` (same class), along the
        minimax path (the one whose highest barrier is smallest among tested links).
        ``category``: the Param / catcore ``Paths`` category to build segments in
        (default: Moore paths in ``R^n``)."""
        N = len(self.labels)
        for k in (i, j):
            if not 0 <= k < N:
                raise ValueError(f"point index {k} out of range 0..{N - 1}")
        if self.labels[i] != self.labels[j]:
            raise ValueError(f"points {i} and {j} are in different classes "
                             f"({self.labels[i]} and {self.labels[j]})")  # fmt: skip
        if category is None:
            category = Paths(self.points.shape[1])
        links = nx.Graph()
        links.add_nodes_from(range(N))
        links.add_edges_from((u, v, d) for u, v, d in self.graph.edges(data=True) if d["connected"])
        tree = nx.minimum_spanning_tree(links, weight="barrier")
        nodes = nx.shortest_path(tree, i, j)
        pts = self.points.detach().to(torch.float64)
        frame: Permutation | None = None
        segments, heights = [], []
        for x, y in zip(nodes[:-1], nodes[1:]):
            d = self.graph.edges[x, y]
            rho = None
            if d["kind"] == "aligned":
                assert self._perm is not None
                u, v = d["frame"]
                pi = self._perm(u, v)  # pi(theta_v) is matched to theta_u
                rho = pi if (x, y) == (u, v) else pi.inverse()
            start = pts[x] if frame is None else frame(pts[x])
            step = pts[y] if rho is None else rho(pts[y])
            end = step if frame is None else frame(step)
            segments.append(category.linear(start.numpy(), end.numpy()))
            heights.append(float(d["barrier"]))
            if rho is not None:
                frame = rho if frame is None else rho.then(frame)
        path = category.compose(*segments) if segments else category.identity(pts[i].numpy())
        return Witness(nodes, segments, heights, frame, path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable summary."""
        return {
            "eps": self.eps,
            "labels": self.labels.tolist(),
            "n_classes": self.n_classes,
            "classes": self.classes,
            "evaluations": self.evaluations,
            "pairs_total": self.pairs_total,
            "pairs_tested": self.pairs_tested,
            "pairs_reused": self.pairs_reused,
            "exact": self.exact,
            "aligned": self.aligned,
            "settings": self.settings,
            "edges": [
                {"i": int(i), "j": int(j), **{k: _jsonable(v) for k, v in d.items()}}
                for i, j, d in sorted(self.graph.edges(data=True))
            ],
            "linkage": self.linkage.tolist(),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


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


# ----------------------------------------------------------------------------- the search
class _Tester:
    """Pair tests with storage: candidates ``"plain"`` and (optionally) ``"aligned"``.

    Every pair is oriented canonically, ``(u, v)`` with ``hash_u <= hash_v``, so that a
    stored result means the same curve whichever order the points come in.
    """

    def __init__(self, lf, pts, losses, hashes, eps, settings, store, lid, aligner):
        self.lf, self.pts, self.losses, self.hashes = lf, pts, losses, hashes
        self.eps, self.settings, self.store, self.lid = eps, settings, store, lid
        self.aligner = aligner
        self.perms: dict[tuple[int, int], Permutation] = {}
        self.kinds = ["plain"] + (["aligned"] if aligner is not None else [])
        self.results: dict[tuple[int, int], dict[str, dict]] = {}
        self.remote_evaluations = 0  # spent by workers (exact mode with an executor)
        self.reused: set[tuple[int, int]] = set()
        keys = ("grid", "tol", "peaks", "max_evals")
        self.barrier = BarrierSettings(**{k: settings[k] for k in keys})
        base = self.barrier.to_json()
        self.exact_mode = digest("exact", base)
        self.decide_mode = digest("decide", base, eps)
        align_id = getattr(aligner, "id", None) if aligner is not None else None
        if aligner is not None and store is not None and align_id is None:
            raise ValueError("a stored aligned run needs an aligner with an `id` string")
        self.kind_id = {"plain": "plain", "aligned": f"aligned:{align_id}"}

    def orient(self, i: int, j: int) -> tuple[int, int]:
        return (i, j) if (self.hashes[i], i) <= (self.hashes[j], j) else (j, i)

    def key(self, u: int, v: int, kind: str, mode: str) -> str:
        return f"homotopy/{self.lid}/{mode}/{self.hashes[u]}/{self.hashes[v]}/{self.kind_id[kind]}"

    def stored(self, u: int, v: int, kind: str, exact: bool) -> dict | None:
        if self.store is None:
            return None
        hit = self.store.get(self.key(u, v, kind, self.exact_mode))
        if hit is None and not exact:
            hit = self.store.get(self.key(u, v, kind, self.decide_mode))
        return hit

    def perm(self, u: int, v: int) -> Permutation:
        if (u, v) not in self.perms:
            assert self.aligner is not None
            self.perms[(u, v)] = self.aligner(self.pts[u], self.pts[v])
        return self.perms[(u, v)]

    def target(self, u: int, v: int, kind: str) -> Tensor:
        """The end of the candidate segment from ``u``: ``v``, or ``pi(v)`` aligned to ``u``."""
        return self.pts[v] if kind == "plain" else self.perm(u, v)(self.pts[v])

    def scan(self, u: int, v: int, kind: str) -> Scan:
        curve = linear_curve(self.pts[u], self.target(u, v, kind))
        return Scan(curve, self.losses[u], self.losses[v], self.barrier.grid)

    def record(self, u: int, v: int, kind: str, r: Barrier, exact: bool) -> dict:
        summary = {"height": r.height, "t": r.t, "status": r.status,
                   "evaluations": r.evaluations}  # fmt: skip
        if self.store is not None:
            mode = self.exact_mode if exact else self.decide_mode
            self.store.put(self.key(u, v, kind, mode), summary)
        self.results.setdefault((u, v), {})[kind] = summary
        return summary

    def reuse(self, u: int, v: int, kind: str, summary: dict) -> None:
        self.results.setdefault((u, v), {})[kind] = summary
        self.reused.add((u, v))

    def connected(self, summary: dict) -> bool:
        return summary["status"] != "above" and summary["height"] <= self.eps

    def finish(self, scan: Scan) -> Barrier:
        if not scan.coarse_done:
            evaluate_stage(self.lf, [scan], all_levels=True)
        return decide_scan(self.lf, scan, self.eps, self.barrier)

    def full(self, u: int, v: int, kind: str) -> dict:
        """A complete decision on one candidate (stored result if there is one)."""
        hit = self.stored(u, v, kind, exact=False)
        if hit is not None:
            self.reuse(u, v, kind, hit)
            return hit
        return self.record(u, v, kind, self.finish(self.scan(u, v, kind)), exact=False)


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


def _pruned(t: _Tester, order: list[tuple[int, int]], N: int, batch: int, bar: Any) -> None:
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
        screened = _screen(t, [p for p in live if uf.find(p[0]) != uf.find(p[1])])
        for (u, v), kind, scan in screened:
            if uf.find(u) == uf.find(v):
                continue
            if _complete(t, u, v, kind, scan):
                uf.union(u, v)
        bar.update(len(round_))


def _take(it: Iterator, k: int) -> Iterator:
    for _ in range(k):
        try:
            yield next(it)
        except StopIteration:
            return


def _apply_stored(t: _Tester, u: int, v: int) -> bool | None:
    """``True``/``False`` when stored results decide the pair, ``None`` when work is left."""
    for kind in t.kinds:
        hit = t.stored(u, v, kind, exact=False)
        if hit is None:
            return None
        t.reuse(u, v, kind, hit)
        if t.connected(hit):
            return True
    return False


def _screen(t: _Tester, pairs: list[tuple[int, int]]) -> list[tuple[tuple[int, int], str, Scan]]:
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


def _complete(t: _Tester, u: int, v: int, kind: str, scan: Scan | None) -> bool:
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


def _missing(t: _Tester, chunk: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
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


def _exact(t: _Tester, order: list[tuple[int, int]], batch: int, bar: Any) -> None:
    """Every barrier of every pair and kind to tolerance (coarse grids batched)."""
    oriented = [t.orient(i, j) for i, j in order]
    for start in range(0, len(oriented), batch):
        chunk = oriented[start : start + batch]
        todo = [(u, v, kind, t.scan(u, v, kind)) for u, v, kind in _missing(t, chunk)]
        evaluate_stage(t.lf, [sc for *_, sc in todo], all_levels=True)
        for u, v, kind, sc in todo:
            status = refine(t.lf, sc, t.barrier)
            t.record(u, v, kind, sc.result(status), exact=True)
        bar.update(len(chunk))


def _exact_items(
    t: _Tester, order: list[tuple[int, int]], batch: int, bar: Any, executor: Executor,
    recipe: tuple[Callable[..., Engine], Sequence[Any]],
) -> None:  # fmt: skip
    """:func:`_exact` with each chunk's missing barriers as one work item, run by
    ``executor``: the same chunks and batched calls, so the same results."""
    fn, args = recipe
    if t.lf.engine is None:
        raise TypeError("an executor computes barriers of an Engine's loss; got a callable")
    if loss_id(built(fn, json.dumps(list(args)))) != loss_id(t.lf.engine):
        raise ValueError(f"loss_recipe {fn.__qualname__}{tuple(args)!r} does not rebuild the "
                         "loss of this call (a different loss identity)")  # fmt: skip
    opts = t.barrier.to_json()
    oriented = [t.orient(i, j) for i, j in order]
    items, todos, sizes = [], {}, {}
    for start in range(0, len(oriented), batch):
        chunk = oriented[start : start + batch]
        todo = _missing(t, chunk)
        if not todo:
            bar.update(len(chunk))
            continue
        pair_keys = [t.key(u, v, kind, t.exact_mode) for u, v, kind in todo]
        entries = [[t.pts[u].tolist(), t.target(u, v, kind).tolist(), t.losses[u], t.losses[v]]
                   for u, v, kind in todo]  # fmt: skip
        key = work_key("barriers", pair_keys)
        items.append(WorkItem(key, exact_chunk, (fn, list(args), entries, opts)))
        todos[key], sizes[key] = (todo, pair_keys), len(chunk)
    view = _PairStore(t.store, {k: keys for k, (_, keys) in todos.items()})
    results = run_items(items, executor, view, _ChunkBar(bar, [sizes[i.key] for i in items]))
    for key, summaries in results.items():
        for (u, v, kind), summary in zip(todos[key][0], summaries):
            t.results.setdefault((u, v), {})[kind] = summary
            t.remote_evaluations += summary["evaluations"]


def exact_chunk(fn: Callable[..., Engine], args: list, entries: list[list],
                settings: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    """The work item of an exact all-pairs run: the barriers, to tolerance, of the straight
    segments ``entries = [[a, b, loss_a, loss_b], ...]`` on the loss ``fn(*args)`` (an
    :class:`~adapters.nets.engine.Engine`), their coarse grids evaluated in one batched call as
    :func:`homotopy_classes` does. Returns one summary per entry."""
    lf = LossFunction(built(fn, json.dumps(args)))
    dtype = lf.engine.dtype  # type: ignore[union-attr]
    barrier = BarrierSettings(**settings)
    scans = [Scan(linear_curve(torch.tensor(a, dtype=dtype), torch.tensor(b, dtype=dtype)),
                  la, lb, barrier.grid) for a, b, la, lb in entries]  # fmt: skip
    evaluate_stage(lf, scans, all_levels=True)
    out = []
    for sc in scans:
        r = sc.result(refine(lf, sc, barrier))
        out.append({"height": r.height, "t": r.t, "status": r.status, "evaluations": r.evaluations})
    return out


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


def _graph(t: _Tester, N: int) -> nx.Graph:
    G = nx.Graph()
    G.add_nodes_from((i, {"loss": float(t.losses[i])}) for i in range(N))
    for (u, v), res in t.results.items():
        kind = min(res, key=lambda k: (res[k]["height"], t.kinds.index(k)))
        best = res[kind]
        if not t.connected(best) and len(res) < len(t.kinds):
            continue  # pruned before every kind was tried: undecided, not an edge
        attrs = {
            "barrier": float(best["height"]),
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
    stderr is a terminal).

    ``executor`` (with ``exact``): run the chunks of pairs as work items there
    (:mod:`adapters.runtime.executor`); ``loss_recipe = (fn, args)`` is a module-level function and
    JSON arguments that rebuild the same :class:`~adapters.nets.engine.Engine` in a worker
    (checked against the loss identity). The pruned search always runs in this process.
    See ``docs/cluster.md``.
    """
    _check_eps(eps)
    if executor is not None and exact and loss_recipe is None:
        raise ValueError("an executor needs loss_recipe=(fn, args) to rebuild the loss in "
                         "its workers")  # fmt: skip
    lf = LossFunction.of(loss)
    before = lf.evaluations
    pts = _as_points(points, lf)
    N = pts.shape[0]
    aligner = _aligner(align, lf)
    if store is not None and loss_key is None:
        if lf.engine is None:
            raise ValueError("a store needs loss_key= to name a callable loss")
        loss_key = loss_id(lf.engine)
    hashes = [tensor_digest(p) for p in pts]
    losses = _point_losses(lf, pts, hashes, store, loss_key)
    config = {**settings.to_json(), "order": order, "batch": batch or N}
    tester = _Tester(lf, pts, losses, hashes, eps, config, store, loss_key, aligner)
    pairs = _pair_order(pts, order)
    with _progress(len(pairs), progress) as bar:
        if exact and executor is not None:
            assert loss_recipe is not None
            _exact_items(tester, pairs, max(1, batch or N), bar, executor, loss_recipe)
        elif exact:
            _exact(tester, pairs, max(1, batch or N), bar)
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
        evaluations=lf.evaluations - before + tester.remote_evaluations, points=pts, exact=exact,
        aligned=aligner is not None, pairs_total=len(pairs),
        pairs_tested=G.number_of_edges(), pairs_reused=len(tester.reused),
        settings=config, _perm=tester.perm if aligner is not None else None,
    )  # fmt: skip


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
) -> list[float]:
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
    return [float(v) for v in known]


def _relabel(roots: list[int]) -> np.ndarray:
    seen: dict[int, int] = {}
    return np.array([seen.setdefault(r, len(seen)) for r in roots], dtype=int)

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

This module holds the one-pair decision (:func:`are_homotopic`, with the 2-cell of its
curved test) and the results of a class search (:class:`Classes`, :class:`Witness`); the
search itself is :func:`adapters.constructions.class_search.homotopy_classes`, its exact
all-pairs part :mod:`adapters.constructions.exact_pairs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import Tensor

from adapters.constructions.barrier import (
    DEFAULT,
    Barrier,
    BarrierSettings,
    barrier_below,
    endpoint_losses,
    loss_barrier,
    segment,
)
from adapters.constructions.bezier import CURVE_FIT, Bezier, CurveFit
from adapters.nets.alignment import Permutation
from adapters.nets.losses import LossFunction, as_pair
from catcore.instances.paths import Homotopy, Path, Paths

__all__ = ["Aligner", "Classes", "Homotopic", "Witness", "are_homotopic"]

Aligner = Callable[[Tensor, Tensor], Permutation]


# ----------------------------------------------------------------------------- one pair
@dataclass
class Homotopic:
    """Outcome of :func:`are_homotopic`. ``bool(result)`` is the decision.

    ``segment``: the straight segment tested (a Param morphism; ``linear`` is its barrier).
    With a curved test, ``curve`` is the fitted Bezier curve as a morphism of the same
    category, ``curved`` its barrier, ``cell`` the 2-cell ``segment => curve`` (a
    :class:`~catcore.instances.paths.Homotopy`, the straight homotopy between them) and
    ``bezier`` the trained control points.
    """

    homotopic: bool
    method: str | None
    eps: float
    linear: Barrier
    segment: Path = field(repr=False)
    curved: Barrier | None = None
    curve: Path | None = field(default=None, repr=False)
    cell: Homotopy | None = field(default=None, repr=False)
    bezier: Bezier | None = field(default=None, repr=False)
    evaluations: int = 0
    fit_evaluations: int = 0

    def __bool__(self) -> bool:
        return self.homotopic

    @property
    def status(self) -> str:
        """``"linked"``, ``"separated"`` or ``"undecided"`` (a certified test that ran out
        of budget before either bound crossed ``eps``, and no curve linked the pair)."""
        if self.homotopic:
            return "linked"
        return "undecided" if self.linear.status == "undecided" else "separated"

    @property
    def certified(self) -> bool:
        """Whether the verdict is certified: the deciding barrier (the curve's when a curve
        linked the pair, else the segment's) was bounded rigorously."""
        deciding = self.curved if self.method == "bezier" else self.linear
        return bool(deciding is not None and deciding.certified)


def are_homotopic(
    loss: Any,
    a: Any,
    b: Any,
    eps: float,
    *,
    curved: bool = False,
    fit: CurveFit = CURVE_FIT,
    settings: BarrierSettings = DEFAULT,
    category: Paths | None = None,
    certify: bool = True,
) -> Homotopic:
    """Whether ``a`` and ``b`` are linked: barrier at most ``eps`` (absolute, in loss units).

    The straight segment ``a -> b`` of ``category`` (a Param; default ``Paths(n)``) is
    tested first (early-stopping decision, see :mod:`adapters.constructions.barrier`). If
    it fails and ``curved``, a Bezier curve is fitted as ``fit`` says
    (:class:`~adapters.constructions.bezier.CurveFit`; the loss must be differentiable: an
    :class:`~adapters.nets.engine.Engine` or a torch-differentiable callable) and its
    barrier (same definition, along the curve as a morphism of ``category``) is computed
    to tolerance; ``a`` and ``b`` are then homotopic when it is at most ``eps``. The result
    holds the curve and the 2-cell from the segment to it. A curve can only remove false
    negatives of the linear test: the decision is "some tested path has barrier <= eps".
    ``settings``: how each barrier is searched
    (:class:`~adapters.constructions.barrier.BarrierSettings`). With ``certify`` (default)
    the segment's decision is certified when the bound sees through the loss
    (:func:`~adapters.constructions.barrier.certifier`): ``status`` is then ``"linked"``,
    ``"separated"`` or ``"undecided"``, never a guess; the curve's barrier is sampled.

    >>> import torch
    >>> well = lambda p: (p[0] ** 2 - 1) ** 2
    >>> bool(are_homotopic(well, torch.tensor([-1.0]), torch.tensor([1.0]), eps=0.5))
    False
    """
    _check_eps(eps)
    a, b = as_pair(a, b)
    lf = LossFunction.of(loss)
    before = lf.evaluations
    K = category if category is not None else Paths(a.numel())
    seg = segment(a, b, K)
    dtype = lf.engine.dtype if lf.engine is not None else a.dtype
    la, lb = endpoint_losses(lf, seg, dtype)
    lin = barrier_below(lf, seg, eps, loss_a=la, loss_b=lb, settings=settings, dtype=dtype,
                        certify=certify)  # fmt: skip
    out = Homotopic(lin.below(eps), "linear" if lin.below(eps) else None, eps, lin, seg)
    if not out.homotopic and curved:
        bezier = Bezier(a, b, fit.bends, jitter=fit.jitter, seed=fit.seed)
        bezier.fit(lf.at, fit)
        out.bezier, out.curve = bezier, bezier.path(K)
        out.cell = K.straight(seg, out.curve)
        out.curved = loss_barrier(lf, out.curve, loss_a=la, loss_b=lb, settings=settings)
        out.fit_evaluations = fit.steps * fit.samples
        if out.curved.below(eps):
            out.homotopic, out.method = True, "bezier"
    out.evaluations = lf.evaluations - before - out.fit_evaluations  # barriers only
    return out


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
    loss evaluations spent in this call (stored results cost none); ``evaluations_reused``:
    what the stored losses and barriers read back here cost when they were computed, so
    that ``evaluations + evaluations_reused`` is the cost of the result over every run
    that built it (exactly in exact mode; the pruned search's float64 chords and
    midpoint probes that decided nothing are not stored, so reading everything back
    counts a few fewer); ``category``: the
    Param (a catcore ``Paths``) the tested segments live in; ``links[(u, v)]``: the tested
    segment of each link, oriented as tested; ``certified``: whether every decision was
    certified; ``undecided``: tested pairs in different classes whose certified bounds
    straddle ``eps`` (the partition does not guess them).
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
    evaluations_reused: int
    settings: dict[str, Any] = field(default_factory=dict, repr=False)
    category: Paths = field(default=None, repr=False)  # type: ignore[assignment]
    certified: bool = False
    undecided: list[tuple[int, int]] = field(default_factory=list)
    links: dict[tuple[int, int], Path] = field(default_factory=dict, repr=False)
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

    def witness(self, i: int, j: int) -> Witness:
        """The chain of low-barrier segments joining ``i`` and ``j`` (same class), along the
        minimax path (the one whose highest barrier is smallest among tested links): the
        composite, in :attr:`category`, of the tested segments of :attr:`links`, each run
        forwards or backwards (:meth:`~catcore.instances.paths.Paths.reverse`) and, up to
        isomorphism, carried by the permutations met so far (a permutation is an
        isomorphism of Param, :meth:`~adapters.nets.alignment.Permutation.functor`)."""
        N = len(self.labels)
        for k in (i, j):
            if not 0 <= k < N:
                raise ValueError(f"point index {k} out of range 0..{N - 1}")
        if self.labels[i] != self.labels[j]:
            raise ValueError(f"points {i} and {j} are in different classes "
                             f"({self.labels[i]} and {self.labels[j]})")  # fmt: skip
        K = self.category
        links = nx.Graph()
        links.add_nodes_from(range(N))
        links.add_edges_from((u, v, d) for u, v, d in self.graph.edges(data=True) if d["connected"])
        nodes = nx.shortest_path(nx.minimum_spanning_tree(links, weight="barrier"), i, j)
        frame: Permutation | None = None
        segments, heights = [], []
        for x, y in zip(nodes[:-1], nodes[1:]):
            d = self.graph.edges[x, y]
            u, v = d["frame"]
            step = self.links[(u, v)] if (x, y) == (u, v) else K.reverse(self.links[(u, v)])
            rho = None
            if d["kind"] == "aligned":
                assert self._perm is not None
                pi = self._perm(u, v)  # the tested segment runs theta_u -> pi(theta_v)
                rho = pi if (x, y) == (u, v) else pi.inverse()
                if (x, y) != (u, v):
                    step = rho.functor(K)(step)
            segments.append(step if frame is None else frame.functor(K)(step))
            heights.append(float(d["barrier"]))
            if rho is not None:
                frame = rho if frame is None else rho.then(frame)
        start = self.points[i].detach().to(torch.float64).numpy()
        path = K.compose(*segments) if segments else K.identity(start)
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
            "evaluations_reused": self.evaluations_reused,
            "exact": self.exact,
            "aligned": self.aligned,
            "certified": self.certified,
            "undecided": [list(p) for p in self.undecided],
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

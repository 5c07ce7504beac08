"""The pair tests of a homotopy-class search: candidate segments of Param (plain, or to a
permuted end), their barrier scans and decisions, and the stored results they reuse
(``docs/homotopy.md``, "Classes"; the search is
:mod:`adapters.constructions.class_search`)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from adapters.constructions.barrier import decide_scan
from adapters.constructions.barrier_scan import Barrier, BarrierSettings, Scan, evaluate_stage
from adapters.constructions.certified import certified_barrier
from adapters.constructions.taylor import SegmentLoss, exact_lower, unsupported
from adapters.nets.alignment import Permutation
from adapters.nets.engine import Engine
from adapters.runtime.store import digest
from catcore.instances.paths import Path, Paths


class PairTests:
    """Pair tests with storage: candidates ``"plain"`` and (optionally) ``"aligned"``.

    Every pair is oriented canonically, ``(u, v)`` with ``hash_u <= hash_v``, so that a
    stored result means the same curve whichever order the points come in. A candidate is
    a straight segment of ``category`` (Param), the morphism its barrier is computed
    along; the segments of links are kept (``links``): a witness composes them.
    """

    def __init__(self, lf, pts, losses, hashes, eps, settings, store, lid, aligner, category,
                 certify=False):  # fmt: skip
        self.lf, self.pts, self.losses, self.hashes = lf, pts, losses, hashes
        #: certified decisions (:mod:`adapters.constructions.certified`) when asked for and
        #: the bound sees through the loss; otherwise sampled ones, labelled uncertified
        self.certify = bool(certify) and lf.engine is not None and unsupported(lf.engine) is None
        self._losses64: dict[int, float] = {}
        self._engine64: Engine | None = None
        self.category: Paths = category
        self.points64 = pts.detach().cpu().to(torch.float64).numpy()
        self.links: dict[tuple[int, int, str], Path] = {}
        self.eps, self.settings, self.store, self.lid = eps, settings, store, lid
        self.aligner = aligner
        self.perms: dict[tuple[int, int], Permutation] = {}
        self.kinds = ["plain"] + (["aligned"] if aligner is not None else [])
        self.results: dict[tuple[int, int], dict[str, dict]] = {}
        self.item_evaluations = 0  # spent in work items (exact mode)
        self.reused: set[tuple[int, int]] = set()
        self.reused_cost: dict[tuple[int, int, str], int] = {}  # evaluations stored results cost
        keys = ("grid", "tol", "peaks", "max_evals", "budget")
        self.barrier = BarrierSettings(**{k: settings[k] for k in keys})
        base = self.barrier.to_json()
        if not self.certify:
            base.pop("budget")  # the sampled search's keys are those of earlier versions
        cert = "-certified" if self.certify else ""
        self.exact_mode = digest("exact" + cert, base)
        self.decide_mode = digest("decide" + cert, base, eps)
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

    def segment(self, u: int, v: int, kind: str) -> Path:
        """The candidate morphism ``theta_u -> target``, a straight segment of Param."""
        end = self.points64[v] if kind == "plain" else self.perm(u, v)(self.points64[v])
        return self.category.linear(self.points64[u], end)

    def scan(self, u: int, v: int, kind: str) -> Scan:
        return Scan(self.segment(u, v, kind), self.losses[u], self.losses[v], self.barrier.grid,
                    self.pts.dtype)  # fmt: skip

    def record(self, u: int, v: int, kind: str, r: Barrier, exact: bool) -> dict:
        summary = self.record_summary(u, v, kind, summarize(r), exact)
        if r.path is not None and self.connected(summary):
            self.links[(u, v, kind)] = r.path
        return summary

    def record_summary(self, u: int, v: int, kind: str, summary: dict, exact: bool) -> dict:
        if self.store is not None:
            mode = self.exact_mode if exact else self.decide_mode
            self.store.put(self.key(u, v, kind, mode), summary)
        self.results.setdefault((u, v), {})[kind] = summary
        return summary

    def reuse(self, u: int, v: int, kind: str, summary: dict) -> None:
        self.results.setdefault((u, v), {})[kind] = summary
        self.reused.add((u, v))
        self.reused_cost[(u, v, kind)] = int(summary.get("evaluations", 0))

    def connected(self, summary: dict) -> bool:
        """Linked: a certified upper bound at most ``eps``, or (uncertified) a sampled
        height at most ``eps`` that no sample contradicted."""
        if summary.get("certified"):
            return summary["upper"] <= self.eps
        return summary["status"] != "above" and summary["height"] <= self.eps

    def undecided(self, summary: dict) -> bool:
        """A certified test whose bounds straddle ``eps``."""
        return bool(summary.get("certified")) and summary["height"] <= self.eps < summary["upper"]

    def loss64(self, i: int) -> float:
        """The float64 loss at point ``i`` (the chord of a certified test); all points are
        evaluated in one batched call the first time one is asked for."""
        if not self._losses64:
            values = self.engine64().loss(torch.from_numpy(self.points64))
            self._losses64 = dict(enumerate(values.tolist()))
            self.lf.evaluations += len(self.points64)
        return self._losses64[i]

    def engine64(self) -> Engine:
        """A float64 copy of the engine (exact samples of many segments at once)."""
        if self._engine64 is None:
            e = self.lf.engine
            self._engine64 = Engine(e.model, e.X, e.y, e.loss_fn, dtype=torch.float64)
        return self._engine64

    def separate(self, pairs: list[tuple[int, int]], kind: str) -> set[tuple[int, int]]:
        """Certified separations by one exact float64 sample per candidate, all midpoints in
        one batched call: a midpoint above the chord by more than ``eps`` is a rigorous lower
        bound of the barrier, so the pair is recorded separated ("above"). Returns them."""
        todo = [(u, v) for u, v in pairs if self.stored(u, v, kind, exact=False) is None]
        if not todo:
            return set()
        mids = torch.from_numpy(np.stack([
            self.points64[u] + 0.5 * (self.segment(u, v, kind).cod - self.points64[u])
            for u, v in todo
        ]))  # fmt: skip
        values = self.engine64().loss(mids).tolist()
        self.lf.evaluations += len(todo)
        out = set()
        for (u, v), value in zip(todo, values):
            height = exact_lower(value) - 0.5 * (self.loss64(u) + self.loss64(v))
            if height > self.eps:
                summary = {"height": height, "t": 0.5, "status": "above", "evaluations": 1,
                           "upper": math.inf, "certified": True}  # fmt: skip
                self.record_summary(u, v, kind, summary, exact=False)
                out.add((u, v))
        return out

    def certified(self, u: int, v: int, kind: str, exact: bool) -> Barrier:
        """The certified decision (or, ``exact``, barrier to tolerance) of one candidate."""
        path = self.segment(u, v, kind)
        seg = SegmentLoss(self.lf.engine, torch.from_numpy(path.dom), torch.from_numpy(path.cod))
        r = certified_barrier(seg, self.barrier, None if exact else self.eps,
                              self.loss64(u), self.loss64(v))  # fmt: skip
        r.path = path
        self.lf.evaluations += r.evaluations
        return r

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
        if self.certify:
            return self.record(u, v, kind, self.certified(u, v, kind, False), exact=False)
        return self.record(u, v, kind, self.finish(self.scan(u, v, kind)), exact=False)


def summarize(r: Barrier) -> dict:
    """What is stored of a pair's barrier (and read back by the search)."""
    out = {"height": r.height, "t": r.t, "status": r.status, "evaluations": r.evaluations}
    if r.certified:
        out.update(upper=r.upper, certified=True)
    return out

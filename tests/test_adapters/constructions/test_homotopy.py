"""Barriers, homotopy tests and classes on analytic landscapes with known answers."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch
from scipy.cluster.hierarchy import cophenet, fcluster, is_valid_linkage, linkage
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from adapters.constructions.barrier import (
    BarrierSettings,
    barrier_below,
    loss_barrier,
    segment,
)
from adapters.constructions.bezier import CurveFit
from adapters.constructions.class_search import homotopy_classes
from adapters.constructions.homotopy import are_homotopic
from adapters.constructions.linkage import single_linkage
from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.nets.models import mlp
from adapters.runtime.store import Store, StoreError
from catcore.instances.paths import Homotopy, Paths
from catcore.laws import check_examples
from catcore.suites import category_laws, twocell_laws

D = torch.float64

# -- landscapes ---------------------------------------------------------------------------
CENTRES = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]], dtype=D)
DEPTHS = torch.tensor([1.0, 1.3, 0.8, 1.1], dtype=D)


# Landscapes take a point (n,) or a batch (P, n): the dense references evaluate in one call.
def wells(p: torch.Tensor) -> torch.Tensor:
    """Four Gaussian wells (basins around CENTRES) on a weak quadratic bowl."""
    d = ((p[..., None, :] - CENTRES) ** 2).sum(-1)
    return 2.0 - (DEPTHS * torch.exp(-d / 2.0)).sum(-1) + 0.01 * (p**2).sum(-1)


def double_well(p: torch.Tensor) -> torch.Tensor:
    return (p[..., 0] ** 2 - 1) ** 2 + p[..., 1:].pow(2).sum(-1)


def dense_barrier(f, a: torch.Tensor, b: torch.Tensor, n: int = 4001) -> float:
    """Independent reference: the chord-corrected excess on a dense grid."""
    ts = np.linspace(0.0, 1.0, n)
    L = f(a + torch.tensor(ts, dtype=a.dtype)[:, None] * (b - a)).numpy()
    return float(np.max(L - ((1 - ts) * L[0] + ts * L[-1])))


def sample_basins(per: int = 5, scale: float = 0.35, seed: int = 0):
    rng = np.random.default_rng(seed)
    pts, truth = [], []
    for k, c in enumerate(CENTRES):
        for _ in range(per):
            pts.append(c + torch.tensor(rng.normal(0.0, scale, 2), dtype=D))
            truth.append(k)
    return torch.stack(pts), truth


def same_partition(a, b) -> bool:
    def canon(x):
        seen: dict[int, int] = {}
        return [seen.setdefault(int(v), len(seen)) for v in x]

    return canon(a) == canon(b)


# -- barriers -----------------------------------------------------------------------------
def test_double_well_barrier_is_one_at_the_middle() -> None:
    a, b = torch.tensor([-1.0, 0.0], dtype=D), torch.tensor([1.0, 0.0], dtype=D)
    r = loss_barrier(double_well, a, b)
    assert r.height == pytest.approx(1.0, abs=1e-9)
    assert r.t == pytest.approx(0.5, abs=1e-6)
    assert r.status == "resolved"
    assert r.evaluations < 25


@pytest.mark.parametrize("seed", range(3))
def test_barrier_matches_dense_grid_on_random_segments(seed: int) -> None:
    rng = np.random.default_rng(seed)
    evals = []
    for _ in range(15):
        a, b = (torch.tensor(rng.uniform(-1.5, 5.5, 2), dtype=D) for _ in range(2))
        r = loss_barrier(wells, a, b)
        assert abs(r.height - dense_barrier(wells, a, b)) < 1e-3
        evals.append(r.evaluations)
    assert np.mean(evals) < 25  # fewer than the 25-point grid, endpoints included


def test_two_peaks_the_higher_one_is_not_the_best_coarse_sample() -> None:
    """Excess with a wide peak (1.0 at t=0.3) and a narrow higher one (1.05 at t=0.7):
    on the 9-point grid the wide peak looks higher; the refinement must find the other."""

    def bumps(p: torch.Tensor) -> torch.Tensor:
        t = p[..., 0]
        wide = torch.exp(-((t - 0.3) ** 2) / 0.0072)
        return -(wide + 1.05 * torch.exp(-((t - 0.7) ** 2) / 0.0032))

    a, b = torch.tensor([0.0], dtype=D), torch.tensor([1.0], dtype=D)
    coarse = -bumps(torch.linspace(0, 1, 9, dtype=D)[:, None]).numpy()
    assert np.argmax(coarse) == 2  # t = 0.25: the wide peak wins on the grid
    r = loss_barrier(lambda p: -bumps(p), a, b)
    assert r.height == pytest.approx(dense_barrier(lambda p: -bumps(p), a, b), abs=1e-3)
    assert r.t == pytest.approx(0.7, abs=0.01)


def test_chord_corrected_barrier_pitfall_endpoints_with_different_losses() -> None:
    """A loss linear along the segment has no barrier, though max - mean(ends) is 0.5."""
    a, b = torch.tensor([0.0], dtype=D), torch.tensor([1.0], dtype=D)
    r = loss_barrier(lambda p: p[..., 0], a, b)
    assert r.height == pytest.approx(0.0, abs=1e-12)
    naive = max(r.losses) - 0.5 * (r.loss_a + r.loss_b)
    assert naive == pytest.approx(0.5)
    # tilted double well: the chord-corrected value against the dense reference
    tilted = lambda p: (p[..., 0] ** 2 - 1) ** 2 + 0.5 * p[..., 0]  # noqa: E731
    a, b = torch.tensor([-1.0], dtype=D), torch.tensor([1.0], dtype=D)
    r = loss_barrier(tilted, a, b)
    assert r.height == pytest.approx(dense_barrier(tilted, a, b), abs=1e-4)
    assert r.height == pytest.approx(1.0, abs=1e-4)  # excess = 1 - (2t-1)^2 ... max 1
    assert max(r.losses) - 0.5 * (r.loss_a + r.loss_b) != pytest.approx(r.height, abs=1e-2)


def test_a_barrier_is_measured_along_any_morphism_of_the_path_category() -> None:
    """On the ring valley, the polyline (1,0) -> (0,1) -> (-1,0) dips to |p|^2 = 1/2 at the
    midpoint of each leg: loss (1/2 - 1)^2 = 1/4 at normalized times 1/4 and 3/4 (the
    chord is 0). A composite of two segments and the same polyline give that barrier."""
    K = Paths(2)
    a, top, b = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([-1.0, 0.0])
    for path in (K.linear(a, top) >> K.linear(top, b), K.through(np.stack([a, top, b]))):
        r = loss_barrier(ring, path, settings=BarrierSettings(tol=1e-8))
        assert r.path is path
        assert r.height == pytest.approx(0.25, abs=1e-6)
        assert min(abs(r.t - 0.25), abs(r.t - 0.75)) < 1e-3
    back = Paths(2).reverse(K.linear(a, top))
    np.testing.assert_allclose(back.normalized(np.array([0.0, 0.25, 1.0])),
                               [top, 0.25 * a + 0.75 * top, a])  # fmt: skip
    straight = loss_barrier(ring, segment(a, b))
    assert straight.height == pytest.approx(1.0, abs=1e-6)  # through the centre
    with pytest.raises(TypeError, match="not a path and a point"):
        loss_barrier(ring, K.linear(a, b), b)


def test_known_endpoint_losses_are_not_re_evaluated() -> None:
    a, b = torch.tensor([-1.0, 0.0], dtype=D), torch.tensor([1.0, 0.0], dtype=D)
    full = loss_barrier(double_well, a, b)
    given = loss_barrier(double_well, a, b, loss_a=0.0, loss_b=0.0)
    assert given.evaluations == full.evaluations - 2
    assert given.height == full.height


def test_max_evals_caps_the_work() -> None:
    a, b = torch.tensor([-1.0, 0.0], dtype=D), torch.tensor([1.0, 0.0], dtype=D)
    r = loss_barrier(double_well, a, b, settings=BarrierSettings(grid=9, max_evals=9, tol=1e-12))
    assert r.evaluations <= 9 + 2
    assert r.status == "budget"


def test_decision_stops_early_and_agrees_with_the_dense_barrier() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        a, b = (torch.tensor(rng.uniform(-1.5, 5.5, 2), dtype=D) for _ in range(2))
        la, lb = float(wells(a)), float(wells(b))
        ref = dense_barrier(wells, a, b)
        for eps in (0.02, 0.2):
            if abs(ref - eps) < 1e-3:
                continue
            r = barrier_below(wells, segment(a, b), eps, loss_a=la, loss_b=lb)
            assert r.below(eps) == (ref <= eps)
            if r.status == "above":
                assert ref >= r.height > eps  # a lower bound


def test_engine_and_callable_give_the_same_barrier() -> None:
    torch.manual_seed(0)
    net = mlp(4, (6,), 3)
    X, y = torch.randn(40, 4, dtype=D), torch.randint(0, 3, (40,))
    eng = Engine(net, X, y, dtype=D)
    a = eng.space.vector().to(D)
    b = a + torch.randn_like(a)
    fn = lambda p: eng.loss(p)  # noqa: E731  (one point at a time)
    r1, r2 = loss_barrier(eng, a, b), loss_barrier(fn, a, b)
    assert r1.height == pytest.approx(r2.height, abs=1e-9)
    lf = LossFunction(eng)
    r3 = loss_barrier(lf, a, b)
    assert lf.evaluations == r3.evaluations


@pytest.mark.parametrize(
    "kwargs, match",
    [({"grid": 2}, "grid"), ({"tol": 0.0}, "tol"), ({"max_evals": 3}, "max_evals")],
)
def test_bad_settings_are_refused(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        BarrierSettings(**kwargs)


def test_bad_points_are_refused() -> None:
    with pytest.raises(ValueError, match="different shapes"):
        loss_barrier(double_well, torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="eps"):
        homotopy_classes(double_well, torch.zeros(3, 2), eps=0.0)
    with pytest.raises(TypeError, match="points"):
        homotopy_classes(double_well, "abc", eps=0.1)


# -- are_homotopic --------------------------------------------------------------------------
def ring(p: torch.Tensor) -> torch.Tensor:
    """A circular valley of radius 1 (the minima form the circle)."""
    return ((p**2).sum(-1) - 1.0) ** 2


def test_curved_path_removes_a_false_negative() -> None:
    a, b = torch.tensor([1.0, 0.0], dtype=D), torch.tensor([-1.0, 0.0], dtype=D)
    lin = are_homotopic(ring, a, b, eps=0.1)
    assert not lin and lin.linear.height > 0.9  # through the centre: loss 1
    bent = are_homotopic(ring, a, b, eps=0.1, curved=True, fit=CurveFit(steps=100, lr=0.05))
    assert bent and bent.method == "bezier"
    assert bent.curved.height <= 0.1 and bent.curved.path is bent.curve
    dense = float(ring(torch.from_numpy(bent.curve.normalized(np.linspace(0, 1, 2001)))).max())
    assert dense <= 0.1 + 1e-3  # checked independently along the fitted curve


def test_the_curved_test_yields_a_two_cell_that_passes_the_two_cell_laws() -> None:
    """The curved decision returns the 2-cell segment => curve (a catcore Homotopy); with
    identities and composites around it, every law of catcore's 2-cell suite holds."""
    a, b = torch.tensor([1.0, 0.0], dtype=D), torch.tensor([-1.0, 0.0], dtype=D)
    K = Paths(2, grid_size=9)
    bent = are_homotopic(ring, a, b, eps=0.1, curved=True, fit=CurveFit(steps=100, lr=0.05),
                         category=K)  # fmt: skip
    c = bent.cell
    assert isinstance(c, Homotopy)
    assert c.source is bent.segment and c.target is bent.curve  # the morphisms tested
    assert K.equality(c.source, K.linear(a.numpy(), b.numpy()))
    assert K.equality(c.target, bent.bezier.path(K))
    back = K.straight(c.target, c.source)
    loop = K.linear(b.numpy(), b.numpy() + 1.0) >> K.linear(b.numpy() + 1.0, b.numpy())
    at_b = K.id2(loop)
    examples = {
        "object": [a.numpy(), b.numpy()],
        "arrow": [c.source, c.target, loop],
        "chain2": [(c.source, loop), (c.target, loop)],
        "chain3": [(c.source, loop, loop)],
        "cell": [c, back],
        "vchain3": [(c, back, c)],
        "hchain3": [(c, at_b, at_b)],
        "interchange": [(c, back, at_b, at_b)],
    }
    report = check_examples(twocell_laws(K), examples)
    assert report.ok, report.summary()
    assert are_homotopic(ring, a, b, eps=0.1).cell is None  # no curve, no 2-cell


def test_points_in_one_basin_are_homotopic_linearly() -> None:
    a, b = CENTRES[1] + 0.2, CENTRES[1] - 0.3
    r = are_homotopic(wells, a, b, eps=0.01)
    assert r and r.method == "linear"


# -- classes --------------------------------------------------------------------------------
def all_pairs_reference(f, pts, eps):
    N = len(pts)
    B = np.zeros((N, N))
    for i in range(N):
        for j in range(i + 1, N):
            B[i, j] = B[j, i] = dense_barrier(f, pts[i], pts[j], n=801)
    return connected_components(B <= eps, directed=False)[1], B


def test_classes_are_the_known_basins() -> None:
    pts, truth = sample_basins()
    r = homotopy_classes(wells, pts, eps=0.05)
    assert same_partition(r.labels, truth)
    assert r.n_classes == 4
    assert r.pairs_tested < r.pairs_total


def chain_points():
    """Points along the ring valley (neighbours linked, opposite points not) plus two
    points in a well far away: the classes need the transitive closure."""
    angles = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    on_ring = [torch.tensor([math.cos(a), math.sin(a)], dtype=D) for a in angles]
    far = [torch.tensor([6.0, 6.0], dtype=D), torch.tensor([6.1, 5.9], dtype=D)]
    return torch.stack(on_ring + far)


def ring_and_well(p: torch.Tensor) -> torch.Tensor:
    return torch.minimum(ring(p), ((p - 6.0) ** 2).sum(-1))


def test_pruned_partition_equals_all_pairs_and_needs_transitivity() -> None:
    pts = chain_points()
    eps = 0.15
    ref, B = all_pairs_reference(ring_and_well, pts, eps)
    assert B[0, 5] > 0.5  # opposite points on the ring: not directly linked
    r = homotopy_classes(ring_and_well, pts, eps)
    assert same_partition(r.labels, ref)
    assert r.labels[0] == r.labels[5] and r.n_classes == 2
    exact = homotopy_classes(ring_and_well, pts, eps, exact=True)
    assert same_partition(exact.labels, ref)
    assert r.evaluations < exact.evaluations
    for order in ("index", "nearest"):
        for batch in (1, 3):
            again = homotopy_classes(ring_and_well, pts, eps, order=order, batch=batch)
            assert same_partition(again.labels, ref)


def test_exact_linkage_is_single_linkage_of_all_pair_barriers() -> None:
    pts, _ = sample_basins(per=3)
    r = homotopy_classes(wells, pts, eps=0.05, exact=True)
    _, B = all_pairs_reference(wells, pts, 0.05)
    Z_ref = linkage(squareform(B, checks=False), method="single")
    assert is_valid_linkage(r.linkage)
    np.testing.assert_allclose(cophenet(r.linkage), cophenet(Z_ref), atol=1e-3)


def test_pruned_linkage_cut_at_eps_gives_the_classes() -> None:
    pts, truth = sample_basins()
    r = homotopy_classes(wells, pts, eps=0.05)
    assert is_valid_linkage(r.linkage)
    cut = fcluster(r.linkage, t=0.05, criterion="distance")
    assert same_partition(cut, r.labels)
    heights = r.linkage[:, 2]
    assert np.all(np.diff(heights) >= 0)  # an ultrametric: merges in increasing order


def test_single_linkage_refuses_a_disconnected_graph() -> None:
    with pytest.raises(ValueError, match="not connected"):
        single_linkage(3, [(0, 1, 0.1)])


def test_point_formats_agree() -> None:
    torch.manual_seed(0)
    nets = [mlp(4, (5,), 3) for _ in range(3)]
    X, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    eng = Engine(nets[0], X, y)
    vecs = [eng.space.vector(n) for n in nets]
    results = [
        homotopy_classes(eng, nets, eps=0.05),
        homotopy_classes(eng, vecs, eps=0.05),
        homotopy_classes(eng, torch.stack(vecs), eps=0.05),
    ]
    for r in results[1:]:
        assert r.labels.tolist() == results[0].labels.tolist()
        assert torch.equal(r.points, results[0].points)


def test_witness_is_a_chain_of_low_barrier_param_segments() -> None:
    pts = chain_points()
    eps = 0.15
    r = homotopy_classes(ring_and_well, pts, eps)
    w = r.witness(0, 5)
    assert w.nodes[0] == 0 and w.nodes[-1] == 5 and w.iso is None
    np.testing.assert_allclose(w.path.dom, pts[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(w.path.cod, pts[5].numpy(), atol=1e-12)
    assert len(w.segments) >= 2  # not a direct link
    for seg in w.segments:  # every segment checked independently on a dense grid
        a, b = torch.from_numpy(seg.dom), torch.from_numpy(seg.cod)
        assert dense_barrier(ring_and_well, a, b) <= eps + 1e-3
    tested = {id(p) for p in r.links.values()}  # the morphisms whose barriers were computed
    for x, y, seg in zip(w.nodes, w.nodes[1:], w.segments):
        u, v = r.graph.edges[x, y]["frame"]
        assert id(seg) in tested if (x, y) == (u, v) else seg.kind.startswith("reversed")
    K = r.category
    assert all(K.owns(seg) for seg in w.segments) and K.owns(w.path)
    chain = list(w.segments)
    examples = {
        "object": [w.path.dom],
        "arrow": [*chain, w.path],
        "chain2": list(zip(chain, chain[1:])),
        "chain3": list(zip(chain, chain[1:], chain[2:])),
    }
    report = check_examples(category_laws(K), examples)
    assert report.ok, report.summary()
    with pytest.raises(ValueError, match="different classes"):
        r.witness(0, 10)


def test_graph_carries_barrier_heights() -> None:
    pts, _ = sample_basins(per=2)
    r = homotopy_classes(wells, pts, eps=0.05)
    assert isinstance(r.graph, nx.Graph)
    for i, j, d in r.graph.edges(data=True):
        ref = dense_barrier(wells, pts[i], pts[j], n=801)
        if d["status"] == "above":
            assert ref >= d["barrier"] - 1e-9 and d["barrier"] > 0.05
        else:
            assert d["barrier"] <= ref + 1e-9
            assert (ref <= 0.05 + 1e-3) == d["connected"]
    json_ready = r.to_dict()
    assert json_ready["n_classes"] == r.n_classes


# -- resumability -------------------------------------------------------------------------
class Interrupt(Exception):
    pass


class CountingLoss:
    """``wells`` with a call counter that can raise after ``limit`` calls."""

    def __init__(self, limit: int | None = None) -> None:
        self.calls, self.limit = 0, limit

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        if self.limit is not None and self.calls >= self.limit:
            raise Interrupt
        self.calls += 1
        return wells(p)


@pytest.mark.parametrize("exact", [False, True])
def test_second_run_reuses_every_finished_pair(tmp_path, exact: bool) -> None:
    pts, truth = sample_basins(per=3)
    path = tmp_path / "pairs.sqlite"
    first = homotopy_classes(wells, pts, 0.05, exact=exact, store=Store(path), loss_key="wells")
    assert first.evaluations > 0
    again = homotopy_classes(wells, pts, 0.05, exact=exact, store=Store(path), loss_key="wells")
    assert again.evaluations == 0
    assert again.labels.tolist() == first.labels.tolist()
    assert again.pairs_reused == again.pairs_tested == first.pairs_tested


def test_interrupted_run_resumes_without_recomputing(tmp_path) -> None:
    pts, truth = sample_basins(per=4)
    full = CountingLoss()
    reference = homotopy_classes(full, pts, 0.05, batch=4)
    path = tmp_path / "pairs.sqlite"
    broken = CountingLoss(limit=full.calls // 2)
    with pytest.raises(Interrupt):
        homotopy_classes(broken, pts, 0.05, batch=4, store=Store(path), loss_key="wells")
    finished = sum(1 for _ in Store(path).keys("homotopy/"))
    assert finished > 0
    resumed_loss = CountingLoss()
    resumed = homotopy_classes(resumed_loss, pts, 0.05, batch=4, store=Store(path),
                               loss_key="wells")  # fmt: skip
    assert same_partition(resumed.labels, reference.labels)
    assert resumed.pairs_reused > 0
    assert resumed_loss.calls < full.calls  # finished pairs were not recomputed
    last = CountingLoss()
    homotopy_classes(last, pts, 0.05, batch=4, store=Store(path), loss_key="wells")
    assert last.calls == 0


def test_store_needs_a_name_for_a_callable_loss(tmp_path) -> None:
    with pytest.raises(ValueError, match="loss_key"):
        homotopy_classes(wells, sample_basins(per=1)[0], 0.05, store=Store(tmp_path / "s"))


def test_store_roundtrip_and_atomic_batches(tmp_path) -> None:
    s = Store(tmp_path / "x.sqlite")
    s.put_many({"a/1": {"h": 1.5}, "a/2": [1, 2], "b": "text"})
    s.close()
    t = Store(tmp_path / "x.sqlite")
    assert t.get("a/1") == {"h": 1.5} and sorted(t.keys("a/")) == ["a/1", "a/2"]
    with pytest.raises(TypeError):
        t.put_many({"ok": 1, "bad": object()})
    assert "ok" not in t  # nothing of a failed batch is written
    with pytest.raises(StoreError, match="folder"):
        Store(tmp_path)

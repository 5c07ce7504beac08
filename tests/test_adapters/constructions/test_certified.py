"""Certified barriers: soundness against constructed spikes of known height and dense
float64 grids, certified decisions that never guess, the uncertified fallback, and one
partition whatever the search mode or store history."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from adapters.constructions.barrier import BarrierSettings, certifier, loss_barrier, segment
from adapters.constructions.barrier_scan import Scan
from adapters.constructions.class_search import homotopy_classes
from adapters.constructions.homotopy import are_homotopic
from adapters.constructions.taylor import SegmentLoss, unsupported
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.nets.training import train
from adapters.runtime.store import Store

# -- a planted spike of known height -------------------------------------------------------
#
# One input x = 1, label 0, hidden units h_i = relu(k (t - t_i)) along the segment (the
# first-layer weight is affine in t), logits (0, A (h_1 - 2 h_2 + h_3)): the bump of the
# three ramps is a triangle of height k delta at t_2 and zero outside (t_1, t_3), so the
# loss log(1 + exp(A bump)) has a spike of height log(1 + e^H) - log 2 over the chord
# (log 2 at both ends), H = A k delta. All values are dyadic, so b - a is exact.

K, DELTA = 1024.0, 2.0**-13  # spike width 2 delta = 2.4e-4
CENTRE = 0.3  # off every dyadic grid the sampling method visits


def spike_point(t: float, centre: float = CENTRE, height: float = 2.0) -> torch.Tensor:
    knots = torch.tensor([centre - DELTA, centre, centre + DELTA], dtype=torch.float64)
    A = height / (K * DELTA)
    W1 = (K * (t - knots))[:, None]
    W2 = torch.tensor([[0.0, 0.0, 0.0], [A, -2 * A, A]], dtype=torch.float64)
    return torch.cat([W1.reshape(-1), torch.zeros(3, dtype=torch.float64), W2.reshape(-1),
                      torch.zeros(2, dtype=torch.float64)]).float()  # fmt: skip


def spike_engine() -> Engine:
    net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 2))
    return Engine(net, torch.ones(1, 1), torch.zeros(1, dtype=torch.long))


def spike_height(a: torch.Tensor, b: torch.Tensor) -> float:
    """The barrier of the segment a -> b, by hand: the loss log(1 + exp(z(t))) with
    z = A (relu(w1) - 2 relu(w2) + relu(w3)), w_i(t) = a_i + t (b_i - a_i), peaks where
    w2 = 0 (the bump is piecewise linear with its top there); minus the chord."""
    a, b = a.double(), b.double()
    w = lambda t: a[:3] + t * (b[:3] - a[:3])  # noqa: E731
    A = float(a[9])  # W2[1, 0]; parameters are W1 (3), b1 (3), W2 (2 x 3), b2 (2)
    t2 = float(-a[1] / (b[1] - a[1]))
    mix = torch.tensor([1.0, -2.0, 1.0], dtype=torch.float64)

    def loss(t: float) -> float:
        return math.log1p(math.exp(A * float(w(t).clamp_min(0) @ mix)))

    return loss(t2) - ((1 - t2) * loss(0.0) + t2 * loss(1.0))


def test_a_planted_spike_is_found_and_certified_where_sampling_misses_it() -> None:
    eng = spike_engine()
    a, b = spike_point(0.0), spike_point(1.0)
    true = spike_height(a, b)
    assert true == pytest.approx(math.log1p(math.exp(2.0)) - math.log(2.0), abs=1e-5)
    for tol in (1e-3, 1e-4):
        r = loss_barrier(eng, a, b, tol=tol)
        assert r.certified and r.status == "resolved"
        assert r.upper >= true  # sound
        assert r.upper - r.height <= tol and r.height <= true + 1e-12
        assert abs(r.t - CENTRE) < 2 * DELTA
    sampled = loss_barrier(eng, a, b, certify=False)
    assert not sampled.certified and sampled.upper == math.inf
    assert sampled.height < 0.1 < true  # the 9-point grid and its refinements miss it


def test_certified_decisions_stop_at_the_first_certificate_and_never_guess() -> None:
    eng = spike_engine()
    a, b = spike_point(0.0), spike_point(1.0)
    true = spike_height(a, b)
    sep = are_homotopic(eng, a, b, eps=0.5)
    assert not sep and sep.status == "separated" and sep.certified
    assert 0.5 < sep.linear.height <= true and sep.linear.upper >= true
    linked = are_homotopic(eng, a, b, eps=2.0)
    assert linked and linked.status == "linked" and linked.linear.upper <= 2.0
    tight = are_homotopic(eng, a, b, eps=true - 0.01, settings=BarrierSettings(budget=1))
    assert tight.status == "undecided" and not tight and tight.certified
    assert tight.linear.height <= true - 0.01 < true <= tight.linear.upper


def _digits_points(hidden=(16,), act=nn.ReLU, seeds=(0, 1), steps=150):
    full = digits(seed=0)
    data = (full.X_train[:400], full.y_train[:400])
    pts = []
    for s in seeds:
        torch.manual_seed(s)
        net = nn.Sequential(nn.Linear(64, hidden[0]), act(), nn.Linear(hidden[0], 10))
        pts.append(train(net, data, steps=steps, lr=0.1, batch_size=64, seed=s).theta)
    return Engine(net, *data), pts


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh])
def test_upper_bounds_hold_against_a_dense_float64_grid(act) -> None:
    """Independent and nearby pairs of trained digits networks: the upper bound is never
    below the maximum of a 10,001-point float64 grid, and within tol of the height."""
    eng, (p, q) = _digits_points(act=act)
    near = p + 0.05 * (q - p)
    ts = np.linspace(0.0, 1.0, 10001)
    for a, b in ((p, q), (p, near)):
        seg = SegmentLoss(eng, a, b)
        dense = seg.values(ts)
        excess = float(np.max(dense - ((1 - ts) * dense[0] + ts * dense[-1])))
        r = loss_barrier(eng, a, b, tol=1e-4)
        assert r.certified and r.status == "resolved"
        assert r.upper >= excess - 1e-12
        assert r.upper - r.height <= 1e-4
    # the bound itself, on cells of the grid: no sample exceeds its cell's bound
    seg = SegmentLoss(eng, p, q)
    t0 = np.linspace(0.0, 0.999, 1000)
    lo, hi = seg.upper(t0, t0 + 0.001)
    vals = seg.values(np.stack([t0, t0 + 0.0005, t0 + 0.001]).ravel()).reshape(3, -1)
    assert np.all(vals.max(axis=0) <= np.maximum(lo, hi))


def test_a_convolutional_network_is_certified_against_a_dense_grid() -> None:
    """Conv2d, ReLU, stride, padding, adaptive average pooling and flatten: the bound
    holds against a 4,001-point float64 grid of two trained CNNs on digits images."""
    full = digits(seed=0)
    X, y = full.X_train[:300].reshape(-1, 1, 8, 8), full.y_train[:300]
    pts = []
    for s in (0, 1):
        torch.manual_seed(s)
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                            nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))  # fmt: skip
        pts.append(train(net, (X, y), steps=100, lr=0.1, batch_size=32, seed=s).theta)
    eng = Engine(net, X, y)
    assert unsupported(eng) is None
    seg = SegmentLoss(eng, *pts)
    ts = np.linspace(0.0, 1.0, 4001)
    dense = seg.values(ts)
    excess = float(np.max(dense - ((1 - ts) * dense[0] + ts * dense[-1])))
    step = eng.loss(pts[0][None] + torch.tensor(ts[::400], dtype=torch.float32)[:, None]
                    * (pts[1] - pts[0])[None])  # fmt: skip
    np.testing.assert_allclose(dense[::400], step.double().numpy(), atol=1e-5)  # same loss
    r = loss_barrier(eng, *pts, tol=1e-3)
    assert r.certified and r.status == "resolved"
    assert r.upper >= excess - 1e-12 and r.upper - r.height <= 1e-3


def test_losses_the_bound_cannot_see_through_are_sampled_and_labelled() -> None:
    def well(p):
        return (p[0] ** 2 - 1) ** 2

    r = loss_barrier(well, torch.tensor([-1.0]), torch.tensor([1.0]))
    assert not r.certified and r.upper == math.inf and r.to_dict()["certified"] is False
    gelu = Engine(nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 2)),
                  torch.randn(5, 2), torch.zeros(5, dtype=torch.long))  # fmt: skip
    assert "GELU" in unsupported(gelu)
    a = gelu.space.vector()
    assert certifier(gelu, segment(a, a + 1)) is None
    assert not loss_barrier(gelu, a, a + 1).certified
    assert "callable" in unsupported(well)
    mse = Engine(mlp(2, (3,), 1), torch.randn(5, 2), torch.randn(5, 1),
                 loss_fn=nn.functional.mse_loss)  # fmt: skip
    assert "cross-entropy" in unsupported(mse)


def test_a_sample_that_contradicts_the_curvature_estimate_raises_it() -> None:
    """The sampling fallback: a bump the 9-point grid underestimates; the first refinement
    sample above its interval's bound replaces the estimate."""
    K1 = segment(torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    scan = Scan(K1, 0.0, 0.0, 9)
    for t in np.linspace(0, 1, 9):
        scan.samples[float(t)] = 0.0
    scan.level = len(scan.levels)
    M = scan.curvature()
    scan.samples[0.3] = 1.0  # far above the flat grid's bound on [0.25, 0.375]
    raised = scan.raise_curvature(0.25, 0.3, 0.375, bound=0.0)
    assert M == 0.0 and raised > 0.0
    bound = max(b for b, t0, t1 in scan.intervals() if t0 == 0.25)
    assert bound >= 1.0 - 1e-12  # the new estimate covers the sample that broke the old one


# -- one answer ----------------------------------------------------------------------------


def wall_points() -> torch.Tensor:
    """Six networks on one line of parameter space, three on each side of a spike 2.4e-4
    wide at t = 0.3: every cross-wall segment crosses it (barrier ~1.43), same-side
    segments are flat (barrier 0)."""
    ts = [0.0625, 0.125, 0.1875, 0.8125, 0.875, 0.9375]
    return torch.stack([spike_point(t - 0.2) for t in ts])


def test_a_thin_wall_gives_one_certified_partition_in_every_mode(tmp_path) -> None:
    eng, pts = spike_engine(), wall_points()
    expected = [0, 0, 0, 1, 1, 1]
    pruned = homotopy_classes(eng, pts, eps=0.5)
    assert pruned.certified and pruned.labels.tolist() == expected and not pruned.undecided
    exact = homotopy_classes(eng, pts, eps=0.5, exact=True)
    assert exact.labels.tolist() == expected
    for order in (list(range(6)), [5, 2, 4, 0, 3, 1]):  # stores filled in different orders
        store = Store(tmp_path / f"s{order[0]}.sqlite")
        for i, j in zip(order, order[1:]):
            homotopy_classes(eng, pts[[i, j]], eps=0.5, store=store)
        again = homotopy_classes(eng, pts, eps=0.5, store=store)
        assert again.labels.tolist() == expected and again.pairs_reused > 0
    guessed = homotopy_classes(eng, pts, eps=0.5, certify=False)
    assert not guessed.certified  # the sampled search is labelled as such
    as_dict = pruned.to_dict()
    assert as_dict["certified"] is True and as_dict["undecided"] == []


def test_pairs_left_undecided_are_reported_not_guessed() -> None:
    eng, pts = spike_engine(), wall_points()[[0, 4]]
    eps = 1.4  # just below the wall: a sample must land on it to decide
    r = homotopy_classes(eng, pts, eps=eps, settings=BarrierSettings(budget=1))
    assert r.certified and r.undecided == [(0, 1)] and r.n_classes == 2
    edge = r.graph.edges[0, 1]
    assert edge["undecided"] and edge["barrier"] <= eps < edge["upper"]

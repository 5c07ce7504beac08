"""Param (Def 2.1) on real networks: constructors against independent implementations,
catcore's category and 2-cell law suites, strictness of concatenation, and equality up to
reparametrization (including the classic [0, 1] concatenation it rescues)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from adapters.categories.param import Param
from adapters.nets.data import digits
from adapters.nets.models import cnn_bn, mlp, small_resnet
from adapters.nets.training import train
from catcore.errors import MorphismError
from catcore.instances.paths import Path, Paths
from catcore.instances.reparametrization import UpToReparametrization, by_arclength
from catcore.laws import check
from catcore.strategies import twocell_gens
from catcore.suites import category_gens, category_laws, check_category, twocell_laws

SPLIT = digits(seed=0)
X, Y = SPLIT.X_train[:128], SPLIT.y_train[:128]


@pytest.fixture(scope="module")
def run():
    """A short recorded digits run of a small MLP: (Param, trajectory path, raw trajectory)."""
    torch.manual_seed(0)
    net = mlp(64, (12,), 10)
    P = Param(net, X, Y)
    result = train(net, (X, Y), steps=24, lr=0.2, batch_size=32, seed=0, record_every=4)
    return P, P.trajectory(result.trajectory), result.trajectory


def checkpoints(P: Param, traj) -> list[np.ndarray]:
    return [P.point(p) for p in traj.points()]


def hom(P: Param, pool: list[np.ndarray]):
    """Arrows a -> b: segments, Bezier curves and polylines bending through pool points."""

    def between(a: np.ndarray, b: np.ndarray) -> st.SearchStrategy:
        T = st.sampled_from([0.5, 1.0, 3.0])
        mid = st.sampled_from(pool)
        return st.one_of(
            T.map(lambda t: P.linear(a, b, t)),
            st.tuples(mid, T).map(lambda mt: P.bezier(np.stack([a, mt[0], b]), mt[1])),
            st.tuples(mid, T).map(lambda mt: P.through(np.stack([a, mt[0], b]), [0, 1, 1 + mt[1]])),
        )

    return between


def test_constructors_match_independent_implementations(run):
    P, path, traj = run
    pts = checkpoints(P, traj)
    a, b, c = pts[0], pts[3], pts[-1]
    s = np.linspace(0, 1, 11)
    # segment: a + s (b - a)
    assert np.allclose(P.linear(a, b, 2.0).normalized(s), a + np.outer(s, b - a), atol=1e-12)
    # polyline: catcore's own (per-coordinate np.interp) implementation
    K = Paths(P.dim)
    knots, times = np.stack([a, b, c]), [0.0, 0.7, 2.0]
    ref = K.through(knots, times)
    assert np.allclose(P.through(knots, times).sample(s * 2.0), ref.sample(s * 2.0), atol=1e-12)

    # Bezier: de Casteljau by hand
    def casteljau(ctrl: np.ndarray, u: float) -> np.ndarray:
        while len(ctrl) > 1:
            ctrl = (1 - u) * ctrl[:-1] + u * ctrl[1:]
        return ctrl[0]

    ctrl = np.stack([a, b, c, b])
    bez = P.bezier(ctrl, 4.0)
    want = np.stack([casteljau(ctrl, u) for u in s])
    assert np.allclose(bez.normalized(s), want, atol=1e-10)
    assert np.allclose(bez.dom, a) and np.allclose(bez.cod, b)


def test_trajectory_is_the_recorded_run(run):
    P, path, traj = run
    pts = traj.points().double().numpy()
    assert path.duration == traj.steps[-1] - traj.steps[0] == 24
    assert np.array_equal(path.dom, pts[0]) and np.array_equal(path.cod, pts[-1])
    assert np.allclose(path.sample(np.array(traj.steps, float)), pts, atol=1e-12)
    # halfway between two checkpoints: their midpoint
    mid = path.sample(np.array([(traj.steps[1] + traj.steps[2]) / 2]))[0]
    assert np.allclose(mid, (pts[1] + pts[2]) / 2, atol=1e-12)


def test_consecutive_segments_compose_to_the_whole_run(run):
    P, path, traj = run
    pts, steps = traj.points(), np.array(traj.steps, float)
    first = P.trajectory(pts[:4], steps[:4])
    second = P.trajectory(pts[3:], steps[3:])
    whole = first >> second
    assert whole.duration == path.duration
    assert P.equality(whole, path), P.equality.explain(whole, path)
    pieces = P.segments(path, [5.0, 13.0])
    assert [p.duration for p in pieces] == [5.0, 8.0, 11.0]
    assert P.equality(P.compose(*pieces), path)
    # a different split point composes to the same whole: strict associativity at work
    assert P.equality(pieces[0] >> (pieces[1] >> pieces[2]), (pieces[0] >> pieces[1]) >> pieces[2])


def test_loss_is_the_model_loss(run):
    P, path, traj = run
    net = P.module_at(path.cod)
    with torch.no_grad():
        direct = F.cross_entropy(net(X), Y).item()
    assert P.loss(path.cod) == pytest.approx(direct, rel=1e-5)
    assert P.loss_along(path, [1.0])[0] == pytest.approx(direct, rel=1e-5)


@pytest.mark.parametrize("factory", ["mlp", "cnn", "resnet"])
def test_category_laws(factory):
    torch.manual_seed(0)
    flat = factory == "mlp"
    net = {"mlp": lambda: mlp(64, (8,), 10), "cnn": lambda: cnn_bn(4),
           "resnet": lambda: small_resnet(4)}[factory]().eval()  # fmt: skip
    data = X if flat else X.reshape(-1, 1, 8, 8)
    P = Param(net, data, Y, buffers="refuse" if flat else "include")
    rng = np.random.default_rng(0)
    pool = [P.of() + 0.1 * rng.standard_normal(P.dim) for _ in range(4)]
    report = check_category(P, st.sampled_from(pool), hom=hom(P, pool), max_examples=10)
    report.raise_for_failures()


def test_twocell_laws(run):
    P0, path, traj = run
    P = Param(P0.model, X, Y, grid_size=9)  # homotopies are checked on a grid squared
    pool = checkpoints(P, traj)[::3]
    between = hom(P, pool)

    def parallel(n: int, ends=None):
        anywhere = st.tuples(st.sampled_from(pool), st.sampled_from(pool))
        pair = anywhere if ends is None else st.just(ends)
        return pair.flatmap(lambda ab: st.tuples(*[between(*ab) for _ in range(n)]))

    gens = twocell_gens(P, st.sampled_from(pool), between, lambda f, g: st.just(P.straight(f, g)))
    check(twocell_laws(P), gens, P.equality, max_examples=4).raise_for_failures()


class UnitIntervalParam(Param):
    """The classic concatenation on [0, 1]: (f.g)(s) = f(2s), then g(2s - 1); identity =
    constant path of duration 1. Associative and unital only up to reparametrization."""

    def identity(self, obj):
        x = self.point(obj)
        return self._make(lambda t: np.broadcast_to(x, (len(t), self.dim)), 1.0)

    def _compose(self, f, g):
        def fn(t):
            return np.where((t <= 0.5)[:, None], f.normalized(2 * t), g.normalized(2 * t - 1))

        return self._make(fn, 1.0, np.concatenate([f.breaks / 2, [0.5], 0.5 + g.breaks / 2]))


def test_strict_equality_catches_unit_interval_concatenation(run):
    """The broken instance: catcore's category laws fail under strict equality ..."""
    P0, path, traj = run
    P = UnitIntervalParam(P0.model, X, Y)
    pool = checkpoints(P, traj)[::3]
    report = check_category(P, st.sampled_from(pool), hom=hom(P, pool), max_examples=10)
    failed = {f.law for f in report.failures}
    assert failed == {"left identity", "right identity", "associativity"}


def test_up_to_reparametrization_rescues_unit_interval_concatenation(run):
    """... and hold up to reparametrization (the classical theorem)."""
    P0, path, traj = run
    P = UnitIntervalParam(P0.model, X, Y)
    pool = checkpoints(P, traj)[::3]
    gens = category_gens(st.sampled_from(pool), hom=hom(P, pool))
    eq = UpToReparametrization(atol=1e-6, rtol=1e-6)
    check(category_laws(P), gens, eq, max_examples=10).raise_for_failures()


def test_reparametrization_equality_known_answers(run):
    P, path, traj = run
    eq = UpToReparametrization(atol=1e-9, rtol=1e-9)
    a, b, c = (P.point(p) for p in (traj[0], traj[3], traj[-1]))
    seg = P.linear(a, b, 1.0)
    # a reparametrization (different duration and speed) is equal; the same holds for a
    # recorded trajectory (corners) and a Bezier curve (within the resampling error)
    for f in (seg, path):
        g = P.reparametrize(f, lambda s: s**3, duration=7.0)
        assert not P.equality(f, g)
        assert eq(f, g), eq.explain(f, g)
    bez = P.bezier(np.stack([a, c, b]))
    assert UpToReparametrization(atol=1e-6, rtol=1e-6)(bez, P.reparametrize(bez, np.sqrt))
    # pausing does not change the path, doubling back does, and so does reversal
    paused = P.linear(a, a, 0.0) >> P.through(np.stack([a, a, b]), [0, 2, 3])
    assert eq(seg, paused)
    back_and_forth = P.through(np.stack([a, b, a, b]))
    assert not eq(seg, back_and_forth)
    assert not eq(seg, P.linear(b, a))
    # distance between segments a->b and a->c at equal arc-length fractions: s (b - c)
    assert eq.distance(seg, P.linear(a, c)) == pytest.approx(np.max(np.abs(b - c)), rel=1e-9)
    assert not eq(seg, P.linear(a, c))


def test_by_arclength_is_uniform_in_length(run):
    P, path, traj = run
    pts = by_arclength(path, 33)
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    pts_ref = traj.points().double().numpy()
    total = np.sum(np.linalg.norm(np.diff(pts_ref, axis=0), axis=1))
    # every step covers total/32 of the length (chords may cut corners, never exceed it)
    assert np.all(steps <= total / 32 * (1 + 1e-9))
    assert np.allclose(pts[[0, -1]], pts_ref[[0, -1]])


def test_bad_input():
    net = mlp(4, (3,), 2)
    P = Param(net, torch.randn(6, 4), torch.randint(0, 2, (6,)))
    with pytest.raises(MorphismError, match="expected"):
        P.point(np.zeros(3))
    with pytest.raises(MorphismError, match=r"\(K, 23\)"):
        P.trajectory(np.zeros((3, 5)))
    with pytest.raises(MorphismError, match="increase strictly"):
        P.through(np.zeros((2, P.dim)), [0.0, 0.0])
    with pytest.raises(MorphismError, match="nondecreasing"):
        P.reparametrize(P.linear(P.of(), P.of() + 1), lambda s: s + 0.3 * np.sin(2 * np.pi * s))
    with pytest.raises(ValueError, match=r"1 \(BatchNorm2d\), 4 \(BatchNorm2d\)"):
        Param(cnn_bn(2), torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,)))
    assert isinstance(P.identity(P.of()), Path)
    assert math.isclose(P.identity(P.of()).duration, 0.0)

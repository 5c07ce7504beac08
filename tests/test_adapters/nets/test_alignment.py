"""Permutation symmetry, weight matching, classes up to isomorphism, BatchNorm recomputation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adapters.constructions.barrier import loss_barrier
from adapters.constructions.class_search import homotopy_classes
from adapters.nets.alignment import (
    Permutation,
    WeightMatching,
    align,
    permutation_spec,
    weight_matching,
)
from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.nets.models import cnn_bn, mlp, small_resnet
from adapters.nets.params import ParamSpace, recompute_bn_stats
from adapters.nets.training import train
from catcore.functor import Functor
from catcore.instances.paths import Paths
from catcore.laws import check_examples
from catcore.suites import functor_laws


def test_permuted_mlp_computes_the_same_function() -> None:
    torch.manual_seed(0)
    net = mlp(8, (7, 5), 3)
    space = ParamSpace(net)
    pi = Permutation.random(space, permutation_spec(net), seed=1)
    assert not pi.is_identity
    other = mlp(8, (7, 5), 3)
    space.load(other, pi(space.vector()))
    X = torch.randn(50, 8)
    assert not torch.equal(space.vector(other), space.vector())
    torch.testing.assert_close(other(X), net(X), atol=1e-6, rtol=0)
    torch.testing.assert_close(pi.module(net)(X), net(X), atol=1e-6, rtol=0)


def test_permuted_cnn_with_batchnorm_statistics_computes_the_same_function() -> None:
    torch.manual_seed(0)
    net = cnn_bn(4)
    net.train()
    net(torch.randn(64, 1, 8, 8))  # non-trivial running statistics
    net.eval()
    space = ParamSpace(net, buffers="include")
    pi = Permutation.random(space, permutation_spec(net), seed=2)
    X = torch.randn(20, 1, 8, 8)
    torch.testing.assert_close(pi.module(net)(X), net(X), atol=1e-6, rtol=0)
    other = copy.deepcopy(net)
    space.load(other, pi(space.vector()))
    torch.testing.assert_close(other.eval()(X), net(X), atol=1e-6, rtol=0)


@pytest.mark.parametrize("make", [lambda: mlp(6, (9, 4), 3), lambda: cnn_bn(3)])
def test_weight_matching_recovers_a_known_permutation(make) -> None:
    torch.manual_seed(3)
    net = make()
    space = ParamSpace(net, buffers="recompute" if isinstance(net[1], torch.nn.BatchNorm2d)
                       else "refuse")  # fmt: skip
    spec = permutation_spec(net)
    theta = space.vector()
    pi = Permutation.random(space, spec, seed=4)
    found = weight_matching(spec, space.unflatten(theta), space.unflatten(pi(theta)))
    back = Permutation(space, spec, found)
    assert torch.equal(back(pi(theta)), theta)
    # and it is the inverse of the permutation applied
    for p, v in back.perms.items():
        np.testing.assert_array_equal(v, pi.inverse().perms[p])


def test_permutations_form_a_group() -> None:
    net = mlp(5, (6, 4), 2)
    space, spec = ParamSpace(net), permutation_spec(net)
    x = torch.randn(space.n)
    p, q = Permutation.random(space, spec, 0), Permutation.random(space, spec, 1)
    assert torch.equal(p.inverse()(p(x)), x)
    assert torch.equal(p.then(q)(x), q(p(x)))
    assert Permutation.identity(space, spec).is_identity
    np.testing.assert_array_equal(p(x.numpy()), p(x).numpy())


def _paths_examples(P: Paths, rng: np.random.Generator):
    pts = [rng.normal(size=P.dim) for _ in range(4)]
    segs = [P.linear(pts[k], pts[k + 1]) for k in range(3)]
    curved = P.through(np.stack([pts[0], rng.normal(size=P.dim), pts[1]]))
    return {"object": pts, "chain2": [(segs[0], segs[1]), (curved, segs[1]), (segs[1], segs[2])]}


def test_permutation_is_a_functor_on_param_and_a_broken_one_is_caught() -> None:
    net = mlp(3, (4,), 2)
    space, spec = ParamSpace(net), permutation_spec(net)
    P = Paths(space.n)
    pi = Permutation.random(space, spec, 5)
    examples = _paths_examples(P, np.random.default_rng(0))
    F_pi = pi.functor(P)
    assert check_examples(functor_laws(F_pi), examples, eq=P.equality).ok
    # broken: objects permuted by pi, arrows by another permutation
    rho = Permutation.random(space, spec, 6)
    broken = Functor(P, P, lambda x: P.point(x)[pi.index.numpy()], rho.functor(P).ar)
    assert not check_examples(functor_laws(broken), examples, eq=P.equality).ok


def test_loss_is_invariant_under_permutation() -> None:
    torch.manual_seed(0)
    net = mlp(6, (8,), 3)
    X, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    eng = Engine(net, X, y, dtype=torch.float64)
    pi = Permutation.random(eng.space, permutation_spec(net), 7)
    theta = eng.space.vector().double()
    assert float(eng.loss(pi(theta))) == pytest.approx(float(eng.loss(theta)), abs=1e-12)


def test_residual_networks_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="custom forward"):
        permutation_spec(small_resnet())


# -- trained networks -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """Three digits MLPs: two from one initialization (different data orders), one from
    another initialization."""
    data = digits(seed=0)
    thetas = []
    for init_seed, data_seed in [(1, 10), (1, 11), (2, 12)]:
        torch.manual_seed(init_seed)
        net = mlp(64, (16,), 10)
        thetas.append(train(net, data, lr=0.1, batch_size=64, steps=100, seed=data_seed).theta)
    engine = Engine(mlp(64, (16,), 10), data.X_train, data.y_train)
    return engine, torch.stack(thetas)


def test_alignment_reduces_barrier_and_distance_of_independent_networks(trained) -> None:
    engine, pts = trained
    a, b = pts[0], pts[2]
    aligned, pi = align(engine.space, a, b)
    plain = loss_barrier(engine, a, b).height
    after = loss_barrier(engine, a, aligned).height
    assert float(engine.loss(aligned)) == pytest.approx(float(engine.loss(b)), abs=1e-5)
    assert after <= plain  # measured, not assumed
    assert float((a - aligned).norm()) < float((a - b).norm())


def test_classes_up_to_isomorphism_are_unions_of_plain_classes(trained) -> None:
    engine, pts = trained
    eps = 0.1
    plain = homotopy_classes(engine, pts, eps)
    iso = homotopy_classes(engine, pts, eps, align=True)
    for members in plain.classes:  # each plain class lies inside one class up to iso
        assert len({int(iso.labels[i]) for i in members}) == 1
    assert iso.n_classes <= plain.n_classes
    for _, _, d in iso.graph.edges(data=True):
        if d["connected"] and d["kind"] == "aligned":  # linked only after alignment
            assert d["aligned"] <= eps < d["plain"]
        elif not d["connected"]:
            assert d["plain"] > eps and d.get("aligned", np.inf) > eps
    if iso.labels[0] == iso.labels[2]:
        w = iso.witness(0, 2)
        end = w.path.cod
        expected = (w.iso(pts[2]) if w.iso is not None else pts[2]).double().numpy()
        np.testing.assert_allclose(end, expected, atol=1e-6)
        assert float(engine.loss(torch.tensor(end, dtype=torch.float32))) == pytest.approx(
            float(engine.loss(pts[2])), abs=1e-5)  # fmt: skip


def test_aligner_must_be_callable() -> None:
    with pytest.raises(TypeError, match="align"):
        homotopy_classes(lambda p: p.sum(), torch.zeros(2, 3), 0.1, align="yes")


# -- BatchNorm --------------------------------------------------------------------------------
def test_interpolated_batchnorm_networks_get_recomputed_statistics() -> None:
    torch.manual_seed(0)
    X = torch.randn(64, 1, 8, 8)
    y = torch.randint(0, 10, (64,))
    nets = [cnn_bn(3) for _ in range(2)]
    for net in nets:  # different, non-trivial statistics at the two ends
        net.train()
        net(X * (1 + torch.rand(1)) + torch.randn(1))
        net.eval()
    space = ParamSpace(nets[0], buffers="recompute")
    eng = Engine(nets[0], X, y, space=space, calibration=X)
    a, b = space.vector(nets[0]), space.vector(nets[1])
    mid = 0.5 * (a + b)
    got = float(LossFunction(eng)(mid[None])[0])
    manual = copy.deepcopy(nets[0])
    space.load(manual, mid)
    recompute_bn_stats(manual, X)
    with torch.no_grad():
        want = float(F.cross_entropy(manual.eval()(X), y))
        stale_loss = float(F.cross_entropy(_stale(nets[0], space, mid)(X), y))
    assert got == pytest.approx(want, abs=1e-5)
    assert stale_loss != pytest.approx(want, abs=1e-3)
    r = loss_barrier(eng, a, b)
    assert r.loss_a == pytest.approx(float(eng.loss(a)), abs=1e-6)


def _stale(net, space, theta):
    """``theta`` written into a copy of ``net`` keeping ``net``'s statistics (stale)."""
    stale = copy.deepcopy(net)
    space.load(stale, theta)
    return stale.eval()


def test_weight_matching_aligner_has_a_store_id() -> None:
    net = mlp(3, (4,), 2)
    wm = WeightMatching(ParamSpace(net), seed=3)
    assert "seed=3" in wm.id

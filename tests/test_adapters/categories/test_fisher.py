"""The Fisher-enriched Param (Def 8.1) on known answers: a closed-form length for a
two-class softmax model (its antiderivative checked by sympy), and the enrichment's laws
(additivity, identities, reparametrization, function-preserving changes of parameters),
each shown to catch a metric or a path that breaks it."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from torch import nn

from adapters.categories.fisher import (
    EuclideanMetric,
    FisherMetric,
    enrichment_laws,
    fisher_length,
)
from catcore.instances.paths import Paths
from catcore.laws import check_examples


def _two_class(x: torch.Tensor) -> tuple[nn.Module, FisherMetric]:
    model = nn.Linear(x.shape[1], 2, bias=False)
    return model, FisherMetric(model, x)


def test_the_two_class_length_has_its_closed_form():
    """logits W x, z = (w_1 - w_2) . x: g = sigma(z) (1 - sigma(z)) z'^2, so along
    W0 + t V the length is |atan(sinh(z1 / 2)) - atan(sinh(z0 / 2))| for monotone z."""
    z = sympy.Symbol("z", real=True)
    sigma = 1 / (1 + sympy.exp(-z))
    antiderivative = sympy.atan(sympy.sinh(z / 2))
    density = sympy.sqrt(sigma * (1 - sigma))
    gap = (sympy.diff(antiderivative, z) - density).subs(z, sympy.Rational(7, 5))
    assert abs(float(gap)) < 1e-15  # the antiderivative, checked at a point and below
    assert sympy.simplify((sympy.diff(antiderivative, z) ** 2 - density**2).rewrite(sympy.exp)) == 0
    torch.manual_seed(0)
    x = torch.randn(1, 3, dtype=torch.float64)
    _, metric = _two_class(x)
    W0, V = np.random.default_rng(1).normal(size=(2, 2, 3))
    K = Paths(6)
    r = fisher_length(K.linear(W0.ravel(), (W0 + V).ravel()), metric, tol=1e-12)
    xs = x[0].numpy()
    z0, z1 = (W0[0] - W0[1]) @ xs, (W0[0] + V[0] - W0[1] - V[1]) @ xs
    want = abs(np.arctan(np.sinh(z1 / 2)) - np.arctan(np.sinh(z0 / 2)))
    assert r.converged and r.length == pytest.approx(want, rel=1e-9)


def _mlp_metric(seed: int = 0) -> tuple[nn.Module, FisherMetric]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    return model, FisherMetric(model, torch.randn(16, 4))


def _points(metric: FisherMetric, k: int, seed: int = 0) -> np.ndarray:
    theta = metric.space.vector().numpy()
    return theta + 0.3 * np.random.default_rng(seed).normal(size=(k, theta.size))


def test_length_is_invariant_under_reparametrization_and_energy_is_not():
    _, metric = _mlp_metric()
    K = Paths(metric.dim)
    a, b = _points(metric, 2, seed=3)
    f = K.linear(a, b)
    slow = K.reparametrize(f, lambda s: s**2)
    rf, rs = fisher_length(f, metric), fisher_length(slow, metric)
    assert rs.length == pytest.approx(rf.length, rel=1e-6)
    assert rs.energy > rf.energy * 1.05  # constant speed minimizes the energy


def _permuted(model: nn.Sequential, perm: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The same function: hidden units permuted, each ReLU unit's input scaled by
    ``scale`` > 0 and its output weights divided by it (written out here, independently of
    the library)."""
    W1, b1 = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    W2, b2 = model[2].weight.detach().numpy(), model[2].bias.detach().numpy()
    W1, b1 = scale[:, None] * W1[perm], scale * b1[perm]
    W2 = W2[:, perm] / scale[None, :]
    return np.concatenate([W1.ravel(), b1, W2.ravel(), b2]).astype(np.float64)


def _net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).double()


def _examples(metric, symmetry_scale: bool = True) -> dict[str, list]:
    """Examples of each kind the laws need, on the 4-5-3 network of ``_mlp_metric``."""
    K = Paths(metric.dim)
    rng = np.random.default_rng(4)
    a, b, c = _points(metric, 3, seed=11)
    pairs = []
    for k in range(2):
        perm = rng.permutation(5)
        scale = rng.uniform(0.3, 3.0, size=5) if symmetry_scale else np.ones(5)
        one, two = _net(20 + k), _net(30 + k)
        f = K.linear(metric.space.vector(one).numpy(), metric.space.vector(two).numpy())
        g = K.linear(_permuted(one, perm, scale), _permuted(two, perm, scale))
        pairs.append((f, g))
    return {
        "object": [a],
        "arrow": [K.linear(a, b), K.bezier(np.stack([a, b, c]), duration=2.0)],
        "composable": [(K.linear(a, b), K.through(np.stack([b, c, a]), [0.0, 0.5, 3.0]))],
        "symmetric pair": pairs,
    }


def test_the_fisher_metric_satisfies_the_enrichment_laws():
    _, metric = _mlp_metric()
    report = check_examples(enrichment_laws(metric), _examples(metric))
    assert report.ok, report.summary()


def test_the_laws_catch_a_metric_that_does_not_see_the_function():
    _, metric = _mlp_metric()
    euclid = EuclideanMetric(metric.dim)
    report = check_examples(enrichment_laws(euclid), _examples(metric))
    assert {f.law for f in report.failures} == {"symmetry"}
    # hidden-unit permutations alone are isometries of the Euclidean metric too
    plain = check_examples(enrichment_laws(euclid), _examples(metric, False))
    assert plain.ok, plain.summary()


def test_a_piece_that_does_not_converge_says_so():
    _, metric = _mlp_metric()
    K = Paths(metric.dim)
    a, b = _points(metric, 2, seed=7)
    r = fisher_length(K.linear(a, 40 * (b - a) + a), metric, tol=1e-15, max_nodes=100)
    assert not r.converged and r.error > 0 and 100 <= r.nodes < 140


def test_token_ids_and_sequence_outputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(7, 4), nn.Linear(4, 3))
    metric = FisherMetric(model, torch.randint(0, 7, (5, 6)))
    K = Paths(metric.dim)
    a, b = _points(metric, 2)
    assert fisher_length(K.linear(a, b), metric).length > 0
    with pytest.raises(ValueError, match="parameters"):
        metric.quadratic(a[:3], a[:3])


def test_batchnorm_statistics_are_reached_by_a_central_difference():
    """Forward-mode derivatives do not reach BatchNorm's running statistics; with buffers
    in theta the metric differences the logits instead, which agrees with the jvp where
    both apply (a buffer-free network) and moves with the statistics."""
    model, metric = _mlp_metric()
    t, v = (torch.from_numpy(x) for x in _points(metric, 2, seed=5))
    jvp = metric.quadratics(t[None].numpy(), v[None].numpy())[0]
    difference = float(metric._form(*metric._difference(t, v)))
    assert difference == pytest.approx(jvp, rel=1e-6)
    torch.manual_seed(1)
    bn = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3)).eval()
    with torch.no_grad():
        bn[1].running_var.uniform_(0.5, 2.0)
    m = FisherMetric(bn, torch.randn(16, 4), buffers="include")
    K = Paths(m.dim)
    a = m.space.vector().numpy()
    names = m.space.names
    offsets = np.cumsum([0, *m.space.numels])
    k = names.index("1.running_mean")
    shift = np.zeros_like(a)
    shift[offsets[k]:offsets[k + 1]] = 1.0  # move only the running mean
    r = fisher_length(K.linear(a, a + shift), m, tol=1e-4)
    assert r.converged and r.length > 0  # the statistics change the function

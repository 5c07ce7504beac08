"""The 2-functor check (Thm 5.3): affine maps between representations along two paths.
Known answers: a path and its reparametrization are related by the identity (residual 0);
the two basins of a symmetric ReLU model give the residual of fitting relu(-x) by an affine
function of relu(x), computed independently; trained digits networks in two basins give a
large residual."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from adapters.categories.learning import LearningFunctor
from adapters.categories.param import Param
from adapters.categories.twofunctor import affine_fit, affine_relation, along_homotopy
from adapters.nets.data import digits
from adapters.nets.models import mlp
from adapters.nets.training import train

XS = torch.linspace(-1, 1, 201, dtype=torch.float64).reshape(-1, 1)


def relu_model() -> tuple[Param, LearningFunctor]:
    """f(x) = v relu(w x) + c fitted to |x| by mean squared error: theta = (w, v, c).
    The loss is symmetric under (w, v, c) -> (-w, v, c) on the symmetric grid, with one basin
    for w > 0 (fitting the right half) and its mirror image for w < 0."""
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 1)).double()
    P = Param(net, XS, XS.abs(), F.mse_loss)
    return P, LearningFunctor(P, probe=XS, layer="1")


def basin_ends(P: Param) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = XS.numpy().ravel()
    u = np.maximum(x, 0)
    v, c = np.polyfit(u, np.abs(x), 1)
    start = np.array([0.0, 0.0, np.abs(x).mean()])
    return start, np.array([1.0, v, c]), np.array([-1.0, v, c])


def test_two_basins_of_a_relu_model_known_residual():
    P, L = relu_model()
    start, right, left = basin_ends(P)
    assert P.loss(right) == pytest.approx(P.loss(left), rel=1e-12)
    s = np.linspace(0, 1, 21)
    along = P.loss_along(P.linear(right, left), s)
    assert np.max(along - ((1 - s) * along[0] + s * along[-1])) > 0.01  # two basins
    rel = affine_relation(L, P.linear(start, right), P.linear(start, left), samples=9)
    # independent answer: least squares of relu(-x) on [relu(x), 1] with numpy's polyfit
    x = XS.numpy().ravel()
    u, w = np.maximum(x, 0), np.maximum(-x, 0)
    a, b = np.polyfit(u, w, 1)
    want = np.linalg.norm(w - (a * u + b)) / np.linalg.norm(w - w.mean())
    assert rel.residuals[0] == 0.0  # both start at w = 0: the zero representation
    assert np.allclose(rel.residuals[1:], want, rtol=1e-9)
    assert want == pytest.approx(0.8, abs=0.01)  # the continuum value sqrt(48/75)


def test_reparametrization_known_maps():
    P, L = relu_model()
    start, right, _ = basin_ends(P)
    gamma = P.linear(start, right, 2.0)
    rel = affine_relation(L, gamma, P.reparametrize(gamma, lambda s: s**2, 5.0), samples=9)
    assert rel.max_residual < 1e-12
    assert np.allclose(rel.A[1:, 0, 0], 1.0, atol=1e-9) and np.allclose(rel.b[1:], 0.0, atol=1e-9)
    # at s = 0 both representations vanish: A_0 is not determined and the minimum-norm
    # solution is 0, so the maps jump there and vary by nothing after
    assert rel.A[0, 0, 0] == 0.0 and rel.variation == pytest.approx(1.0)


@pytest.fixture(scope="module")
def digits_runs():
    split = digits(seed=0)
    X, y = split.X_train[:256], split.y_train[:256]
    torch.manual_seed(0)
    nets = [mlp(64, (12,), 10)]
    torch.manual_seed(1)
    nets.append(mlp(64, (12,), 10))
    P = Param(nets[0], X, y)
    paths = []
    for seed, net in enumerate(nets):
        result = train(copy.deepcopy(net), (X, y), steps=80, lr=0.3, batch_size=32, seed=seed,
                       record_every=10)  # fmt: skip
        paths.append(P.trajectory(result.trajectory))
    return P, LearningFunctor(P, probe=split.X_test[:120]), paths


def test_trained_path_and_its_reparametrization(digits_runs):
    P, L, (gamma, _) = digits_runs
    slow_start = P.reparametrize(gamma, lambda s: s**3, duration=1.0)
    assert affine_relation(L, gamma, slow_start).max_residual < 1e-9
    # matched by normalized time instead, the same pair is far from affinely related
    assert affine_relation(L, gamma, slow_start, align="time").max_residual > 0.01



def _through_reparametrizations(P, gamma, bulge=0.0):
    """The 2-cell ``gamma => gamma(s^3)`` whose level ``t`` is ``gamma(r_t(s))`` with
    ``r_t(s) = (1 - t) s + t s^3`` (a reparametrization at every level), displaced inside
    by ``bulge * sin(pi t) * sin(pi s)`` along a fixed direction (ends and boundary kept)."""
    direction = np.random.default_rng(3).standard_normal(P.dim)

    def H(s, t):
        inner = gamma.normalized((1 - t) * s + t * s**3)
        return inner + bulge * np.sin(np.pi * t) * np.sin(np.pi * s)[:, None] * direction

    return P.homotopy(gamma, P.reparametrize(gamma, lambda s: s**3, duration=1.0), H)


def test_the_two_functor_check_reads_the_interior_of_the_cell(digits_runs):
    """Thm 5.3 on a 2-cell through reparametrizations holds at every level; a 2-cell with
    the same ends whose interior leaves the trajectory fails inside, which a check of the
    ends alone could not see."""
    P, L, (gamma, _) = digits_runs
    flat = along_homotopy(L, _through_reparametrizations(P, gamma), levels=4)
    assert flat.t.tolist() == [0.0, 1 / 3, 2 / 3, 1.0]
    # inside, arc length is resampled without the trajectory's knots: small, not 0
    assert flat.relations[-1].max_residual < 1e-9 and flat.max_residual < 1e-3
    bent = along_homotopy(L, _through_reparametrizations(P, gamma, bulge=3.0), levels=4)
    assert bent.target.max_residual < 1e-9  # the same ends
    assert bent.max_residual > 0.5
    with pytest.raises(ValueError, match="levels"):
        along_homotopy(L, _through_reparametrizations(P, gamma), levels=1)


def test_trained_paths_into_different_basins(digits_runs):
    P, L, (gamma0, gamma1) = digits_runs
    s = np.linspace(0, 1, 11)
    along = P.loss_along(P.linear(gamma0.cod, gamma1.cod), s)
    barrier = np.max(along - ((1 - s) * along[0] + s * along[-1]))
    assert barrier > 0.1, barrier  # the two ends are separated by a loss barrier
    rel = affine_relation(L, gamma0, gamma1)
    assert rel.residuals[-1] > 0.2
    assert rel.max_residual > 1e6 * affine_relation(L, gamma0, gamma0).max_residual + 0.2


def test_affine_fit_known_answer_and_errors():
    rng = np.random.default_rng(0)
    R0 = rng.standard_normal((50, 3))
    A, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    A_hat, b_hat, res = affine_fit(R0, R0 @ A.T + b)
    assert np.allclose(A_hat, A) and np.allclose(b_hat, b) and res < 1e-12
    with pytest.raises(ValueError, match="more than 4 samples"):
        affine_fit(R0[:4], R0[:4])
    P, L = relu_model()
    g = P.linear(*basin_ends(P)[:2])
    with pytest.raises(ValueError, match="align"):
        affine_relation(L, g, g, align="speed")

"""Tests for direction sampling with filter normalization (adapters.nets.sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.nets.params import ParamSpace
from adapters.nets.sampling import (
    ball_samples,
    evaluate,
    filter_normalize,
    hessian_directions,
    plane_grid,
    random_directions,
)
from adapters.nets.training import train


def conv_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.ReLU(),
        nn.Linear(5, 2),
    )  # fmt: skip


def blocks(space: ParamSpace, vec: torch.Tensor) -> dict[str, torch.Tensor]:
    """Blocks of a flat vector, cut here from the shapes (not via the library)."""
    out, start = {}, 0
    for name, shape in zip(space.names, space.shapes):
        size = int(np.prod(shape))
        out[name] = vec[..., start : start + size].reshape(*vec.shape[:-1], *shape)
        start += size
    return out


def filter_norms(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1).norm(dim=1)


@pytest.mark.parametrize("bias", ["zero", "copy", "normalize"])
def test_each_filter_has_the_norm_of_its_filter(bias):
    net = conv_net()
    space = ParamSpace(net)
    theta = blocks(space, space.vector())
    for d in random_directions(space, 4, seed=1, bias=bias):
        db = blocks(space, d)
        for name in space.names:
            if db[name].ndim >= 2:
                torch.testing.assert_close(filter_norms(db[name]), filter_norms(theta[name]))
            elif bias == "zero":
                assert torch.count_nonzero(db[name]) == 0
            elif bias == "copy":
                assert torch.equal(db[name], theta[name])
            else:
                torch.testing.assert_close(db[name].norm(), theta[name].norm())
        # not a copy of theta: the direction inside a filter is random
        assert not torch.allclose(db["0.weight"], theta["0.weight"])


def test_zero_filter_gives_zero_direction():
    net = conv_net()
    with torch.no_grad():
        net[3].weight[2].zero_()
    space = ParamSpace(net)
    d = blocks(space, random_directions(space, 1, seed=0)[0])
    assert torch.count_nonzero(d["3.weight"][2]) == 0
    assert torch.isfinite(d["3.weight"]).all()


def test_running_statistics_never_move():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    net(torch.randn(8, 3))
    space = ParamSpace(net, buffers="include")
    d = blocks(space, random_directions(space, 2, seed=0, bias="normalize"))
    for name in space.buffer_names:
        assert torch.count_nonzero(d[name]) == 0
    assert torch.count_nonzero(d["1.weight"]) > 0  # a 1-D parameter, normalized


def test_same_seed_same_samples_other_seed_other_samples():
    space = ParamSpace(conv_net())
    for kwargs in ({}, {"dim": 3}):
        a = ball_samples(space, 50, 0.1, seed=7, **kwargs)
        b = ball_samples(space, 50, 0.1, seed=7, **kwargs)
        c = ball_samples(space, 50, 0.1, seed=8, **kwargs)
        assert torch.equal(a.points, b.points)
        assert not torch.allclose(a.points, c.points)
    assert torch.equal(plane_grid(space, 5, seed=3).points, plane_grid(space, 5, seed=3).points)


def test_full_space_ball_moves_every_filter_by_the_same_fraction():
    net = conv_net()
    space = ParamSpace(net)
    theta = blocks(space, space.vector())
    s = ball_samples(space, 200, radius=0.05, seed=0)
    off = blocks(space, s.offsets)
    weights = ("0.weight", "3.weight")
    per_sample = torch.stack(
        [torch.cat([filter_norms(off[n][i]) / filter_norms(theta[n]) for n in weights])
         for i in range(len(s))]
    )  # fmt: skip
    # one fraction per sample, the same for every filter, never above the radius
    torch.testing.assert_close(per_sample, per_sample[:, :1].expand_as(per_sample))
    assert per_sample.max() <= 0.05 * (1 + 1e-5)
    assert torch.count_nonzero(off["0.bias"]) == 0
    # radial law of a uniform ball in n_eff dimensions: E[fraction] = n_eff / (n_eff + 1)
    n_eff = sum(theta[n].numel() for n in weights)
    mean = float(per_sample[:, 0].mean()) / 0.05
    assert mean == pytest.approx(n_eff / (n_eff + 1), abs=1e-3)


def test_subspace_ball_coordinates_and_isometric_embedding():
    space = ParamSpace(conv_net())
    s = ball_samples(space, 300, radius=0.2, dim=3, seed=1)
    assert s.coords.shape == (300, 3) and s.directions.shape == (3, space.n)
    assert np.linalg.norm(s.coords, axis=1).max() <= 0.2
    # uniform in the ball: the fraction inside radius/2 is about (1/2)^3
    assert 0.05 < np.mean(np.linalg.norm(s.coords, axis=1) < 0.1) < 0.2
    expected = s.center + torch.from_numpy(s.coords).float() @ s.directions
    torch.testing.assert_close(s.points, expected)
    emb = s.embedding()
    P = s.points.double()
    for i, j in [(0, 1), (5, 200), (17, 299)]:
        exact = float((P[i] - P[j]).norm())
        assert np.linalg.norm(emb[i] - emb[j]) == pytest.approx(exact, rel=1e-5)


def test_plane_grid_layout():
    space = ParamSpace(conv_net())
    g = plane_grid(space, resolution=5, radius=0.3, seed=2)
    assert g.shape == (5, 5) and g.alphas[0] == -0.3 and g.betas[-1] == 0.3
    P = g.points
    i, j = 1, 4
    expected = g.center + float(g.alphas[i]) * g.directions[0] + float(g.betas[j]) * g.directions[1]
    torch.testing.assert_close(P[i * 5 + j], expected)


def test_evaluate_matches_a_direct_forward():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    X, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    engine = Engine(net, X, y)
    s = ball_samples(engine.space, 6, radius=0.5, seed=0)
    got = evaluate(engine, s.points)
    for p, value in zip(s.points, got):
        copy = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
        torch.nn.utils.vector_to_parameters(p, copy.parameters())
        with torch.no_grad():
            assert value == pytest.approx(float(F.cross_entropy(copy(X), y)), rel=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: ball_samples(s, 10, radius=0.0), "radius"),
        (lambda s: ball_samples(s, 10, radius=float("nan")), "radius"),
        (lambda s: ball_samples(s, 0), "n_samples"),
        (lambda s: ball_samples(s, 10, dim=0), "dim"),
        (lambda s: random_directions(s, 1, bias="ignore"), "bias"),
        (lambda s: random_directions(s, 0), "count"),
        (lambda s: plane_grid(s, resolution=1), "resolution"),
        (lambda s: ball_samples(nn.Linear(2, 2), 10), "ParamSpace"),
        (lambda s: filter_normalize(torch.zeros(3), torch.zeros(s.n), s), "shape"),
    ],
)
def test_bad_input_is_reported(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(ParamSpace(conv_net()))


def test_hessian_directions_are_the_top_eigenvectors_of_a_known_hessian() -> None:
    """Least squares on a linear model: the Hessian is 2/N X^T X exactly (numpy's eigh is
    the reference); on a trained digits MLP, the curvature along the top direction by a
    central second difference is the top eigenvalue and exceeds a random direction's."""
    torch.manual_seed(0)
    X, y = torch.randn(50, 4, dtype=torch.float64), torch.randn(50, 1, dtype=torch.float64)
    eng = Engine(torch.nn.Linear(4, 1, bias=False), X, y, loss_fn=F.mse_loss,
                 dtype=torch.float64)  # fmt: skip
    h = hessian_directions(eng, 2)
    w, V = np.linalg.eigh(2 / 50 * (X.T @ X).numpy())
    np.testing.assert_allclose(h.eigenvalues, w[::-1][:2], rtol=1e-8)
    np.testing.assert_allclose(np.abs(h.directions.numpy() @ V[:, ::-1][:, :2]), np.eye(2),
                               atol=1e-8)  # fmt: skip
    grid = plane_grid(eng.space, 3, 0.5, directions=h.directions)
    assert grid.points.shape == (9, 4)
    with pytest.raises(ValueError, match="directions must have shape"):
        plane_grid(eng.space, 3, 0.5, directions=h.directions[:1])

    data = digits(seed=0)
    net = mlp(64, (16,), 10)
    train(net, data, steps=200, lr=0.1, batch_size=64, seed=0)
    eng = Engine(net, data.X_train, data.y_train, dtype=torch.float64)
    top = hessian_directions(eng, 1, tol=1e-6)
    theta, d = eng.space.vector().to(torch.float64), top.directions[0]

    def curvature(u, step=1e-3):
        L = eng.loss(torch.stack([theta - step * u, theta, theta + step * u])).numpy()
        return (L[0] - 2 * L[1] + L[2]) / step**2

    assert curvature(d) == pytest.approx(top.eigenvalues[0], rel=1e-3)
    rand = torch.randn(eng.space.n, dtype=torch.float64,
                       generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert curvature(rand / rand.norm()) < top.eigenvalues[0]

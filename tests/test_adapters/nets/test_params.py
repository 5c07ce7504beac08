"""ParamSpace and recompute_bn_stats: round trips, policies and hand-computed statistics."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from adapters.nets.models import cnn_bn, mlp, small_resnet
from adapters.nets.params import ParamSpace, recompute_bn_stats


def _net() -> nn.Module:
    torch.manual_seed(0)
    return mlp(5, (7, 4), 3)


def test_vector_matches_parameters_to_vector() -> None:
    net = _net()
    space = ParamSpace(net)
    assert space.n == sum(p.numel() for p in net.parameters()) == 5 * 7 + 7 + 7 * 4 + 4 + 4 * 3 + 3
    assert torch.equal(space.vector(), parameters_to_vector(net.parameters()))
    assert space.names == tuple(n for n, _ in net.named_parameters())


def test_vector_is_a_detached_copy() -> None:
    net = _net()
    v = ParamSpace(net).vector()
    v.zero_()
    assert not v.requires_grad
    assert net[0].weight.abs().sum() > 0


def test_unflatten_round_trip_and_batched() -> None:
    net = _net()
    space = ParamSpace(net)
    parts = space.unflatten(space.vector())
    for name, p in net.named_parameters():
        assert torch.equal(parts[name], p.detach())
    batch = torch.randn(6, space.n)
    parts = space.unflatten(batch)
    assert parts["0.weight"].shape == (6, 7, 5)
    for i in range(6):
        single = space.unflatten(batch[i])
        for name in space.names:
            assert torch.equal(parts[name][i], single[name])


def test_load_then_vector_is_identity() -> None:
    net = _net()
    space = ParamSpace(net)
    theta = torch.randn(space.n)
    space.load(net, theta)
    assert torch.equal(space.vector(net), theta)
    other = mlp(5, (7, 4), 3)
    assert torch.equal(space.vector(space.load(other, theta)), theta)


def test_functional_equals_loaded_forward_and_does_not_mutate() -> None:
    net = _net()
    space = ParamSpace(net)
    before = space.vector()
    theta = torch.randn(space.n)
    x = torch.randn(9, 5)
    out = space.functional(net, theta, x)
    assert torch.equal(space.vector(), before)
    loaded = space.load(copy.deepcopy(net), theta)
    torch.testing.assert_close(out, loaded(x), rtol=0, atol=1e-6)


def test_functional_is_differentiable_in_theta() -> None:
    net = _net()
    space = ParamSpace(net)
    x, y = torch.randn(9, 5), torch.randint(0, 3, (9,))
    theta = space.vector().requires_grad_(True)
    loss = nn.functional.cross_entropy(space.functional(net, theta, x), y)
    (g,) = torch.autograd.grad(loss, theta)
    nn.functional.cross_entropy(net(x), y).backward()
    expected = parameters_to_vector([p.grad for p in net.parameters()])
    torch.testing.assert_close(g, expected, rtol=0, atol=1e-6)


def test_bad_points_are_rejected_with_clear_errors() -> None:
    space = ParamSpace(_net())
    with pytest.raises(ValueError, match=r"shape \(3,\).*expected \(89,\)"):
        space.unflatten(torch.zeros(3))
    with pytest.raises(TypeError, match="floating point"):
        space.load(_net(), torch.zeros(space.n, dtype=torch.long))
    with pytest.raises(TypeError, match="float64"):
        space.load(_net(), torch.zeros(space.n, dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        space.load(_net(), torch.zeros(2, space.n))
    with pytest.raises(ValueError, match="buffers must be one of"):
        ParamSpace(_net(), buffers="keep")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(3, 7\), expected \(4, 7\)"):
        space.vector(mlp(5, (7,), 3))
    with pytest.raises(ValueError, match="no parameter/buffer '4.weight'"):
        space.vector(mlp(5, (7,), 4))


def test_refuse_names_the_batchnorm_modules() -> None:
    with pytest.raises(ValueError) as err:
        ParamSpace(cnn_bn())
    msg = str(err.value)
    assert "1 (BatchNorm2d)" in msg and "4 (BatchNorm2d)" in msg
    assert "buffers='include'" in msg
    with pytest.raises(ValueError, match=r"stem\.1 \(BatchNorm2d\)"):
        ParamSpace(small_resnet())


def test_include_puts_running_stats_in_the_point() -> None:
    net = cnn_bn(channels=2)
    space = ParamSpace(net, buffers="include")
    n_params = sum(p.numel() for p in net.parameters())
    assert space.n_params == n_params
    assert space.n == n_params + 2 * (2 + 4)  # running mean and var of BN(2) and BN(4)
    assert "1.running_mean" in space.buffer_names
    assert "1.num_batches_tracked" not in space.names
    theta = space.vector()
    theta[space.n - 1] = 5.0  # last coordinate: the last running_var entry
    space.load(net, theta)
    assert float(net[4].running_var[-1]) == 5.0


def test_recompute_policy_excludes_buffers() -> None:
    net = cnn_bn(channels=2)
    assert ParamSpace(net, buffers="recompute").n == sum(p.numel() for p in net.parameters())


def _bn_net() -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_recompute_bn_stats_equals_hand_mean_and_unbiased_var() -> None:
    net = _bn_net()
    X = torch.randn(50, 3)
    recompute_bn_stats(net, X)
    z = (X @ net[0].weight.T + net[0].bias).detach()
    torch.testing.assert_close(net[1].running_mean, z.mean(0), rtol=0, atol=1e-6)
    torch.testing.assert_close(net[1].running_var, z.var(0, unbiased=True), rtol=0, atol=1e-5)
    assert not net.training
    assert net[1].momentum == 0.1  # restored


def test_recompute_bn_stats_in_batches_averages_batch_estimates() -> None:
    net = _bn_net()
    X = torch.randn(40, 3)
    recompute_bn_stats(net, X, batch_size=10)
    z = (X @ net[0].weight.T + net[0].bias).detach().view(4, 10, 4)
    torch.testing.assert_close(net[1].running_mean, z.mean(1).mean(0), rtol=0, atol=1e-6)
    torch.testing.assert_close(net[1].running_var, z.var(1).mean(0), rtol=0, atol=1e-5)


def test_recompute_bn_stats_conv_channels() -> None:
    torch.manual_seed(2)
    net = cnn_bn(channels=3)
    X = torch.randn(20, 1, 8, 8)
    recompute_bn_stats(net, X)
    z = net[0](X).detach()  # input of the first BN, (N, C, H, W)
    per_channel = z.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(net[1].running_mean, per_channel.mean(1), rtol=0, atol=1e-5)
    torch.testing.assert_close(net[1].running_var, per_channel.var(1), rtol=0, atol=1e-5)


def test_functional_recompute_matches_hand_batchnorm() -> None:
    net = _bn_net().eval()
    space = ParamSpace(net, buffers="recompute")
    theta = torch.randn(space.n)
    calib, x = torch.randn(30, 3), torch.randn(5, 3)
    with pytest.raises(ValueError, match="calibration"):
        space.functional(net, theta, x)
    out = space.functional(net, theta, x, calibration=calib)
    p = space.unflatten(theta)
    z_cal = calib @ p["0.weight"].T + p["0.bias"]
    mean, var = z_cal.mean(0), z_cal.var(0)
    z = x @ p["0.weight"].T + p["0.bias"]
    h = torch.relu((z - mean) / torch.sqrt(var + 1e-5) * p["1.weight"] + p["1.bias"])
    torch.testing.assert_close(out, h @ p["3.weight"].T + p["3.bias"], rtol=0, atol=1e-5)
    assert float(net[1].running_mean.abs().sum()) == 0.0  # the module itself is untouched


def test_functional_in_train_mode_does_not_write_into_the_point() -> None:
    net = _bn_net().train()
    space = ParamSpace(net, buffers="include")
    theta = space.vector()
    before = theta.clone()
    x = torch.randn(8, 3)
    out = space.functional(net, theta, x)
    assert torch.equal(theta, before)
    z = x @ net[0].weight.T + net[0].bias  # train mode: batch statistics
    zn = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)
    h = torch.relu(zn * net[1].weight + net[1].bias)
    torch.testing.assert_close(out, net[3](h), rtol=0, atol=1e-5)

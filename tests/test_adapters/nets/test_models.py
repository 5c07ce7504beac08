"""Reference architectures and the penultimate-layer convention."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from adapters.nets.model_io import parse_layer
from adapters.nets.models import cnn_bn, mlp, penultimate, small_resnet


def _input_of_last_linear(model: nn.Module, x: Tensor) -> Tensor:
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    seen: list[Tensor] = []
    handle = last.register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0]


def _layer_value(model: nn.Module, layer: str, x: Tensor) -> Tensor:
    spec = parse_layer(model, layer)
    name, take_input = spec.module, spec.take_input
    module = model.get_submodule(name)
    seen: list[Tensor] = []
    if take_input:
        handle = module.register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    else:
        handle = module.register_forward_hook(lambda _m, _a, o: seen.append(o))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0]


class _FunctionalFlatten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.conv(x), 1))


@pytest.mark.parametrize(
    "factory, x, name, width",
    [
        (lambda: mlp(64, (32, 16), 10), torch.randn(5, 64), "3", 16),
        (lambda: cnn_bn(channels=4).eval(), torch.randn(5, 1, 8, 8), "7", 8),
        (lambda: small_resnet(channels=4).eval(), torch.randn(5, 1, 8, 8), "head.1", 8),
        (_FunctionalFlatten, torch.randn(5, 1, 8, 8), "fc:in", 72),
        (lambda: nn.Linear(4, 2), torch.randn(5, 4), ":in", 4),
    ],
)
def test_penultimate_is_the_input_of_the_last_linear(factory, x, name, width) -> None:
    torch.manual_seed(0)
    model = factory()
    assert penultimate(model) == name
    value = _layer_value(model, name, x)
    assert value.shape == (5, width)
    assert torch.equal(value, _input_of_last_linear(model, x))


def test_output_shapes_and_parameter_counts() -> None:
    assert mlp(64, (32,), 10)(torch.randn(3, 64)).shape == (3, 10)
    assert sum(p.numel() for p in mlp(64, (32,), 10).parameters()) == 64 * 32 + 32 + 32 * 10 + 10
    assert cnn_bn(out_features=5)(torch.randn(3, 1, 8, 8)).shape == (3, 5)
    net = small_resnet(channels=4, stages=3, blocks=2, out_features=7, in_channels=3)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 7)
    assert net.head[2].in_features == 16
    assert isinstance(net.body[2].shortcut, nn.Sequential)  # first block of stage 2
    assert isinstance(net.body[1].shortcut, nn.Identity)
    assert isinstance(mlp(activation="tanh")[1], nn.Tanh)


def test_residual_block_adds_the_skip() -> None:
    torch.manual_seed(0)
    net = small_resnet(channels=2, stages=1).eval()
    block = net.body[0]
    x = torch.randn(2, 2, 8, 8)
    with torch.no_grad():
        inner = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
        assert torch.equal(block(x), torch.relu(x + inner))


def test_errors() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        mlp(activation="swish")
    with pytest.raises(ValueError, match="no nn.Linear"):
        penultimate(nn.Sequential(nn.Conv2d(1, 1, 1)))
    with pytest.raises(ValueError, match="no submodule 'x'"):
        parse_layer(mlp(), "x")
    with pytest.raises(ValueError, match="':in'"):
        parse_layer(mlp(), "1:out")

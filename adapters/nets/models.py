"""Small reference architectures for 8x8 digits, and the penultimate-layer convention.

Layers are named by the specifications of :mod:`adapters.nets.model_io` (``"name"``: the
output of a submodule, ``"name:in"``: its first input). The penultimate representation
of a network is the input of its last ``nn.Linear``;
:func:`penultimate` spells it as the output of a named module when one carries exactly
that tensor (the module just before the last ``Linear`` inside the same ``Sequential``)
and as ``"<last linear>:in"`` otherwise. See ``docs/adapters.md``, section "Models".
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}


def mlp(
    in_features: int = 64,
    hidden: Sequence[int] = (32,),
    out_features: int = 10,
    activation: str = "relu",
) -> nn.Sequential:
    """``Linear -> act -> ... -> Linear`` as an ``nn.Sequential`` (children named 0, 1, ...).

    >>> mlp(64, (32, 16), 10)
    Sequential(
      (0): Linear(in_features=64, out_features=32, bias=True)
      (1): ReLU()
      (2): Linear(in_features=32, out_features=16, bias=True)
      (3): ReLU()
      (4): Linear(in_features=16, out_features=10, bias=True)
    )
    >>> penultimate(mlp(64, (32, 16), 10))
    '3'
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {sorted(_ACTIVATIONS)}")
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), _ACTIVATIONS[activation]()]
    layers.append(nn.Linear(widths[-1], out_features))
    return nn.Sequential(*layers)


def cnn_bn(channels: int = 8, out_features: int = 10, in_channels: int = 1) -> nn.Sequential:
    """A small CNN with BatchNorm for ``(N, in_channels, 8, 8)`` input.

    conv3x3(c) -> BN -> ReLU -> conv3x3 stride 2 (2c) -> BN -> ReLU -> global average
    pool -> flatten -> Linear. Penultimate layer: ``"7"`` (the flatten, width ``2c``).
    """
    c = channels
    return nn.Sequential(
        nn.Conv2d(in_channels, c, 3, padding=1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(2 * c),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * c, out_features),
    )


class BasicBlock(nn.Module):
    """``relu(x + bn(conv(relu(bn(conv(x))))))``, with a 1x1 conv + BN shortcut when the
    width or stride changes."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        h = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.shortcut(x) + self.bn2(self.conv2(h)))


class SmallResNet(nn.Module):
    """stem (conv-BN-ReLU) -> stages of :class:`BasicBlock` (width doubles, stride 2 from
    the second stage) -> ``head = Sequential(pool, flatten, Linear)``. Penultimate:
    ``"head.1"``."""

    def __init__(
        self,
        channels: int = 8,
        stages: int = 2,
        blocks: int = 1,
        out_features: int = 10,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        c = channels
        for s in range(stages):
            c_out = channels * 2**s
            for b in range(blocks):
                layers.append(BasicBlock(c, c_out, stride=2 if (s > 0 and b == 0) else 1))
                c = c_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, out_features))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(self.stem(x)))


def small_resnet(
    channels: int = 8,
    stages: int = 2,
    blocks: int = 1,
    out_features: int = 10,
    in_channels: int = 1,
) -> SmallResNet:
    """A tiny residual network with BatchNorm for ``(N, in_channels, H, W)`` input."""
    return SmallResNet(channels, stages, blocks, out_features, in_channels)


def penultimate(model: nn.Module) -> str:
    """Layer specification of the penultimate representation: the input of the last
    ``nn.Linear`` (in module registration order), named as described in the module docstring.

    >>> penultimate(cnn_bn())
    '7'
    >>> penultimate(small_resnet())
    'head.1'
    >>> penultimate(nn.Linear(4, 2))
    ':in'
    """
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear; pass the layer explicitly")
    last = linears[-1]
    parent_name, _, child = last.rpartition(".")
    parent = model.get_submodule(parent_name)
    if isinstance(parent, nn.Sequential):
        keys = list(parent._modules)
        i = keys.index(child)
        if i > 0:
            return f"{parent_name}.{keys[i - 1]}" if parent_name else keys[i - 1]
    return f"{last}:in"

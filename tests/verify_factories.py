"""Model factories for the ``catcore verify`` tests (importable by path or by module name)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from adapters.nets.models import cnn_bn, mlp


def small_mlp() -> nn.Module:
    """A digits MLP taking 64 features."""
    torch.manual_seed(0)
    return mlp(64, (16,), 10)


def small_cnn() -> nn.Module:
    """A digits CNN with BatchNorm taking 1x8x8 images."""
    torch.manual_seed(0)
    return cnn_bn(4)


def dropout_mlp() -> nn.Module:
    """An MLP whose Dropout layer is named ``"drop"``."""
    torch.manual_seed(0)
    layers = [("fc1", nn.Linear(64, 16)), ("act", nn.ReLU()), ("drop", nn.Dropout(0.5))]
    return nn.Sequential(OrderedDict([*layers, ("fc2", nn.Linear(16, 10))]))


def three_classes() -> nn.Module:
    """Wrong output width for digits."""
    return mlp(64, (8,), 3)


def not_a_module() -> int:
    return 3


def raises() -> nn.Module:
    raise RuntimeError("factory is broken")


NOT_CALLABLE = 42

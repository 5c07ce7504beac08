"""Accuracy: the one definition every evaluation uses (the engine's batched one, training
logs, transfer and the multi-task study)."""

from __future__ import annotations

import torch
from torch import Tensor


def accuracy_of(outputs: Tensor, y: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Fraction of samples whose argmax output equals the label: ``outputs`` of shape
    ``(..., N, classes)`` and labels ``(N,)`` give ``(...)`` (a 0-d tensor for one network),
    averaged in ``dtype``."""
    return (outputs.argmax(dim=-1) == y).to(dtype).mean(dim=-1)


@torch.no_grad()
def accuracy(model: torch.nn.Module, X: Tensor, y: Tensor) -> float:
    """:func:`accuracy_of` ``model(X)`` against ``y``, with the model in eval mode (its mode
    is restored afterwards)."""
    was = model.training
    model.eval()
    try:
        return float(accuracy_of(model(X), y))
    finally:
        model.train(was)

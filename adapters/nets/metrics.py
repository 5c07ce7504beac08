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

"""Accuracy and the default loss: the one definition each that every evaluation uses (the
engine's batched one, training logs, transfer, the multi-task study, ``catcore verify``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from adapters.nets.model_io import as_output


def accuracy_of(outputs: Tensor, y: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Fraction of predictions whose argmax output equals the label: ``outputs`` of shape
    ``(..., N, classes)`` and labels ``(N,)`` give ``(...)`` (a 0-d tensor for one network),
    averaged in ``dtype``; labels ``(N, T)`` (a token per position) against outputs
    ``(..., N, T, classes)`` average over all ``N * T`` positions."""
    hits = (outputs.argmax(dim=-1) == y).to(dtype)
    return hits.mean(dim=tuple(range(-y.ndim, 0)))


def cross_entropy(outputs: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy with the classes on the last axis: ``(N, C)`` outputs against
    ``(N,)`` labels (``F.cross_entropy``), or ``(N, T, C)`` against ``(N, T)`` (one label
    per position, e.g. the next token), averaged over all positions."""
    if outputs.ndim > 2 and y.shape == outputs.shape[:-1]:
        return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))
    return F.cross_entropy(outputs, y)


@torch.no_grad()
def accuracy(model: torch.nn.Module, X: Tensor, y: Tensor) -> float:
    """:func:`accuracy_of` ``model(X)`` against ``y``, with the model in eval mode (its mode
    is restored afterwards)."""
    was = model.training
    model.eval()
    try:
        return float(accuracy_of(as_output(model(X)), y))
    finally:
        model.train(was)

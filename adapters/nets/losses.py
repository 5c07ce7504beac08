"""The loss protocol of the constructions: a loss in parameter space evaluated at batches of
points, with an evaluation count and one policy for non-finite values
(``docs/adapters.md``, "The evaluation engine").

:class:`LossFunction` wraps an :class:`~adapters.nets.engine.Engine` (batched) or a plain
callable on a flat parameter tensor (one call per point); :func:`as_vector` and
:func:`as_pair` turn user input into flat points, with messages that name the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from adapters.nets.engine import Engine


class LossFunction:
    """A loss in parameter space evaluated at batches of points, with a counter.

    ``loss`` is an :class:`~adapters.nets.engine.Engine` (its batched ``loss(points)`` is used) or
    a plain callable mapping a flat 1-D tensor to a scalar (called once per point). A
    :class:`LossFunction` passed in is reused, so counts accumulate. ``evaluations`` counts
    points evaluated through this object.
    """

    def __init__(self, loss: Any) -> None:
        self.engine: Engine | None = None
        self.fn: Callable[[Tensor], Any] | None = None
        if isinstance(loss, Engine):
            self.engine = loss
        elif callable(loss):
            self.fn = loss
        else:
            raise TypeError(
                f"loss must be an Engine or a callable on a flat parameter tensor, "
                f"got {type(loss).__name__}"
            )
        self.evaluations = 0

    @staticmethod
    def of(loss: Any) -> LossFunction:
        """``loss`` itself if it already is a :class:`LossFunction`, else a new wrapper."""
        return loss if isinstance(loss, LossFunction) else LossFunction(loss)

    @property
    def n(self) -> int | None:
        """Dimension of the parameter space when known (an engine), else ``None``."""
        return None if self.engine is None else self.engine.space.n

    def __call__(self, points: Tensor) -> np.ndarray:
        """Losses at the rows of ``points`` (``(P, n)``) as float64; NaN becomes ``+inf``."""
        if points.ndim != 2:
            raise ValueError(f"points must have shape (P, n), got {tuple(points.shape)}")
        if points.shape[0] == 0:
            return np.zeros(0)
        if self.engine is not None:
            values = self.engine.loss(points).detach().cpu().to(torch.float64).numpy()
        else:
            assert self.fn is not None
            values = np.array([_scalar(self.fn(p)) for p in points], dtype=np.float64)
        self.evaluations += int(points.shape[0])
        return np.where(np.isnan(values), np.inf, values)


def _scalar(value: Any) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"loss returned a tensor of shape {tuple(value.shape)}, not a scalar")
        return float(value.detach())
    return float(value)


def as_vector(x: Any, name: str = "point") -> Tensor:
    """A flat floating-point tensor from a tensor or array (``name`` is used in errors)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a 1-D tensor or array, got {type(x).__name__}")
    if x.ndim != 1 or not x.is_floating_point():
        raise ValueError(f"{name} must be a 1-D floating-point tensor, got shape "
                         f"{tuple(x.shape)} and dtype {x.dtype}")  # fmt: skip
    return x.detach()


def as_pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two flat points of one shape, ``b`` cast to ``a``'s dtype."""
    a, b = as_vector(a, "a"), as_vector(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b have different shapes: {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        b = b.to(a.dtype)
    return a, b

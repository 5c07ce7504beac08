"""The loss protocol: a loss in parameter space evaluated at batches of points, with
gradients, an evaluation count and an explicit policy for non-finite values
(``docs/adapters.md``, "The loss protocol"). Everything that evaluates a loss or an
accuracy at parameter points goes through :class:`LossFunction`.

:class:`LossFunction` wraps an :class:`~adapters.nets.engine.Engine` (batched) or a plain
callable on a flat parameter tensor (one call per point); :func:`as_vector` and
:func:`as_pair` turn user input into flat points, with messages that name the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from adapters.nets.engine import Engine

NonFinite = Literal["inf", "raise", "keep"]
POLICIES = ("inf", "raise", "keep")


class LossFunction:
    """The loss protocol: a loss in parameter space evaluated at batches of points.

    ``loss`` is an :class:`~adapters.nets.engine.Engine` (its batched ``loss(points)`` is used) or
    a plain callable mapping a flat 1-D tensor to a scalar (called once per point). Calling
    it on ``(P, n)`` points gives ``(P,)`` float64 values; :meth:`at` gives a differentiable
    scalar at one point (gradients, Hessian-vector products), :meth:`accuracy` the
    accuracy of an engine's network. ``evaluations`` counts points evaluated through this
    object (one per point, gradients included).

    ``nonfinite`` is the policy for NaN and infinite values: ``"inf"`` turns NaN into
    ``+inf`` (a path that leaves the region where the loss is defined has an infinite
    barrier there: the barrier and homotopy constructions); ``"raise"`` refuses them with
    a ``ValueError`` naming the first bad point and ``hint`` (landscape sampling);
    ``"keep"`` returns them as they are (Param's loss of a point). A
    :class:`LossFunction` passed to :meth:`of` is reused, so counts accumulate.
    """

    def __init__(self, loss: Any, nonfinite: NonFinite = "inf", hint: str = "") -> None:
        if nonfinite not in POLICIES:
            raise ValueError(f"nonfinite must be one of {POLICIES}, got {nonfinite!r}")
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
        self.nonfinite, self.hint = nonfinite, hint
        self.evaluations = 0

    @staticmethod
    def of(loss: Any) -> LossFunction:
        """``loss`` itself if it already is a :class:`LossFunction`, else a new wrapper
        (policy ``"inf"``)."""
        return loss if isinstance(loss, LossFunction) else LossFunction(loss)

    @property
    def n(self) -> int | None:
        """Dimension of the parameter space when known (an engine), else ``None``."""
        return None if self.engine is None else self.engine.space.n

    @property
    def dtype(self) -> torch.dtype | None:
        """The precision the loss is evaluated in (an engine's), else ``None``."""
        return None if self.engine is None else self.engine.dtype

    def __call__(self, points: Tensor) -> np.ndarray:
        """Losses at the rows of ``points`` (``(P, n)``) as float64, under the policy."""
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
        return self._policy(values.reshape(-1))

    def _policy(self, values: np.ndarray) -> np.ndarray:
        if self.nonfinite == "inf":
            return np.where(np.isnan(values), np.inf, values)
        if self.nonfinite == "raise":
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                hint = f"; {self.hint}" if self.hint else ""
                raise ValueError(f"the loss is not finite at point {bad[0]} "
                                 f"({values[bad[0]]}){hint}")  # fmt: skip
        return values

    def at(self, theta: Tensor) -> Tensor:
        """The loss at one point as a differentiable scalar (autograd flows into ``theta``).
        Counts one evaluation; the policy does not apply (a gradient needs the raw value)."""
        if self.engine is not None:
            value = self.engine.loss_fn_at(theta)
        else:
            assert self.fn is not None
            value = self.fn(theta)
            if not isinstance(value, Tensor):
                raise TypeError("a gradient needs a callable that returns a torch scalar, got "
                                f"{type(value).__name__}")  # fmt: skip
        self.evaluations += 1
        return value

    def accuracy(
        self, points: Tensor, X: Tensor | None = None, y: Tensor | None = None
    ) -> np.ndarray:
        """Accuracy of the engine's network at the rows of ``points`` (``(P,)`` float64), on
        the engine's data or on ``(X, y)``; counts ``P`` evaluations. A plain callable has no
        accuracy."""
        if self.engine is None:
            raise TypeError("accuracy needs an Engine: a plain loss callable has no outputs")
        values = self.engine.accuracy(points, X, y)
        self.evaluations += int(points.shape[0])
        return values.detach().cpu().to(torch.float64).numpy().reshape(-1)


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

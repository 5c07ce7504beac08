"""Bezier curves with trainable bends between two parameter points (mode connectivity).

``phi(t) = sum_k C(m, k) t^k (1 - t)^(m - k) c_k`` with ``c_0 = a`` and ``c_m = b`` fixed
and the bends ``c_1 .. c_{m-1}`` trained to minimize the loss averaged along the curve,
``E_{t ~ U(0, 1)} loss(phi(t))`` (Garipov et al. 2018, "Loss surfaces, mode connectivity,
and fast ensembling of DNNs"). Two minima joined by a curve with a low barrier are in one
homotopy class even when the straight segment between them crosses a ridge. The curve is
a morphism of Param (:meth:`Bezier.path`). See ``docs/homotopy.md``, "Curved paths".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import comb
from typing import Any

import numpy as np
import torch
from torch import Tensor

from adapters.nets.training import TrainSettings, descend, optimizer_for


@dataclass(frozen=True)
class CurveFit:
    """How a curved test fits its Bezier curve: ``bends`` trainable control points
    (initialized on the segment with relative ``jitter``), ``steps`` Adam steps at ``lr`` on
    ``samples`` random points of the curve per step, drawn under ``seed``."""

    bends: int = 1
    steps: int = 200
    lr: float = 1e-2
    samples: int = 4
    jitter: float = 1e-2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.samples < 1 or self.bends < 1:
            raise ValueError(f"need steps >= 0, samples >= 1 and bends >= 1, got "
                             f"{self.steps}, {self.samples}, {self.bends}")  # fmt: skip


CURVE_FIT = CurveFit()


class Bezier:
    """A Bezier curve from ``a`` to ``b`` with ``bends`` trainable interior control points
    (an int: that many, initialized evenly on the segment, displaced by seeded Gaussian
    noise of relative size ``jitter`` (times ``|b - a| / sqrt(n)``); or a ``(k, n)`` tensor).

    Calling it on an array of parameters ``t`` gives the points ``(len(t), n)`` (detached);
    :meth:`path` is the curve as a Param morphism, which barriers are computed along.

    >>> import torch
    >>> c = Bezier(torch.zeros(2), torch.ones(2), bends=1)
    >>> c([0.0, 0.5, 1.0]).tolist()
    [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """

    def __init__(
        self, a: Tensor, b: Tensor, bends: int | Tensor = 1, *, jitter: float = 0.0, seed: int = 0
    ) -> None:
        if a.shape != b.shape or a.ndim != 1:
            raise ValueError(
                f"a and b must be 1-D of one shape, got {tuple(a.shape)}, {tuple(b.shape)}"
            )
        self.a, self.b = a.detach(), b.detach().to(a.dtype)
        if isinstance(bends, int):
            if bends < 1:
                raise ValueError(f"a curved path needs at least one bend, got {bends}")
            s = torch.arange(1, bends + 1, dtype=a.dtype)[:, None] / (bends + 1)
            init = self.a + s * (self.b - self.a)
            if jitter:  # break symmetric saddles (e.g. a bend exactly on a ridge line)
                g = torch.Generator().manual_seed(seed)
                scale = jitter * float((self.b - self.a).norm()) / max(a.numel(), 1) ** 0.5
                init = init + scale * torch.randn(init.shape, generator=g, dtype=a.dtype)
        else:
            init = torch.as_tensor(bends, dtype=a.dtype)
            if init.ndim != 2 or init.shape[1] != a.shape[0]:
                raise ValueError(
                    f"bends must have shape (k, {a.shape[0]}), got {tuple(init.shape)}"
                )
        self.bends = init.clone().requires_grad_(True)

    @property
    def degree(self) -> int:
        return self.bends.shape[0] + 1

    def control(self) -> Tensor:
        """All control points ``(m + 1, n)``, ends included (differentiable in the bends)."""
        return torch.cat([self.a[None], self.bends, self.b[None]])

    def weights(self, ts: Any) -> Tensor:
        """Bernstein weights ``(len(t), m + 1)``."""
        t = torch.as_tensor(np.asarray(ts, dtype=np.float64), dtype=self.a.dtype)[:, None]
        m = self.degree
        k = torch.arange(m + 1, dtype=self.a.dtype)
        binom = torch.tensor([comb(m, j) for j in range(m + 1)], dtype=self.a.dtype)
        return binom * t**k * (1 - t) ** (m - k)

    def points(self, ts: Any) -> Tensor:
        """Points at parameters ``ts``, differentiable in the bends."""
        return self.weights(ts) @ self.control()

    def __call__(self, ts: Any) -> Tensor:
        with torch.no_grad():
            return self.points(ts)

    def fit(self, loss_at: Callable[[Tensor], Tensor], fit: CurveFit = CURVE_FIT) -> list[float]:
        """Train the bends with Adam (:func:`adapters.nets.training.descend`) on the loss at
        ``fit.samples`` stratified random ``t`` per step (``loss_at`` maps one point to a
        differentiable scalar). Returns the mean loss of each step; ``steps * samples`` loss
        (and gradient) evaluations are spent."""
        rng = np.random.default_rng(fit.seed)
        history: list[float] = []

        def objective(_step: int) -> Tensor:
            ts = (np.arange(fit.samples) + rng.random(fit.samples)) / fit.samples
            return torch.stack([loss_at(p) for p in self.points(ts)]).mean()

        settings = TrainSettings(optimizer="adam", lr=fit.lr, steps=fit.steps, seed=fit.seed)
        opt = optimizer_for([self.bends], settings)
        descend(opt, objective, settings, fit.steps,
                after=lambda _done, loss: history.append(float(loss.detach())))  # fmt: skip
        return history

    def path(self, category: Any) -> Any:
        """The curve as a morphism of duration 1 of ``category`` (Param, Rep or any catcore
        ``Paths``)."""
        return category.bezier(self.control().detach().to(torch.float64).numpy())

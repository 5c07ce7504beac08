"""The parameter space of a module: one flat vector per network, and back.

A :class:`ParamSpace` fixes an order on a module's parameters (and, by policy, its
floating-point buffers) so that a network *is* a point ``theta`` in ``R^n``
(Def 2.1 of the paper). It flattens, unflattens, writes a point into a module and
evaluates the module at a point without mutating it. See ``docs/adapters.md``,
section "Parameter space".

Buffer policy (what to do with BatchNorm running statistics, which change the
output in eval mode but are not parameters):

- ``"refuse"`` (default): raise at construction if the module has such buffers,
  naming the modules; the output is then a function of ``theta`` alone.
- ``"include"``: the floating-point buffers are coordinates of the point, after the
  parameters.
- ``"recompute"``: the buffers are a function of ``theta`` and calibration data:
  :func:`recompute_bn_stats` re-estimates them at each point.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _NormBase

from adapters.nets.model_io import as_output

BufferPolicy = Literal["refuse", "include", "recompute"]
_POLICIES = ("refuse", "include", "recompute")


def stat_modules(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Named submodules keeping running statistics (BatchNorm/InstanceNorm with stats)."""
    return [
        (name, m)
        for name, m in module.named_modules()
        if isinstance(m, _NormBase) and m.track_running_stats
    ]


def _float_buffers(module: nn.Module) -> Iterator[tuple[str, Tensor]]:
    for name, buf in module.named_buffers():
        if buf is not None and buf.is_floating_point():
            yield name, buf


class ParamSpace:
    """Coordinates ``R^n`` on the parameters of ``module`` (see module docstring).

    Attributes: ``names`` and ``shapes`` (coordinate blocks, in vector order),
    ``n`` (dimension), ``dtype``, ``buffers`` (the policy), ``param_names`` and
    ``buffer_names`` (which blocks are parameters / buffers).

    >>> space = ParamSpace(nn.Linear(3, 2))
    >>> space.n, space.names
    (8, ('weight', 'bias'))
    >>> torch.equal(space.vector(), torch.cat([space.module.weight.flatten(), space.module.bias]))
    True
    """

    def __init__(self, module: nn.Module, buffers: BufferPolicy = "refuse") -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"ParamSpace needs an nn.Module, got {type(module).__name__}")
        if buffers not in _POLICIES:
            raise ValueError(f"buffers must be one of {_POLICIES}, got {buffers!r}")
        stats = stat_modules(module)
        if buffers == "refuse" and stats:
            listed = ", ".join(f"{name or '<root>'} ({type(m).__name__})" for name, m in stats)
            raise ValueError(
                "module keeps running statistics that change its output but are not "
                f"parameters: {listed}. Choose buffers='include' (statistics are part of the "
                "point) or buffers='recompute' (re-estimated from data at each point)."
            )
        self.module = module
        self.buffers: BufferPolicy = buffers
        params = list(module.named_parameters())
        if not params:
            raise ValueError(f"{type(module).__name__} has no parameters")
        bufs = list(_float_buffers(module)) if buffers == "include" else []
        dtypes = {t.dtype for _, t in params + bufs}
        if len(dtypes) != 1:
            raise TypeError(
                f"parameters and buffers must share one dtype, found {sorted(map(str, dtypes))}"
            )
        self.dtype: torch.dtype = dtypes.pop()
        self.param_names: tuple[str, ...] = tuple(n for n, _ in params)
        self.buffer_names: tuple[str, ...] = tuple(n for n, _ in bufs)
        self.names: tuple[str, ...] = self.param_names + self.buffer_names
        self.shapes: tuple[torch.Size, ...] = tuple(t.shape for _, t in params + bufs)
        self.numels: tuple[int, ...] = tuple(math.prod(s) for s in self.shapes)
        self.n: int = sum(self.numels)
        self.n_params: int = sum(self.numels[: len(self.param_names)])

    def __repr__(self) -> str:
        return (
            f"ParamSpace(n={self.n}, blocks={len(self.names)}, dtype={self.dtype}, "
            f"buffers={self.buffers!r})"
        )

    # -- checks ---------------------------------------------------------------------------
    def _tensors(self, module: nn.Module) -> list[Tensor]:
        params = dict(module.named_parameters())
        bufs = dict(module.named_buffers())
        out = []
        for name, shape in zip(self.names, self.shapes):
            t = params.get(name, bufs.get(name))
            if t is None:
                raise ValueError(f"module {type(module).__name__} has no parameter/buffer {name!r}")
            if t.shape != shape:
                raise ValueError(f"{name!r} has shape {tuple(t.shape)}, expected {tuple(shape)}")
            out.append(t)
        return out

    def check(self, vec: Tensor, *, batched: bool = False) -> Tensor:
        """Validate a point (``(n,)``, or ``(P, n)`` when ``batched``) and return it."""
        if not isinstance(vec, Tensor):
            raise TypeError(f"a parameter point must be a torch.Tensor, got {type(vec).__name__}")
        if not vec.is_floating_point():
            raise TypeError(f"a parameter point must be floating point, got dtype {vec.dtype}")
        ok = vec.ndim == 1 or (batched and vec.ndim == 2)
        if not ok or vec.shape[-1] != self.n:
            want = f"({self.n},)" + (f" or (P, {self.n})" if batched else "")
            raise ValueError(f"parameter point has shape {tuple(vec.shape)}, expected {want}")
        return vec

    def _check_dtype(self, vec: Tensor, module: nn.Module) -> None:
        want = next(module.parameters()).dtype
        if vec.dtype != want:
            raise TypeError(
                f"parameter point has dtype {vec.dtype} but the module is {want}; "
                "cast one of them (e.g. vec.to(dtype))"
            )

    # -- coordinates ---------------------------------------------------------------------
    def vector(self, module: nn.Module | None = None) -> Tensor:
        """The point of ``module`` (default: the module of this space): flat, detached copy."""
        tensors = self._tensors(self.module if module is None else module)
        return torch.cat([t.detach().reshape(-1) for t in tensors]).clone()

    def unflatten(self, vec: Tensor) -> dict[str, Tensor]:
        """Named views into ``vec``: ``(n,)`` gives the blocks' shapes, ``(P, n)`` adds a
        leading ``P`` axis to each. Inverse of :meth:`vector`."""
        vec = self.check(vec, batched=True)
        lead = vec.shape[:-1]
        parts = torch.split(vec, self.numels, dim=-1)
        return {n: p.reshape(*lead, *s) for n, p, s in zip(self.names, parts, self.shapes)}

    def tensors(self, module: nn.Module, vec: Tensor) -> dict[str, Tensor]:
        """The named tensors to pass to ``functional_call(module, ...)`` for ``vec``: views,
        except buffers of statistics modules in train mode, which are copied (train mode
        updates them in place, which must not write into ``vec``)."""
        parts = self.unflatten(vec)
        if self.buffer_names and any(m.training for _, m in stat_modules(module)):
            for name in self.buffer_names:
                parts[name] = parts[name].clone()
        return parts

    def load(self, module: nn.Module, vec: Tensor) -> nn.Module:
        """Write the point ``vec`` into ``module`` in place; returns the module."""
        self.check(vec)
        self._check_dtype(vec, module)
        with torch.no_grad():
            for t, (_, v) in zip(self._tensors(module), self.unflatten(vec).items()):
                t.copy_(v)
        return module

    def functional(
        self, module: nn.Module, vec: Tensor, x: Tensor, *, calibration: Tensor | None = None
    ) -> Tensor:
        """``module`` evaluated at ``vec`` on input ``x``, leaving ``module`` unchanged (its
        output read by :func:`~adapters.nets.model_io.as_output`).

        Differentiable in ``vec``. Under ``buffers='recompute'`` the running statistics are
        re-estimated on ``calibration`` (required) in a copy of the module first.
        """
        self.check(vec)
        self._check_dtype(vec, module)
        if self.buffers == "recompute" and stat_modules(module):
            if calibration is None:
                raise ValueError(
                    "buffers='recompute' needs calibration data to estimate statistics"
                )
            work = copy.deepcopy(module)
            with torch.no_grad():
                self.load(work, vec.detach())
            recompute_bn_stats(work, calibration)
            tensors = {**dict(work.named_buffers()), **self.unflatten(vec)}
            return as_output(functional_call(work, tensors, (x,)))
        return as_output(functional_call(module, self.tensors(module, vec), (x,)))


@torch.no_grad()
def recompute_bn_stats(module: nn.Module, X: Tensor, batch_size: int | None = None) -> nn.Module:
    """Reset and re-estimate the running statistics of every BatchNorm-like submodule on ``X``.

    With ``batch_size=None`` (one batch) the result is exactly the mean and the unbiased
    variance of each channel's input over ``X``; with smaller batches it is the average of
    the per-batch estimates (``momentum=None``: cumulative average). The module is left in
    eval mode. Needed after interpolating or permuting networks (their statistics no longer
    match their weights).
    """
    stats = stat_modules(module)
    if not stats:
        return module.eval()
    if X.shape[0] < 2:
        raise ValueError(f"need at least 2 samples to estimate statistics, got {X.shape[0]}")
    saved = {}
    for _, m in stats:
        saved[m] = m.momentum
        m.reset_running_stats()
        m.momentum = None
    was_training = {m: m.training for m in module.modules()}
    module.train()
    try:
        step = X.shape[0] if batch_size is None else int(batch_size)
        if step < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        for start in range(0, X.shape[0], step):
            batch = X[start : start + step]
            if batch.shape[0] > 1:
                module(batch)
    finally:
        for m, mom in saved.items():
            m.momentum = mom
        for m, flag in was_training.items():
            m.train(flag)
    return module.eval()


def to_numpy(x: Any, name: str = "value") -> np.ndarray:
    """A float64 numpy copy of a tensor, an array or a nested sequence of numbers (``name``
    is used in the error for anything else): how points and values cross from torch to
    catcore's side."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        kind = type(x).__name__
        raise TypeError(f"{name} must be a numeric array or tensor, got {kind}") from exc

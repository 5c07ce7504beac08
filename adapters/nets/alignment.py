"""Permutation symmetry of hidden units, and alignment by weight matching (Git Re-Basin).

Permuting the hidden units of a layer (rows of its weight and bias, the matching BatchNorm
channels, and the columns of the next layer's weight) gives a network that computes the
same function. On the flat parameter vector such a relabelling is a coordinate permutation
``theta -> theta[index]``: a linear isometry of ``R^n`` under which the loss is invariant.
It acts on Param (Def 2.1) as an invertible functor, ``theta -> pi theta`` on objects and
``gamma -> pi . gamma`` on paths (:meth:`Permutation.functor`), so ``theta`` and
``pi theta`` are isomorphic objects of the quotient of Param by this symmetry group.
Homotopy classes "up to isomorphism"
(:func:`adapters.constructions.class_search.homotopy_classes` with ``align=``) are classes in
that quotient. See ``docs/homotopy.md``, "Alignment".

A :class:`PermutationSpec` says which axis of which tensor each permutation acts on
(Ainsworth, Hayase and Srinivasa, 2022, "Git Re-Basin"). :func:`permutation_spec` derives
it for an ``nn.Sequential`` of ``Linear`` / ``Conv2d`` / ``BatchNorm`` / elementwise /
pooling layers (MLPs, plain CNNs). Residual networks tie permutations across blocks and
are refused (write a spec by hand). :func:`weight_matching` is the paper's coordinate
descent: for each permutation in turn, ``scipy.optimize.linear_sum_assignment`` maximizes
``sum_layers <W_A, pi(W_B)>`` with the other permutations fixed, until no step improves.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from adapters.nets.params import ParamSpace, stat_modules

#: layers applied elementwise or per channel (they commute with a channel permutation)
_PER_UNIT = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.ELU, nn.CELU,
    nn.SELU, nn.Softplus, nn.Mish, nn.Hardtanh, nn.Softsign, nn.Tanhshrink, nn.Identity,
    nn.Dropout, nn.Dropout2d, nn.MaxPool2d, nn.AvgPool2d,
)  # fmt: skip
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_GLOBAL_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_NORM_TENSORS = ("weight", "bias", "running_mean", "running_var")


@dataclass(frozen=True)
class PermutationSpec:
    """``axes[tensor] = (perm or None for each axis)``; ``sizes[perm]`` = units permuted.

    Tensor names are those of ``module.named_parameters()`` / ``named_buffers()``.
    """

    axes: Mapping[str, tuple[str | None, ...]]
    sizes: Mapping[str, int]

    def acting_on(self, perm: str) -> list[tuple[str, int]]:
        """``(tensor, axis)`` pairs permuted by ``perm``."""
        return [(t, ax) for t, ps in self.axes.items() for ax, p in enumerate(ps) if p == perm]


def permutation_spec(model: nn.Module) -> PermutationSpec:
    """The hidden-unit permutations of a sequential MLP or CNN (module docstring).

    One permutation ``P<k>`` per weight layer except the last (whose outputs are the
    network's outputs and must stay in place); inputs are never permuted.

    >>> from adapters.nets.models import mlp
    >>> spec = permutation_spec(mlp(4, (3,), 2))
    >>> dict(spec.axes)
    {'0.weight': ('P0', None), '0.bias': ('P0',), '2.weight': (None, 'P0'), '2.bias': (None,)}
    >>> dict(spec.sizes)
    {'P0': 3}
    """
    if not isinstance(model, nn.Sequential):
        raise ValueError(
            f"permutation_spec handles nn.Sequential MLPs/CNNs; {type(model).__name__} has a "
            "custom forward (e.g. residual connections tie permutations): write a "
            "PermutationSpec by hand"
        )
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    weights = [n for n, m in leaves if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not weights:
        raise ValueError("the model has no Linear or Conv2d layer to permute")
    axes: dict[str, tuple[str | None, ...]] = {}
    sizes: dict[str, int] = {}
    current: str | None = None  # permutation of the current feature/channel axis
    spatial = False  # whether the current tensor still has spatial dimensions
    for name, m in leaves:
        prefix = f"{name}." if name else ""
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if isinstance(m, nn.Conv2d) and m.groups != 1:
                raise ValueError(f"grouped convolution {name!r} is not supported")
            if isinstance(m, nn.Linear) and spatial and current is not None:
                raise ValueError(f"Linear {name!r} reads flattened feature maps; put a global "
                                 "pooling layer before the Flatten")  # fmt: skip
            out = None if name == weights[-1] else f"P{len(sizes)}"
            extra = (None,) * (m.weight.ndim - 2)
            axes[f"{prefix}weight"] = (out, current, *extra)
            if m.bias is not None:
                axes[f"{prefix}bias"] = (out,)
            if out is not None:
                sizes[out] = m.weight.shape[0]
            current, spatial = out, isinstance(m, nn.Conv2d)
        elif isinstance(m, _NORMS):
            for t in _NORM_TENSORS:
                if getattr(m, t, None) is not None:
                    axes[f"{prefix}{t}"] = (current,)
        elif isinstance(m, _GLOBAL_POOLS):
            size = m.output_size
            if size not in (1, (1, 1)):
                raise ValueError(f"pooling {name!r} to {size} keeps spatial positions; only "
                                 "global pooling (output size 1) is supported")  # fmt: skip
            spatial = False
        elif isinstance(m, nn.Flatten) or isinstance(m, _PER_UNIT):
            continue
        elif list(m.parameters(recurse=False)) or list(m.buffers(recurse=False)):
            raise ValueError(f"layer {name!r} ({type(m).__name__}) has tensors this spec "
                             "cannot permute")  # fmt: skip
        else:
            raise ValueError(f"layer {name!r} ({type(m).__name__}) is not known to commute "
                             "with a unit permutation")  # fmt: skip
    return PermutationSpec(axes, sizes)


def permute_tensors(
    spec: PermutationSpec, perms: Mapping[str, Any], tensors: Mapping[str, Tensor],
    except_axis: tuple[str, int] | None = None,
) -> dict[str, Tensor]:
    """``tensors`` with every axis permuted as ``spec`` says (``new = old.index_select(
    axis, perm)``); tensors the spec does not name are copied unchanged. ``except_axis``
    leaves one ``(tensor, axis)`` alone (used by weight matching)."""
    out = {}
    for name, t in tensors.items():
        for ax, p in enumerate(spec.axes.get(name, ())):
            if p is None or (name, ax) == except_axis:
                continue
            out_idx = torch.as_tensor(np.asarray(perms[p]), dtype=torch.long)
            t = t.index_select(ax, out_idx)
        out[name] = t
    return out


def _check_perms(spec: PermutationSpec, perms: Mapping[str, Any]) -> dict[str, np.ndarray]:
    out = {}
    for p, size in spec.sizes.items():
        if p not in perms:
            raise ValueError(f"missing permutation {p!r} (spec has {sorted(spec.sizes)})")
        arr = np.asarray(perms[p], dtype=np.int64)
        if arr.shape != (size,) or not np.array_equal(np.sort(arr), np.arange(size)):
            raise ValueError(f"permutation {p!r} must be a permutation of range({size}), got {arr}")
        out[p] = arr
    return out


class Permutation:
    """A hidden-unit permutation acting on points of ``space``: ``pi(theta) = theta[index]``.

    ``perms`` maps each permutation name of ``spec`` to an index array; for every tensor the
    permuted tensor is ``old.index_select(axis, perm)`` on each permuted axis. Call it on a
    tensor/array of shape ``(n,)`` or ``(P, n)``.
    """

    def __init__(self, space: ParamSpace, spec: PermutationSpec, perms: Mapping[str, Any]):
        self.space, self.spec = space, spec
        self.perms = _check_perms(spec, perms)
        unknown = sorted(set(spec.axes) - set(space.names) - _buffer_names(space))
        if unknown:
            raise ValueError(f"spec names tensors the model does not have: {unknown}")
        blocks = torch.split(torch.arange(space.n), list(space.numels))
        ids = {n: b.reshape(s) for n, b, s in zip(space.names, blocks, space.shapes)}
        moved = permute_tensors(spec, self.perms, ids)
        self.index: Tensor = torch.cat([moved[n].reshape(-1) for n in space.names])

    @classmethod
    def identity(cls, space: ParamSpace, spec: PermutationSpec) -> Permutation:
        return cls(space, spec, {p: np.arange(k) for p, k in spec.sizes.items()})

    @classmethod
    def random(cls, space: ParamSpace, spec: PermutationSpec, seed: int = 0) -> Permutation:
        rng = np.random.default_rng(seed)
        return cls(space, spec, {p: rng.permutation(k) for p, k in spec.sizes.items()})

    def __call__(self, theta: Any) -> Any:
        if isinstance(theta, np.ndarray):
            return theta[..., self.index.numpy()]
        if not isinstance(theta, Tensor) or theta.shape[-1] != self.space.n:
            raise ValueError(f"expected a tensor or array with last axis {self.space.n}, "
                             f"got {getattr(theta, 'shape', type(theta))}")  # fmt: skip
        return theta[..., self.index.to(theta.device)]

    def inverse(self) -> Permutation:
        """``pi^-1``: ``pi.inverse()(pi(theta)) == theta``."""
        return Permutation(self.space, self.spec, {p: np.argsort(v) for p, v in self.perms.items()})

    def then(self, other: Permutation) -> Permutation:
        """``self`` first, then ``other``: ``(self.then(other))(x) == other(self(x))``."""
        return Permutation(self.space, self.spec,
                           {p: v[other.perms[p]] for p, v in self.perms.items()})  # fmt: skip

    @property
    def is_identity(self) -> bool:
        return all(np.array_equal(v, np.arange(len(v))) for v in self.perms.values())

    def module(self, model: nn.Module) -> nn.Module:
        """A copy of ``model`` with parameters *and* buffers (BatchNorm statistics)
        permuted; it computes the same function as ``model``."""
        state = model.state_dict()
        new = permute_tensors(self.spec, self.perms, state)
        out = copy.deepcopy(model)
        out.load_state_dict(new)
        return out

    def functor(self, category: Any) -> Any:
        """``pi`` as an endofunctor of a catcore ``Paths`` category (Param): points
        ``theta -> pi theta`` and paths ``gamma -> pi . gamma`` (same duration)."""
        from catcore.functor import Functor
        from catcore.instances.paths import Path

        index = self.index.numpy()

        def ar(path: Path) -> Path:
            kind = f"permuted {getattr(path, 'kind', 'path')}"
            return Path(category, lambda t: path.sample(t)[:, index], path.duration,
                        path.breaks, kind)  # fmt: skip

        return Functor(category, category, lambda x: category.point(x)[index], ar,
                       name="permutation")  # fmt: skip

    def to_dict(self) -> dict[str, list[int]]:
        return {p: v.tolist() for p, v in self.perms.items()}

    def __repr__(self) -> str:
        return f"Permutation({', '.join(f'{p}: {len(v)}' for p, v in self.perms.items())})"


def _buffer_names(space: ParamSpace) -> set[str]:
    return {n for n, _ in space.module.named_buffers()}


def weight_matching(
    spec: PermutationSpec,
    params_a: Mapping[str, Tensor],
    params_b: Mapping[str, Tensor],
    *,
    max_iter: int = 100,
    seed: int = 0,
    init: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Permutations of ``b``'s units that maximize ``sum <A, pi(B)>`` over the tensors of
    ``params_a`` (Git Re-Basin, Algorithm 1): coordinate descent over the permutations in a
    seeded random order, each step a ``linear_sum_assignment``, until a sweep changes
    nothing. Deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    perms = {p: np.arange(k) for p, k in spec.sizes.items()}
    if init is not None:
        perms.update(_check_perms(spec, init))
    A = {k: v.detach().to(torch.float64) for k, v in params_a.items() if k in spec.axes}
    B = {k: params_b[k].detach().to(torch.float64) for k in A}
    names = sorted(spec.sizes)
    for _ in range(max_iter):
        progress = False
        for p in rng.permutation(names):
            n = spec.sizes[p]
            S = torch.zeros(n, n, dtype=torch.float64)
            for t, ax in spec.acting_on(p):
                if t not in A:
                    continue
                wb = permute_tensors(spec, perms, {t: B[t]}, except_axis=(t, ax))[t]
                wa = torch.movedim(A[t], ax, 0).reshape(n, -1)
                wb = torch.movedim(wb, ax, 0).reshape(n, -1)
                S += wa @ wb.T
            S_np = S.numpy()
            _, cols = linear_sum_assignment(S_np, maximize=True)
            old = S_np[np.arange(n), perms[p]].sum()
            new = S_np[np.arange(n), cols].sum()
            if new > old + 1e-12 * max(1.0, abs(old)):
                perms[p] = cols
                progress = True
        if not progress:
            break
    return perms


class WeightMatching:
    """Aligner for :func:`adapters.constructions.class_search.homotopy_classes`: ``aligner(a, b)``
    returns the
    :class:`Permutation` ``pi`` with ``pi(b)`` matched to ``a`` (points of ``space``).

    Only the parameters (not BatchNorm statistics) enter the matching objective.
    """

    def __init__(
        self,
        space: ParamSpace,
        spec: PermutationSpec | None = None,
        *,
        max_iter: int = 100,
        seed: int = 0,
    ) -> None:
        self.space = space
        self.spec = permutation_spec(space.module) if spec is None else spec
        self.max_iter, self.seed = max_iter, seed
        self.id = f"weight_matching(seed={seed},max_iter={max_iter})"

    def __call__(self, a: Tensor, b: Tensor) -> Permutation:
        ta = _params(self.space, a)
        tb = _params(self.space, b)
        perms = weight_matching(self.spec, ta, tb, max_iter=self.max_iter, seed=self.seed)
        return Permutation(self.space, self.spec, perms)


def _params(space: ParamSpace, theta: Tensor) -> dict[str, Tensor]:
    blocks = space.unflatten(theta.to(space.dtype) if theta.dtype != space.dtype else theta)
    return {k: v for k, v in blocks.items() if k in set(space.param_names)}


def align(
    model: nn.Module | ParamSpace, a: Tensor, b: Tensor, **kwargs: Any
) -> tuple[Tensor, Permutation]:
    """``(pi(b), pi)``: ``b`` permuted to match ``a`` by weight matching (``kwargs`` go to
    :class:`WeightMatching`)."""
    if isinstance(model, ParamSpace):
        space = model
    else:
        space = ParamSpace(model, buffers="recompute" if stat_modules(model) else "refuse")
    pi = WeightMatching(space, **kwargs)(a, b)
    return pi(b), pi

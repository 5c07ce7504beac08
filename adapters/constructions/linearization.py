"""The linearized learning functor's raw material: Jacobians of a multi-task model's
readouts per parameter block, numeric (:func:`linearize`, ``torch.func.jacrev`` in float64),
sketched for large trunks (:func:`adapters.constructions.jacobian_sketch.linearize_sketched`)
or exact over the rationals (:func:`linearize_exact`, forward-mode through
``Linear``/``ReLU``/``Identity`` layers); see :mod:`adapters.constructions.multitask`.

**Running statistics** (BatchNorm and other norms that track them) need an explicit policy,
``batchnorm=``: ``"eval"`` reads the running statistics as constants (the deployed
network), ``"batch"`` normalizes with the statistics of the probe batch (the network as it
trains; the running statistics are neither used nor changed). A model that holds running
statistics and is given no policy is refused. Dropout is always off (eval mode).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import sympy
import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev
from torch.nn.attention import SDPBackend, sdpa_kernel

from adapters.constructions.multitask_model import SHARED, TRUNK, MultiTaskModel
from adapters.nets.model_io import as_input

BatchNormPolicy = Literal["eval", "batch"]


def block_of(param_name: str) -> str:
    """``trunk`` for trunk parameters, ``head:<task>`` for ``heads.<task>.*``."""
    first, rest = param_name.split(".", 1)
    if first == "trunk":
        return TRUNK
    if first == "heads":
        return "head:" + rest.split(".", 1)[0]
    raise ValueError(f"parameter {param_name!r} belongs to neither the trunk nor a head")


@dataclass(frozen=True)
class Linearization:
    """Jacobian blocks of a multi-task model's readouts at one parameter point.

    ``jac[(readout, block)]`` is ``(rows of the readout) x (parameters of the block)``,
    float64 (numeric) or Fraction objects (exact); missing pairs are zero. ``deps[r]`` is
    the set of blocks readout ``r`` depends on; ``rows``/``cols`` give the sizes (``cols``:
    the sketch's columns for a sketched block). ``parameters``: the parameter count of each
    block. ``method``: ``"dense"``, ``"sketch"`` or ``"exact"``; ``sketch``: the width of
    each sketched block (see :mod:`~adapters.constructions.jacobian_sketch`).
    """

    readouts: tuple[str, ...]
    blocks: tuple[str, ...]
    deps: Mapping[str, frozenset[str]]
    rows: Mapping[str, int]
    cols: Mapping[str, int]
    jac: Mapping[tuple[str, str], np.ndarray]
    exact: bool
    parameters: Mapping[str, int]
    method: str
    sketch: Mapping[str, int] = field(default_factory=dict)

    def readouts_of(self, S: frozenset[str]) -> list[str]:
        """Readouts that depend on blocks of ``S`` only."""
        return [r for r in self.readouts if self.deps[r] <= S]

    def matrix(self, rows: Sequence[str], blocks: Sequence[str]) -> Any:
        """The block matrix ``[jac[r, b]]`` (numpy float64, or sympy with Rational entries)."""
        dtype = object if self.exact else np.float64
        zero = Fraction(0) if self.exact else 0.0
        parts = [
            [self.jac.get((r, b), np.full((self.rows[r], self.cols[b]), zero, dtype=dtype))
             for b in blocks]
            for r in rows
        ]  # fmt: skip
        total_r = sum(self.rows[r] for r in rows)
        total_c = sum(self.cols[b] for b in blocks)
        m = np.block(parts) if rows and blocks else np.zeros((total_r, total_c), dtype=dtype)
        m = m.reshape(total_r, total_c)
        return _to_sympy(m) if self.exact else m

    def of(self, S: frozenset[str]) -> Any:
        """``J_S``: readouts of ``S`` against the blocks of ``S`` (in the fixed orders)."""
        return self.matrix(self.readouts_of(S), [b for b in self.blocks if b in S])


def _to_sympy(m: np.ndarray) -> sympy.Matrix:
    rows, cols = m.shape
    return sympy.Matrix(rows, cols, [sympy.Rational(x.numerator, x.denominator) for x in m.flat])


def _deps(model: MultiTaskModel) -> dict[str, frozenset[str]]:
    deps = {SHARED: frozenset({TRUNK})}
    deps.update({f"out:{t}": frozenset({TRUNK, f"head:{t}"}) for t in model.tasks})
    return deps


def blocks_of(model: MultiTaskModel) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, _ in model.named_parameters():
        out.setdefault(block_of(name), []).append(name)
    return out


def running_statistics(model: nn.Module) -> list[str]:
    """Qualified names of the modules that normalize with running statistics."""
    return [
        name for name, m in model.named_modules()
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.running_mean is not None
    ]  # fmt: skip


def prepare(
    model: MultiTaskModel, point: Tensor | None, batchnorm: BatchNormPolicy | None
) -> tuple[MultiTaskModel, dict[str, Tensor]]:
    """A float64 eval-mode copy of ``model`` under the ``batchnorm`` policy (module
    docstring) and its parameters, at ``point`` (a flat vector of the parameters in
    ``named_parameters`` order, as :class:`~adapters.nets.params.ParamSpace` orders them)
    or at the model's own."""
    stats = running_statistics(model)
    if stats and batchnorm is None:
        raise ValueError(
            f"modules {stats[:4]}{' ...' if len(stats) > 4 else ''} normalize with running "
            "statistics: choose batchnorm='eval' (running statistics as constants, the "
            "deployed network) or 'batch' (statistics of the probe batch, as in training)"
        )
    if batchnorm not in (None, "eval", "batch"):
        raise ValueError(f"batchnorm must be 'eval' or 'batch', got {batchnorm!r}")
    work = copy.deepcopy(model).to(torch.float64).eval()
    if batchnorm == "batch":
        for name in stats:
            m = work.get_submodule(name)
            m.track_running_stats = False
            m.running_mean = m.running_var = m.num_batches_tracked = None
    named = dict(work.named_parameters())
    if point is None:
        return work, {n: v.detach().clone() for n, v in named.items()}
    total = sum(v.numel() for v in named.values())
    if point.shape != (total,):
        raise ValueError(f"point must be a flat vector of the {total} parameters, "
                         f"got shape {tuple(point.shape)}")  # fmt: skip
    parts = torch.split(point.detach().to(torch.float64), [v.numel() for v in named.values()])
    # each parameter in storage of its own: forward-mode AD allocates tangents the size of
    # a primal's whole storage, which for views into one flat vector is every parameter
    return work, {n: t.reshape(v.shape).clone() for (n, v), t in zip(named.items(), parts)}


def readout_function(work: MultiTaskModel, X: Tensor) -> Any:
    """``p -> readouts of work at parameters p on X`` (``X`` as :func:`as_input` casts it)."""
    X64 = as_input(X, torch.float64)

    def readouts(p: dict[str, Tensor]) -> dict[str, Tensor]:
        return functional_call(work, p, (X64,), {"readouts": True})

    return readouts


def readout_entries(
    model: MultiTaskModel, X: Tensor, batchnorm: BatchNormPolicy | None = None
) -> int:
    """The number of readout entries ``m`` (rows of the full Jacobian) on ``X``."""
    work, params = prepare(model, None, batchnorm)
    with torch.no_grad():
        return sum(v.numel() for v in readout_function(work, X)(params).values())


def linearize(
    model: MultiTaskModel,
    X: Tensor,
    point: Tensor | None = None,
    *,
    batchnorm: BatchNormPolicy | None = None,
) -> Linearization:
    """Jacobians of every readout with respect to every parameter block, by
    :func:`torch.func.jacrev` in float64, at the model's parameters or at ``point`` (a flat
    vector in :class:`~adapters.nets.params.ParamSpace` order). ``X``: probe inputs ``(N, ...)``
    (token ids stay integers). Memory: the dense Jacobian, readout entries x parameters.
    """
    work, params = prepare(model, point, batchnorm)
    readouts = readout_function(work, X)
    with torch.no_grad():
        shapes = {k: v.shape for k, v in readouts(params).items()}
    with sdpa_kernel(SDPBackend.MATH):  # the fused attention kernels do not batch backward
        jac = jacrev(readouts)(params)
    blocks = blocks_of(work)
    out: dict[tuple[str, str], np.ndarray] = {}
    for r, per_param in jac.items():
        n_rows = int(np.prod(shapes[r]))
        for b, names in blocks.items():
            mats = [per_param[n].reshape(n_rows, -1) for n in names]
            m = torch.cat(mats, dim=1).detach().numpy()
            if np.any(m):
                out[(r, b)] = m
    return assemble(model, shapes, blocks, params, out, "dense")


def assemble(model, shapes, blocks, params, jac, method: str, widths=None, sketch=None):
    """The :class:`Linearization` of ``model`` from its Jacobian blocks ``jac``."""
    readouts = (SHARED, *(f"out:{t}" for t in model.tasks))
    counts = {b: sum(params[n].numel() for n in names) for b, names in blocks.items()}
    return Linearization(
        readouts=readouts,
        blocks=(TRUNK, *(f"head:{t}" for t in model.tasks)),
        deps=_deps(model),
        rows={r: int(np.prod(shapes[r])) for r in readouts},
        cols=dict(widths or counts),
        jac=jac,
        exact=method == "exact",
        parameters=counts,
        method=method,
        sketch=dict(sketch or {}),
    )


def _fractions(t: Tensor) -> np.ndarray:
    """A float tensor as an object array of the rationals its entries are (exact)."""
    flat = [Fraction(float(v)) for v in t.detach().to(torch.float64).reshape(-1).tolist()]
    return np.array(flat, dtype=object).reshape(tuple(t.shape))


def _exact_layer(layer: nn.Module, prefix: str, v, T, offsets: Mapping[str, int]):
    """Value ``v`` (N, d) and tangents ``T`` (n, N, d) through one layer, exactly."""
    if isinstance(layer, nn.Linear):
        W = _fractions(layer.weight)
        v_new = v @ W.T
        T_new = T @ W.T
        out_f, in_f = W.shape
        w0 = offsets[prefix + "weight"]
        for i, j in itertools.product(range(out_f), range(in_f)):
            T_new[w0 + i * in_f + j, :, i] += v[:, j]
        if layer.bias is not None:
            v_new = v_new + _fractions(layer.bias)
            b0 = offsets[prefix + "bias"]
            for i in range(out_f):
                T_new[b0 + i, :, i] += 1
        return v_new, T_new
    if isinstance(layer, nn.ReLU):
        mask = np.vectorize(lambda z: z > 0, otypes=[bool])(v)
        return np.where(mask, v, Fraction(0)), np.where(mask[None], T, Fraction(0))
    if isinstance(layer, nn.Identity):
        return v, T
    if isinstance(layer, nn.Sequential):
        for name, sub in layer.named_children():
            v, T = _exact_layer(sub, f"{prefix}{name}.", v, T, offsets)
        return v, T
    supported = "Linear, ReLU, Identity and Sequential"
    raise TypeError(f"exact linearization supports {supported}, got {type(layer).__name__}")


def linearize_exact(model: MultiTaskModel, X: Tensor) -> Linearization:
    """Exact Jacobians over Q by forward-mode differentiation (no torch autograd).

    For trunks and heads built from ``nn.Linear``, ``nn.ReLU`` (derivative 0 at 0, as in
    torch) and ``nn.Identity``. Every float weight and input is read as the rational it is;
    with small dyadic weights the numbers are the hand-derivable ones. Small models only:
    the cost grows with (parameters x probe size x width).
    """
    if not isinstance(model.trunk, nn.Sequential) or any(
        layer.fields or layer.take_input for layer in model._layers.values()
    ):
        raise TypeError("exact linearization needs an nn.Sequential trunk whose heads read "
                        "the output of a child")  # fmt: skip
    params = dict(model.named_parameters())
    offsets, n = {}, 0
    for name, p in params.items():
        offsets[name], n = n, n + p.numel()
    v = _fractions(X.reshape(X.shape[0], -1))
    T = np.full((n, *v.shape), Fraction(0), dtype=object)
    taps = {}
    for name, layer in model.trunk.named_children():
        v, T = _exact_layer(layer, f"trunk.{name}.", v, T, offsets)
        taps[name] = (v, T)
    taps[""] = (v, T)
    values = {SHARED: (v, T)}
    for t, head in model.heads.items():
        values[f"out:{t}"] = _exact_layer(head, f"heads.{t}.", *taps[model.reads[t]], offsets)
    blocks = blocks_of(model)
    shapes = {r: val.shape for r, (val, _) in values.items()}
    jac: dict[tuple[str, str], np.ndarray] = {}
    for r, (_, tang) in values.items():
        flat = tang.reshape(n, -1).T  # rows: readout entries (row-major), cols: parameters
        for b, names in blocks.items():
            cols = [i for nm in names for i in range(offsets[nm], offsets[nm] + params[nm].numel())]
            m = flat[:, cols]
            if any(x != 0 for x in m.flat):
                jac[(r, b)] = m
    return assemble(model, shapes, blocks, params, jac, "exact")

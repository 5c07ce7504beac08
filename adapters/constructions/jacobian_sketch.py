"""Matrix-free linearization for large trunks: the images ``im J_S`` from a Gaussian sketch
(``docs/transfer.md``, "Large trunks").

The linearized functor needs only the column spaces ``im J_S`` of the readout Jacobians,
never ``J_S`` itself. For a parameter block ``b`` with ``n_b`` parameters and ``m`` readout
entries in all, :func:`linearize_sketched` computes ``Y_b = J_b Omega_b`` with ``k``
forward-mode products (``torch.func.jvp``, vmapped in chunks; memory ``m x k``, never
``m x n_b``): ``Omega_b`` is the identity when ``n_b <= k`` (the block's Jacobian exactly)
and otherwise an ``n_b x k`` Gaussian matrix with entries ``N(0, 1/k)``, drawn in chunks
from a seeded generator (float32 normals, 4x faster to draw; their rounding moves ``Omega``
by a relative 6e-8) and never stored. Default ``k = 2 m + 10``.

**Error bound.** Write ``r_b`` for the rank of ``J_b`` and ``V_b`` for an orthonormal basis
of its row space. In exact arithmetic ``im (J_S Omega) = im J_S`` for every block set ``S``
with probability one once ``k >= r_b``. Numerically, every singular value of every
sketched ``J_S`` is the true one times a factor in ``[lo, hi]``, the extreme singular
values of the ``r_b x k`` Gaussian ``V_b^T Omega_b``; by the Davidson-Szarek inequality

    lo >= 1 - sqrt(r_b / k) - t / sqrt(k),   hi <= 1 + sqrt(r_b / k) + t / sqrt(k)

with probability at least ``1 - 2 exp(-t^2 / 2)`` per block (here ``t = 6``: at least
``1 - 3.0e-8``). So a rank decision at the cut ``tol * sigma_1`` is the one the dense
Jacobian would make whenever no singular value of the sketch lies within the factor
``distortion = hi / lo`` of the cut (:func:`distortion`); the probe reports the factor and
says the verdict is undetermined when the margins do not clear it (``lo <= 0`` at small
``k``: no bound, raise ``columns``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch.func import jvp, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from adapters.constructions.linearization import (
    BatchNormPolicy,
    Linearization,
    assemble,
    blocks_of,
    prepare,
    readout_function,
)
from adapters.constructions.multitask_model import MultiTaskModel

#: the deviation ``t`` of the Davidson-Szarek bound, and the probability it fails per block
DEVIATION = 6.0
FAILURE_PROBABILITY = 2 * math.exp(-(DEVIATION**2) / 2)

#: float64 entries of tangents held at once (chunks of sketch columns)
_CHUNK_ENTRIES = 2**24


def distortion(rank: int, columns: int, t: float = DEVIATION) -> float | None:
    """``hi / lo`` of the module docstring for a block of numerical rank ``rank`` sketched
    with ``columns`` Gaussian columns, or ``None`` when the bound gives ``lo <= 0``."""
    spread = math.sqrt(rank / columns) + t / math.sqrt(columns)
    return None if spread >= 1 else (1 + spread) / (1 - spread)


def linearize_sketched(
    model: MultiTaskModel,
    X: Tensor,
    point: Tensor | None = None,
    *,
    batchnorm: BatchNormPolicy | None = None,
    columns: int | None = None,
    seed: int = 0,
    say: Callable[[str], None] | None = None,
) -> Linearization:
    """Sketched Jacobian blocks ``J_b Omega_b`` of every readout (module docstring), at the
    model's parameters or at ``point``. ``columns``: the sketch width ``k`` (default
    ``2 m + 10`` for ``m`` readout entries). ``say`` gets one line per block."""
    work, params = prepare(model, point, batchnorm)
    readouts = readout_function(work, X)
    with torch.no_grad():
        shapes = {r: v.shape for r, v in readouts(params).items()}
    m = sum(math.prod(s) for s in shapes.values())
    k = columns or 2 * m + 10
    if k < 1:
        raise ValueError(f"columns must be positive, got {columns}")
    jac: dict[tuple[str, str], np.ndarray] = {}
    widths: dict[str, int] = {}
    sketched: dict[str, int] = {}
    for index, (block, names) in enumerate(blocks_of(work).items()):
        n_b = sum(params[n].numel() for n in names)
        widths[block] = n_b if n_b <= k else k
        if n_b > k:
            sketched[block] = k
        if say:
            how = f"sketch of {k} columns" if n_b > k else "exact columns"
            say(f"linearizing block {block} ({n_b} parameters, {how})")
        Y = _push(readouts, params, names, widths[block], n_b > k, seed * 7919 + index)
        jac.update({(r, block): y for r, y in Y.items() if np.any(y)})
    return assemble(model, shapes, blocks_of(work), params, jac, "sketch", widths, sketched)


def _push(
    readouts: Callable[[dict[str, Tensor]], dict[str, Tensor]],
    params: dict[str, Tensor],
    names: list[str],
    width: int,
    gaussian: bool,
    seed: int,
) -> dict[str, np.ndarray]:
    """``J_b Omega_b`` for the block of parameters ``names``: ``(rows of r, width)`` per readout."""
    primal = {n: params[n] for n in names}
    fixed = {n: v for n, v in params.items() if n not in primal}
    n_b = sum(v.numel() for v in primal.values())

    def f(p: dict[str, Tensor]) -> dict[str, Tensor]:
        return readouts({**fixed, **p})

    push = vmap(lambda t: jvp(f, (primal,), (t,))[1])
    generator = torch.Generator().manual_seed(seed)
    chunk = max(1, min(width, _CHUNK_ENTRIES // n_b))
    out: dict[str, np.ndarray] = {}
    for start in range(0, width, chunk):
        c = min(chunk, width - start)
        if gaussian:
            flat = torch.randn(c, n_b, generator=generator).to(torch.float64) / width**0.5
        else:
            flat = torch.zeros(c, n_b, dtype=torch.float64)
            flat[torch.arange(c), torch.arange(start, start + c)] = 1.0
        tangents, offset = {}, 0
        for n, v in primal.items():
            tangents[n] = flat[:, offset:offset + v.numel()].reshape(c, *v.shape).clone()
            offset += v.numel()
        # the fused attention kernels have no forward-mode derivative; the math one does
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
            pushed = push(tangents)
        for r, t in pushed.items():
            block = out.setdefault(r, np.empty((t[0].numel(), width)))
            block[:, start:start + c] = t.reshape(c, -1).T.numpy()
    return out

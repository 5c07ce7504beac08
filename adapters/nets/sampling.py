"""Random directions with filter normalization, and loss-landscape samples around a point.

Filter normalization (Li et al., "Visualizing the Loss Landscape of Neural Nets", 2018):
a Gaussian direction ``d`` is rescaled block by block so that every *filter* of ``d`` has
the norm of the same filter of the centre ``theta``: ``d_f <- d_f * |theta_f| / |d_f|``.
A filter is a slice along the first axis of a parameter with two or more axes (a row of
a ``Linear`` weight: one output unit's incoming weights; one output channel of a
convolution). Parameters with fewer than two axes (biases, normalization scales) follow
``bias``:

- ``"zero"`` (default; Li et al.'s ``ignore='biasbn'``): no motion along them;
- ``"copy"`` (Li et al.'s other choice): the direction *is* the parameter, ``d_b = theta_b``;
- ``"normalize"``: the whole vector is one filter, ``d_b * |theta_b| / |d_b|``.

Blocks that are buffers of the parameter space (running statistics) never move.

A radius is relative to the parameter norm, filter by filter: the point
``theta + t d`` moves every normalized filter by ``t`` times its own norm. Samples:

- :func:`ball_samples` with ``dim=m``: ``m`` directions span a subspace; coordinates
  ``a`` are uniform in the ``m``-ball of radius ``radius``; points ``theta + a @ D``;
- :func:`ball_samples` with ``dim=None`` (full space): each sample has its own direction
  ``d_i`` and lies at ``theta + radius * u_i^(1/n_eff) * d_i`` with ``u_i`` uniform in
  ``[0, 1]`` and ``n_eff`` the number of moving coordinates (the radial law of a uniform
  ball; in high dimension the samples lie close to the outer shell);
- :func:`plane_grid`: a ``resolution x resolution`` grid on the plane of two directions,
  ``theta + alpha d1 + beta d2`` with ``alpha, beta`` in ``[-radius, radius]``.

The same ``seed`` gives the same samples (a seeded ``torch.Generator``; float64 draws).
See ``docs/persistence.md``, section "Sampling".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from adapters.nets.losses import LossFunction
from adapters.nets.params import ParamSpace

Bias = Literal["zero", "copy", "normalize"]
_BIAS = ("zero", "copy", "normalize")


def _center(space: ParamSpace, center: Tensor | None) -> Tensor:
    if not isinstance(space, ParamSpace):
        kind = type(space).__name__
        raise TypeError(f"space must be an adapters.nets.params.ParamSpace, got {kind}")
    theta = space.vector() if center is None else space.check(center)
    return theta.detach()


def filter_normalize(
    direction: Tensor, center: Tensor, space: ParamSpace, bias: Bias = "zero"
) -> Tensor:
    """Filter-normalized copy of ``direction`` (``(n,)`` or a batch ``(P, n)``) with respect
    to ``center`` (``(n,)``); see the module docstring for the rule."""
    if bias not in _BIAS:
        raise ValueError(f"bias must be one of {_BIAS}, got {bias!r}")
    direction = space.check(direction, batched=True)
    center = space.check(center)
    lead = direction.shape[:-1]
    frozen = set(getattr(space, "buffer_names", ()))
    out = []
    blocks = zip(space.names, space.shapes, torch.split(direction, space.numels, dim=-1),
                 torch.split(center, space.numels))  # fmt: skip
    for name, shape, d, c in blocks:
        if name in frozen or (len(shape) < 2 and bias == "zero"):
            out.append(torch.zeros_like(d))
        elif len(shape) < 2 and bias == "copy":
            out.append(c.expand_as(d).clone())
        else:
            rows = shape[0] if len(shape) >= 2 else 1
            df = d.reshape(*lead, rows, -1)
            cf = c.reshape(rows, -1)
            scale = cf.norm(dim=-1) / df.norm(dim=-1).clamp_min(torch.finfo(d.dtype).tiny)
            out.append((df * scale.unsqueeze(-1)).reshape(d.shape))
    return torch.cat(out, dim=-1)


def random_directions(
    space: ParamSpace,
    count: int,
    *,
    center: Tensor | None = None,
    seed: int = 0,
    bias: Bias = "zero",
) -> Tensor:
    """``count`` filter-normalized Gaussian directions at ``center`` (default: the space's
    module), as a ``(count, n)`` tensor of the centre's dtype; repeatable by ``seed``."""
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    theta = _center(space, center)
    gen = torch.Generator().manual_seed(int(seed))
    raw = torch.randn(count, space.n, generator=gen, dtype=torch.float64)
    return filter_normalize(raw, theta.to(torch.float64), space, bias).to(theta.dtype)


@dataclass(frozen=True)
class Samples:
    """Parameter points ``center + offsets`` sampled around ``center``.

    ``coords`` (``(P, m)``) and ``directions`` (``(m, n)``) are set for samples in an
    ``m``-dimensional subspace (``offsets = coords @ directions``), ``None`` for
    full-space samples.
    """

    center: Tensor
    offsets: Tensor
    radius: float
    seed: int
    coords: np.ndarray | None = None
    directions: Tensor | None = None

    def __len__(self) -> int:
        return self.offsets.shape[0]

    @property
    def points(self) -> Tensor:
        """The sampled parameter points, ``(P, n)``."""
        return self.center + self.offsets

    def embedding(self) -> np.ndarray:
        """Coordinates whose Euclidean distances equal the distances of the parameter points
        (float64): the subspace coordinates mapped by a square root of the Gram matrix of
        the directions, or the offsets themselves for full-space samples. Pass these to
        :func:`adapters.constructions.persistence.landscape_persistence` instead of ``points``."""
        if self.coords is None or self.directions is None:
            return self.offsets.detach().to(torch.float64).numpy()
        D = self.directions.detach().to(torch.float64).numpy()
        w, V = np.linalg.eigh(D @ D.T)
        return self.coords @ (V * np.sqrt(np.clip(w, 0.0, None)))


def _check_radius(radius: float) -> float:
    if not (isinstance(radius, (int, float)) and math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive finite number, got {radius!r}")
    return float(radius)


def ball_samples(
    space: ParamSpace,
    n_samples: int = 5000,
    radius: float = 0.1,
    *,
    center: Tensor | None = None,
    dim: int | None = None,
    seed: int = 0,
    bias: Bias = "zero",
) -> Samples:
    """``n_samples`` points in the filter-normalized ball of relative ``radius`` around
    ``center`` (default: the space's module): in a random ``dim``-dimensional subspace, or
    in the full space when ``dim is None`` (module docstring)."""
    radius = _check_radius(radius)
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    theta = _center(space, center)
    gen = torch.Generator().manual_seed(int(seed))
    if dim is None:
        raw = torch.randn(n_samples, space.n, generator=gen, dtype=torch.float64)
        d = filter_normalize(raw, theta.to(torch.float64), space, bias)
        n_eff = max(1, int((d[0] != 0).sum()))
        u = torch.rand(n_samples, 1, generator=gen, dtype=torch.float64)
        offsets = radius * u ** (1.0 / n_eff) * d
        return Samples(theta, offsets.to(theta.dtype), radius, seed)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer or None, got {dim!r}")
    D = random_directions(space, dim, center=theta, seed=seed, bias=bias)
    g = torch.randn(n_samples, dim, generator=gen, dtype=torch.float64)
    u = torch.rand(n_samples, 1, generator=gen, dtype=torch.float64)
    a = (radius * u ** (1.0 / dim) * g / g.norm(dim=1, keepdim=True)).numpy()
    offsets = torch.from_numpy(a).to(D.dtype) @ D
    return Samples(theta, offsets, radius, seed, coords=a, directions=D)


@dataclass(frozen=True)
class Grid:
    """A plane grid ``center + alphas[i] d1 + betas[j] d2``; point ``i * len(betas) + j``
    is grid cell ``(i, j)``, so ``values.reshape(grid.shape)`` is the landscape image."""

    center: Tensor
    directions: Tensor
    alphas: np.ndarray
    betas: np.ndarray
    radius: float
    seed: int

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.alphas), len(self.betas))

    @property
    def points(self) -> Tensor:
        """The grid's parameter points, ``(rows * cols, n)``."""
        A, B = np.meshgrid(self.alphas, self.betas, indexing="ij")
        coords = torch.from_numpy(np.stack([A.ravel(), B.ravel()], axis=1))
        return self.center + coords.to(self.directions.dtype) @ self.directions


def plane_grid(
    space: ParamSpace,
    resolution: int = 51,
    radius: float = 0.1,
    *,
    center: Tensor | None = None,
    seed: int = 0,
    bias: Bias = "zero",
    directions: Tensor | None = None,
) -> Grid:
    """A ``resolution x resolution`` grid on the plane of two directions, coordinates in
    ``[-radius, radius]``: filter-normalized random directions (Li et al.'s 2-D landscape
    plot), or the given ``(2, n)`` ``directions`` (for instance the top Hessian
    eigenvectors of :func:`hessian_directions`) as they are."""
    radius = _check_radius(radius)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    theta = _center(space, center)
    if directions is None:
        D = random_directions(space, 2, center=theta, seed=seed, bias=bias)
    elif tuple(directions.shape) != (2, space.n):
        raise ValueError(f"directions must have shape (2, {space.n}), got "
                         f"{tuple(directions.shape)}")  # fmt: skip
    else:
        D = directions.to(theta.dtype)
    ticks = np.linspace(-radius, radius, resolution)
    return Grid(theta, D, ticks, ticks.copy(), radius, seed)


@dataclass(frozen=True)
class HessianDirections:
    """The top eigenpairs of the loss Hessian at a point: ``directions`` ``(k, n)`` (unit
    eigenvectors, largest eigenvalue first), ``eigenvalues`` ``(k,)``, and ``products``, the
    Hessian-vector products Lanczos used."""

    directions: Tensor
    eigenvalues: np.ndarray
    products: int


def hessian_directions(
    engine: object, count: int = 2, *, center: Tensor | None = None, tol: float = 1e-8
) -> HessianDirections:
    """The ``count`` eigenvectors of the Hessian of ``engine``'s loss at ``center`` (default:
    its model's point) with the largest eigenvalues, by Lanczos iteration
    (``scipy.sparse.linalg.eigsh``) on Hessian-vector products (forward-over-reverse
    ``torch.func.jvp`` of ``torch.func.grad``): matrix-free, never a dense Hessian."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    lf = LossFunction(engine)
    space = engine.space  # type: ignore[attr-defined]
    n = space.n
    if not 1 <= count < n:
        raise ValueError(f"count must be in 1..{n - 1}, got {count}")
    theta = _center(space, center).to(engine.dtype).detach()  # type: ignore[attr-defined]
    calls = [0]

    def hvp(x: np.ndarray) -> np.ndarray:
        calls[0] += 1
        v = torch.from_numpy(np.asarray(x, dtype=np.float64).reshape(-1)).to(theta.dtype)
        p = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(lf.at(p), p, create_graph=True)
        (hv,) = torch.autograd.grad(g @ v, p)
        return hv.detach().to(torch.float64).numpy()

    op = LinearOperator((n, n), matvec=hvp, dtype=np.float64)
    w, V = eigsh(op, k=count, which="LA", tol=tol, v0=np.ones(n) / math.sqrt(n))
    order = np.argsort(w)[::-1]
    D = torch.from_numpy(np.ascontiguousarray(V[:, order].T)).to(theta.dtype)
    return HessianDirections(D, w[order], calls[0])


def evaluate(engine: object, points: Tensor) -> np.ndarray:
    """Losses of ``engine`` (an :class:`adapters.nets.engine.Engine`) at ``points`` as
    float64, refusing non-finite values (the loss protocol's ``"raise"`` policy: a
    landscape with an undefined loss has no sublevel filtration)."""
    return LossFunction(engine, nonfinite="raise", hint="lower the radius")(points)

"""The category Param of Def 2.1 for one model, data set and loss (``docs/adapters.md``, "Param").

Objects are parameter points ``theta`` in ``R^n`` (1-D float64 arrays); the data ``D`` and
the loss of the paper's triple ``(theta, D, loss)`` are carried by the category instance,
which evaluates them through one :class:`adapters.nets.engine.Engine`. Morphisms
``theta0 -> theta1`` are Moore paths (:class:`catcore.instances.paths.Path`):

- a recorded training trajectory, piecewise linear through its checkpoints, with time
  measured in optimizer steps (:meth:`Param.trajectory`);
- a straight segment (:meth:`Param.linear`), a piecewise-linear path
  (:meth:`Param.through`), a Bezier curve with control points (:meth:`Param.bezier`),
  a reparametrization of any path (:meth:`Param.reparametrize`).

Composition is concatenation: ``(f ; g)(t) = f(t)`` for ``t <= T_f`` and
``g(t - T_f)`` after, over ``[0, T_f + T_g]``; durations add, so composition is strictly
associative and the constant path of duration 0 is a strict identity (no
reparametrization is needed, unlike paths on ``[0, 1]``). ``path.normalized(s)`` reads a
path at ``s`` in ``[0, 1]``. Two consecutive segments of one recorded run compose to the
whole run, exactly. Arrows compare strictly (duration and samples on a grid, catcore's
:class:`~catcore.equality.Tolerance`) or up to reparametrization
(:class:`catcore.instances.reparametrization.UpToReparametrization`). Homotopies (Def 3.1)
are the 2-cells inherited from :class:`catcore.instances.paths.Paths`.

Points cross the boundary as float64 numpy arrays (catcore's side) and are cast to the
engine's dtype only when the network is evaluated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.nets.engine import Engine
from adapters.nets.losses import LossFunction
from adapters.nets.params import BufferPolicy, ParamSpace, to_numpy
from catcore.equality import Tolerance
from catcore.errors import MorphismError
from catcore.instances.paths import Path, Paths


class Param(Paths):
    """Param for ``model`` on data ``(X, y)`` with ``loss_fn`` (see module docstring).

    ``buffers`` is the :class:`~adapters.nets.params.ParamSpace` policy for BatchNorm
    statistics (``"refuse"``, ``"include"``, ``"recompute"``); ``dtype`` the precision in
    which the network is evaluated and ``device`` where (default: that of ``X``); ``atol``
    how far two points may be and still be the same object; ``grid_size`` the normalized
    grid on which arrows are compared.

    >>> from adapters.nets.models import mlp
    >>> torch.manual_seed(0) and None
    >>> P = Param(mlp(4, (8,), 3), torch.randn(20, 4), torch.randint(0, 3, (20,)))
    >>> a, b = P.of(), P.of() + 1.0
    >>> f = P.linear(a, b)
    >>> (P.identity(a) >> f).duration, bool(P.equality(P.identity(a) >> f, f))
    (1.0, True)
    """

    def __init__(
        self,
        model: nn.Module,
        X: Tensor,
        y: Tensor | None = None,
        loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
        *,
        buffers: BufferPolicy = "refuse",
        dtype: torch.dtype = torch.float64,
        calibration: Tensor | None = None,
        atol: float = 1e-9,
        grid_size: int = 33,
        device: str | torch.device | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"Param needs an nn.Module, got {type(model).__name__}")
        space = ParamSpace(model, buffers=buffers)
        self.model = model
        self.engine = Engine(
            model, X, y, loss_fn, space=space, dtype=dtype, calibration=calibration, device=device
        )
        self.space = self.engine.space
        self.lossf = LossFunction(self.engine, nonfinite="keep")
        super().__init__(self.space.n, atol=atol, grid_size=grid_size)
        self.equality = Tolerance(rtol=1e-9, atol=atol)
        self.name = f"Param({type(model).__name__}, n={self.space.n})"

    # -- objects ------------------------------------------------------------------------------
    def point(self, x: Any) -> np.ndarray:
        """``x`` (tensor, array or sequence of ``n`` numbers) as a float64 point; a float64
        array is used as it is, not copied (paths never write into their points)."""
        p = x.reshape(-1) if isinstance(x, np.ndarray) and x.dtype == np.float64 else to_numpy(x)
        p = p.reshape(-1)
        if p.shape != (self.dim,):
            raise MorphismError(f"point has {p.size} coordinates, expected {self.dim}")
        return p

    def of(self, module: nn.Module | None = None) -> np.ndarray:
        """The point of ``module`` (default: the model this category was built from)."""
        return to_numpy(self.space.vector(self.model if module is None else module))

    def tensor(self, points: Any) -> Tensor:
        """Points (``(n,)`` or ``(P, n)``) as a tensor in the engine's dtype."""
        return torch.from_numpy(np.array(to_numpy(points))).to(self.engine.dtype)

    def module_at(self, theta: Any) -> nn.Module:
        """A copy of the model with ``theta`` written into it (the model is not touched)."""
        module = copy.deepcopy(self.model)
        space = ParamSpace(module, buffers=self.space.buffers)
        dtype = next(module.parameters()).dtype
        return space.load(module, torch.as_tensor(self.point(theta), dtype=dtype))

    def loss(self, points: Any) -> np.ndarray:
        """The loss on the category's data at one point (a 0-d array) or ``(P, n)`` points,
        through the loss protocol (:attr:`lossf`, non-finite values kept)."""
        pts = self.tensor(points)
        values = self.lossf(pts.reshape(-1, self.dim))
        return values.reshape(()) if pts.ndim == 1 else values

    def loss_along(self, path: Path, s: Any) -> np.ndarray:
        """Losses at normalized times ``s`` of ``path``."""
        return self.loss(path.normalized(np.asarray(s, dtype=float)))

    # -- arrows -------------------------------------------------------------------------------
    def trajectory(self, checkpoints: Any, steps: Sequence[float] | None = None) -> Path:
        """A recorded training trajectory as a path: piecewise linear through its
        checkpoints, at time = optimizer steps since the first checkpoint.

        ``checkpoints`` is an :class:`adapters.nets.training.Trajectory` (its ``points()`` and
        ``steps``) or a ``(K, n)`` array/tensor, with ``steps`` defaulting to
        ``0, 1, ..., K-1``. Consecutive pieces of one run compose to the whole run.
        """
        if hasattr(checkpoints, "points") and hasattr(checkpoints, "steps"):
            pts = checkpoints.points
            steps = checkpoints.steps if steps is None else steps
            checkpoints = pts() if callable(pts) else pts
        knots = to_numpy(checkpoints)
        if knots.ndim != 2 or knots.shape[1] != self.dim:
            raise MorphismError(f"checkpoints must have shape (K, {self.dim}), got {knots.shape}")
        times = None
        if steps is not None:
            st = to_numpy(steps).reshape(-1)
            times = st - st[0]
        return self.through(knots, times, kind="trajectory")

    def segments(self, path: Path, cuts: Sequence[float]) -> list[Path]:
        """``path`` cut at the times ``cuts`` (strictly inside ``(0, T)``, increasing) into
        consecutive paths whose concatenation is ``path`` (durations preserved)."""
        T = path.duration
        c = np.asarray(cuts, dtype=float)
        if np.any(c <= 0) or np.any(c >= T) or np.any(np.diff(c) <= 0):
            raise ValueError(f"cuts must increase strictly inside (0, {T}), got {c.tolist()}")
        times = np.concatenate([[0.0], c, [T]])
        points = [path.dom, *path.sample(c), path.cod]  # one copy of each cut point, shared
        out = []
        for i, (t0, t1) in enumerate(zip(times[:-1], times[1:])):
            b = path.breaks * T
            inner = (b[(b > t0) & (b < t1)] - t0) / (t1 - t0)
            out.append(
                self._make(
                    lambda t, t0=t0: path.sample(t + t0), t1 - t0, inner,
                    kind=f"piece of {getattr(path, 'kind', 'path')}",
                    ends=(points[i], points[i + 1]),
                )
            )  # fmt: skip
        return out

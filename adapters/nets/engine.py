"""One evaluation engine for losses, outputs and representations at many parameter points.

Every algorithm that evaluates a network at many points ``theta_1 .. theta_P`` (paths,
landscapes, homotopy tests) goes through :class:`Engine`. It never mutates the model it
is given (it works on a private copy), evaluates in chunks of points so that memory stays
bounded, and counts the points it evaluated (``evaluations``).

Evaluation strategies (``strategy=``):

- ``"load"``: write each point into the copy and run ``forward`` (a plain loop);
- ``"functional"``: ``torch.func.functional_call`` per point;
- ``"vmap"``: ``torch.func.vmap`` of ``functional_call`` over a chunk of points;
- ``"bmm"``: for a pure MLP (a ``Sequential`` of ``Linear`` and elementwise layers), all
  points of a chunk in one batched matrix product per layer;
- ``"auto"`` (default): ``"bmm"`` for a pure MLP; otherwise ``"load"`` on CPU (``vmap``
  was 3-4x slower than a loop there) and ``"vmap"`` on a GPU (10x faster than a loop),
  unless BatchNorm is in train mode (``"functional"``) or the policy is ``"recompute"``
  (``"load"``). Measurements in ``docs/adapters.md``. The rule is fixed, not timed at run
  time, so the same call gives the same bits.

Under the ``"recompute"`` buffer policy each point gets its BatchNorm statistics
re-estimated on ``calibration`` (default ``X``) before it is evaluated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap

from adapters.nets.batched_path import batched_cross_entropy, mlp_plan
from adapters.nets.metrics import accuracy_of, cross_entropy
from adapters.nets.model_io import as_input, as_output, parse_layer
from adapters.nets.models import penultimate
from adapters.nets.params import ParamSpace, recompute_bn_stats, stat_modules

#: How the engine evaluates many parameter points (module docstring).
Strategy = Literal["auto", "load", "functional", "vmap", "bmm"]
STRATEGIES = ("auto", "load", "functional", "vmap", "bmm")
LossFn = Callable[[Tensor, Tensor], Tensor]

#: activation bytes of one chunk on the batched-matmul path on CPU: 8 to 40 points of the
#: digits MLPs, the fastest chunk sizes measured (docs/adapters.md)
CACHE_BYTES = 16 * 2**20


class _Stop(Exception):
    """Raised by a hook once the requested layer has been computed."""


def as_points(points: Tensor | Sequence[Tensor], n: int) -> tuple[Tensor, bool]:
    """``(P, n)`` tensor from a ``(P, n)`` / ``(n,)`` tensor or a sequence of ``(n,)``
    tensors; the flag says whether a single point was given."""
    if isinstance(points, (list, tuple)):
        if not points:
            raise ValueError("empty list of parameter points")
        bad = [i for i, p in enumerate(points) if not isinstance(p, Tensor) or p.shape != (n,)]
        if bad:
            i = bad[0]
            got = tuple(points[i].shape) if isinstance(points[i], Tensor) else type(points[i])
            raise ValueError(f"point {i} of the list is {got}, expected a tensor of shape ({n},)")
        return torch.stack(list(points)), False
    if not isinstance(points, Tensor):
        raise TypeError(
            f"points must be a Tensor or a list of tensors, got {type(points).__name__}"
        )
    if not points.is_floating_point():
        raise TypeError(f"points must be floating point, got dtype {points.dtype}")
    if points.ndim == 1 and points.shape[0] == n:
        return points.unsqueeze(0), True
    if points.ndim == 2 and points.shape[1] == n:
        return points, False
    raise ValueError(f"points have shape {tuple(points.shape)}, expected ({n},) or (P, {n})")


class Engine:
    """Losses, outputs and representations of ``model`` at many parameter points.

    ``points`` everywhere: a ``(P, n)`` tensor, a ``(n,)`` tensor (results lose the ``P``
    axis) or a list of ``(n,)`` tensors; they are cast to ``dtype``. ``loss_fn(outputs,
    y)`` must return the scalar loss of one network (default: mean cross-entropy).
    ``space`` fixes the coordinates (default ``ParamSpace(model)``, which refuses
    BatchNorm statistics). ``layer`` is a layer specification (see :mod:`adapters.nets.model_io`;
    default: the penultimate layer). ``chunk_points`` bounds how many points are
    evaluated at once (default: estimated from ``memory_mb``, 256 on CPU, 2048 on a GPU).
    ``device`` (default: that of ``X``) holds the model copy, the data and the results.

    >>> torch.manual_seed(0) and None
    >>> from adapters.nets.models import mlp
    >>> net = mlp(4, (8,), 3)
    >>> eng = Engine(net, torch.randn(10, 4), torch.randint(0, 3, (10,)))
    >>> theta = eng.space.vector()
    >>> float(eng.loss(theta)) == float(F.cross_entropy(net(eng.X), eng.y).detach())
    True
    >>> eng.loss(torch.stack([theta, theta])).shape, eng.evaluations, eng.strategy
    (torch.Size([2]), 3, 'bmm')
    """

    def __init__(
        self,
        model: nn.Module,
        X: Tensor,
        y: Tensor | None = None,
        loss_fn: LossFn = F.cross_entropy,
        space: ParamSpace | None = None,
        chunk_points: int | None = None,
        dtype: torch.dtype = torch.float32,
        layer: str | None = None,
        *,
        strategy: Strategy = "auto",
        calibration: Tensor | None = None,
        memory_mb: float | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if not isinstance(X, Tensor):
            raise TypeError(f"X must be a Tensor, got {type(X).__name__}")
        if y is not None and y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
        if chunk_points is not None and chunk_points < 1:
            raise ValueError(f"chunk_points must be positive, got {chunk_points}")
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else X.device
        self.model = copy.deepcopy(model).to(device=self.device, dtype=dtype)
        self.model.requires_grad_(False)
        policy = "refuse" if space is None else space.buffers
        self.space = ParamSpace(self.model, buffers=policy)
        if space is not None and (space.names, space.shapes) != (
            self.space.names,
            self.space.shapes,
        ):
            raise ValueError("space does not describe model (different parameter names or shapes)")
        self.X = self._x(X)
        self.y = None if y is None else y.to(self.device)
        self.loss_fn = loss_fn
        self.calibration = self.X if calibration is None else self._x(calibration)
        self.layer = penultimate(self.model) if layer is None else layer
        parse_layer(self.model, self.layer)
        self._plan = mlp_plan(self.model)
        self.strategy: str = self._choose(strategy)
        self.memory_mb = memory_mb or (256.0 if self.device.type == "cpu" else 2048.0)
        self.chunk_points = chunk_points or self._estimate_chunk()
        self.evaluations = 0

    def _x(self, X: Tensor) -> Tensor:
        return as_input(X, self.dtype, self.device)

    # -- setup ----------------------------------------------------------------------------
    def _choose(self, strategy: str) -> str:
        recompute = self.space.buffers == "recompute"
        if strategy == "auto":
            if recompute:
                return "load"
            if self._plan is not None:
                return "bmm"
            if self.device.type == "cpu":
                return "load"
            stats_training = any(m.training for _, m in stat_modules(self.model))
            return "functional" if stats_training else "vmap"
        if strategy == "bmm" and self._plan is None:
            raise ValueError(
                f"strategy='bmm' needs a pure MLP (Sequential of Linear/activations), "
                f"got {type(self.model).__name__}"
            )
        if recompute and strategy != "load":
            raise ValueError("buffers='recompute' is evaluated with strategy='load' only")
        return strategy

    def _activation_elements(self) -> int:
        """Elements of all leaf-module outputs for one sample (a probe forward)."""
        total = 0

        def hook(_m: nn.Module, _i: object, out: object) -> None:
            nonlocal total
            if isinstance(out, Tensor):
                total += out[:1].numel()

        leaves = [m for m in self.model.modules() if not list(m.children())]
        handles = [m.register_forward_hook(hook) for m in leaves]
        probe = self.X[:2] if self.X.shape[0] >= 2 else self.X
        training = self.model.training
        try:
            self.model.eval()
            with torch.no_grad():
                self.model(probe)
        finally:
            self.model.train(training)
            for h in handles:
                h.remove()
        return max(total, 1)

    def _estimate_chunk(self) -> int:
        """Points per chunk: activations of a chunk within ``memory_mb``; on the batched-matmul
        path also within :data:`CACHE_BYTES`, which measured fastest (the chunk's working set
        stays in cache)."""
        item = torch.finfo(self.dtype).bits // 8
        acts = item * self.X.shape[0] * self._activation_elements()
        chunk = self.memory_mb * 2**20 // (2 * acts + 2 * item * self.space.n)
        if self.strategy == "bmm" and self.device.type == "cpu":
            chunk = min(chunk, CACHE_BYTES // acts)
        return int(max(1, min(4096, chunk)))

    # -- core -----------------------------------------------------------------------------
    def _points(self, points: Tensor | Sequence[Tensor]) -> tuple[Tensor, bool]:
        pts, single = as_points(points, self.space.n)
        return pts.detach().to(device=self.device, dtype=self.dtype), single

    @torch.no_grad()
    def _run(
        self,
        pts: Tensor,
        X: Tensor,
        layer: str | None,
        reduce: Callable[[Tensor], Tensor] | None = None,
    ) -> Tensor:
        """Outputs (``layer=None``) or the layer's activations, ``(P, N, ...)``, chunk by
        chunk; ``reduce`` maps each chunk's ``(p, N, ...)`` result to what is kept."""
        run = getattr(self, f"_run_{self.strategy}")
        outs = []
        for start in range(0, pts.shape[0], self.chunk_points):
            out = run(pts[start : start + self.chunk_points], X, layer)
            outs.append(out if reduce is None else reduce(out))
        self.evaluations += pts.shape[0]
        return torch.cat(outs)

    def _capture(self, layer: str | None) -> tuple[list[Tensor], Callable[[], None]]:
        """Install a hook storing the layer's tensor and stopping the forward there."""
        store: list[Tensor] = []
        if layer is None:
            return store, lambda: None
        spec = parse_layer(self.model, layer)
        module = self.model.get_submodule(spec.module)

        def keep(value: object) -> None:
            store.append(spec.read(value))
            raise _Stop

        if spec.take_input:
            h = module.register_forward_pre_hook(lambda _m, args: keep(args[0]))
        else:
            h = module.register_forward_hook(lambda _m, _a, out: keep(out))
        return store, h.remove

    def _call(self, forward: Callable[[], object], layer: str | None) -> Tensor:
        store, remove = self._capture(layer)
        try:
            out = as_output(forward())
        except _Stop:
            out = store[0]
        finally:
            remove()
        return out

    def _run_load(self, chunk: Tensor, X: Tensor, layer: str | None) -> Tensor:
        """One point at a time written into the engine's model, which is put back at its
        own point afterwards (``space.vector()`` stays the model's point)."""
        home = self.space.vector(self.model)
        outs = []
        try:
            for theta in chunk:
                self.space.load(self.model, theta)
                if self.space.buffers == "recompute":
                    recompute_bn_stats(self.model, self.calibration)
                outs.append(self._call(lambda: self.model(X), layer))
        finally:
            self.space.load(self.model, home)
        return torch.stack(outs)

    def _run_functional(self, chunk: Tensor, X: Tensor, layer: str | None) -> Tensor:
        outs = []
        for theta in chunk:
            tensors = self.space.tensors(self.model, theta)
            outs.append(self._call(lambda t=tensors: functional_call(self.model, t, (X,)), layer))
        return torch.stack(outs)

    def _run_vmap(self, chunk: Tensor, X: Tensor, layer: str | None) -> Tensor:
        def one(tensors: dict[str, Tensor]) -> Tensor:
            store: list[Tensor] = []
            if layer is None:
                return as_output(functional_call(self.model, tensors, (X,)))
            spec = parse_layer(self.model, layer)
            module = self.model.get_submodule(spec.module)
            if spec.take_input:
                h = module.register_forward_pre_hook(lambda _m, a: store.append(a[0]))
            else:
                h = module.register_forward_hook(lambda _m, _a, o: store.append(spec.read(o)))
            try:
                functional_call(self.model, tensors, (X,))
            finally:
                h.remove()
            return store[0]

        return vmap(one, randomness="different")(self.space.unflatten(chunk))

    def _run_bmm(self, chunk: Tensor, X: Tensor, layer: str | None) -> Tensor:
        """Feature-major batched MLP: activations are kept as ``(P, d, N)`` so that the first
        layer is one GEMM ``(P*out, in) @ X^T`` shared by all points and the others are
        ``baddbmm``; the result is returned as a ``(P, N, d)`` (transposed) view."""
        assert self._plan is not None
        spec = parse_layer(self.model, layer) if layer is not None else None
        stop, take_input = (spec.module, spec.take_input) if spec else (None, False)
        tensors = self.space.unflatten(chunk)
        P = chunk.shape[0]
        h: Tensor = X
        shared = True  # h is still X itself, (N, d), the same for every point
        for name, m, kind in self._plan if stop != "" or not take_input else ():
            if name == stop and take_input and kind != "exit":
                break
            if isinstance(m, nn.Linear):
                W = tensors[f"{name}.weight"]  # (P, out, in)
                b = tensors.get(f"{name}.bias")
                if shared:
                    h = (W.reshape(P * m.out_features, -1) @ h.T).view(P, m.out_features, -1)
                    h = h if b is None else h.add_(b.unsqueeze(2))
                    shared = False
                elif b is None:
                    h = torch.bmm(W, h)
                else:
                    h = torch.baddbmm(b.unsqueeze(2), W, h)
            elif m is not None:
                h = m(h.clone() if shared and getattr(m, "inplace", False) else h)
            if name == stop and not take_input and kind != "enter":
                break
        return h.expand(P, *h.shape) if shared else h.transpose(1, 2)

    # -- public API -----------------------------------------------------------------------
    def _data(self, X: Tensor | None, y: Tensor | None, need_y: bool) -> tuple[Tensor, Tensor]:
        X = self.X if X is None else self._x(X)
        y = (self.y if y is None else y.to(self.device)) if need_y else y
        if need_y and y is None:
            raise ValueError("this evaluation needs labels: give y to Engine(...) or to the call")
        if y is not None and y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
        return X, y  # type: ignore[return-value]

    def outputs(self, points: Tensor | Sequence[Tensor], X: Tensor | None = None) -> Tensor:
        """Network outputs at each point: ``(P, N, out)`` (``(N, out)`` for one point)."""
        pts, single = self._points(points)
        out = self._run(pts, self.X if X is None else self._x(X), None)
        return out[0] if single else out

    def representations(
        self,
        points: Tensor | Sequence[Tensor],
        layer: str | None = None,
        X: Tensor | None = None,
    ) -> Tensor:
        """Activations of ``layer`` (default: the engine's layer) at each point, flattened
        per sample: ``(P, N, d)`` (``(N, d)`` for one point)."""
        pts, single = self._points(points)
        layer = self.layer if layer is None else layer
        out = self._run(pts, self.X if X is None else self._x(X), layer)
        out = out.reshape(out.shape[0], out.shape[1], -1)
        return out[0] if single else out

    def losses_of(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Per-point losses from ``(P, N, out)`` outputs: ``(P,)``."""
        plain = self.loss_fn in (F.cross_entropy, cross_entropy) and y.ndim == 1
        if plain and y.dtype == torch.long and outputs.ndim == 3:
            return batched_cross_entropy(outputs, y)
        return torch.stack([self.loss_fn(o, y) for o in outputs])

    def loss(
        self,
        points: Tensor | Sequence[Tensor],
        X: Tensor | None = None,
        y: Tensor | None = None,
    ) -> Tensor:
        """Loss at each point on ``(X, y)`` (default: the engine's data): ``(P,)``, or a
        0-d tensor for one point."""
        X, y = self._data(X, y, need_y=True)
        pts, single = self._points(points)
        values = self._run(pts, X, None, reduce=lambda out: self.losses_of(out, y))
        return values[0] if single else values

    def loss_fn_at(self, theta: Tensor) -> Tensor:
        """Differentiable scalar loss at one point ``theta`` (autograd flows into ``theta``;
        use it for gradients, Hessian-vector products, Fisher quantities). Counts one
        evaluation."""
        X, y = self._data(None, None, need_y=True)
        theta = self.space.check(theta).to(device=self.device, dtype=self.dtype)
        out = self.space.functional(self.model, theta, X, calibration=self.calibration)
        self.evaluations += 1
        return self.loss_fn(out, y)

    def accuracy(
        self,
        points: Tensor | Sequence[Tensor],
        X: Tensor | None = None,
        y: Tensor | None = None,
    ) -> Tensor:
        """Fraction of samples whose argmax output equals the label: ``(P,)`` or 0-d."""
        if (X is None) != (y is None):
            raise ValueError("give both X and y, or neither")
        X, y = self._data(X, y, need_y=True)
        pts, single = self._points(points)
        acc = self._run(
            pts, X, None, reduce=lambda out: accuracy_of(out, y, self.dtype)
        )
        return acc[0] if single else acc

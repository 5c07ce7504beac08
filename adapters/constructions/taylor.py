"""Rigorous bounds on a network's loss along a straight segment of parameter space
(``docs/homotopy.md``, "Certified barriers").

Along ``theta(t) = a + t (b - a)`` every weight and bias is affine in ``t``. On an interval
``t = t_m + s``, ``|s| <= r``, every activation of every sample is carried as a first-order
*Taylor model* ``c + g s + [-e, e]``: a centre, one generator in ``s`` and a rigorous
remainder. Through the layers:

- ``Linear`` and ``Conv2d`` (bilinear in input and weights), with ``W(s) = W_m + s dW``,
  ``b(s) = b_m + s db`` (``W_m = W_a + t_m dW``): ``c' = W_m c + b_m``,
  ``g' = W_m g + dW c + db`` and ``e' = r^2 |dW| |g| + (|W_m| + r |dW|) e`` (the ``s^2``
  term moves into the remainder; ``|.|`` of a convolution is the convolution with ``|W|``);
- ``AvgPool2d``, ``AdaptiveAvgPool2d`` and ``Flatten`` (linear, nonnegative weights) act on
  centre, generator and remainder alike;
- ``ReLU`` on the range ``[l, u]`` of its input: the identity when ``l >= 0``, zero when
  ``u <= 0``, else the parallel relaxation ``lambda z <= relu(z) <= lambda (z - l)``,
  ``lambda = u / (u - l)``;
- ``Tanh``: a slope ``lambda`` and the exact range of ``tanh(z) - lambda z`` over
  ``[l, u]`` (endpoints and the critical points ``sech^2 z = lambda``);
- ``Identity`` and inactive ``Dropout`` pass through;
- softmax cross-entropy: ``z_j - z_y`` is bounded above by an affine function of ``s``, so
  the per-sample loss is bounded by a log-sum-exp of affine functions, convex in ``s``;
  their mean minus the (linear) chord is largest at ``s = -r`` or ``s = +r``.

Floating point (float64): every linear layer's remainder is inflated by
``gamma_{k+4} (|W_m| + r |dW|) (|c| + r |g| + e) + ...`` (``gamma_k = k u / (1 - k u)``,
``u = 2^-53``, ``k`` the fan-in: the a-priori bound of a dot product and of forming
``W_m``), every elementwise step by a few ulps of its magnitude, and the loss by
:data:`MARGIN` (exp, log and tanh in torch are accurate to a few ulps; torch has no directed
rounding, so this is a stated margin, not outward rounding). Exact samples are computed in
float64 by the same layer list (:meth:`SegmentLoss.values`). The certificate covers the
segment between the float64 values of ``a`` and ``b``: ``b - a`` is rounded once per
coordinate (exact when the exponents of float32 values are close), and that rounding,
at most ``u |b - a|`` per weight, is carried in every linear layer's remainder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.nets.engine import Engine

#: relative margin added to every bounded loss and subtracted from every exact sample
MARGIN = 1e-12
#: activations held at once when many parameters are evaluated (numbers)
CHUNK = 2**22
_U = 2.0**-53


def _gamma(k: int) -> float:
    return (k + 4) * _U / (1 - (k + 4) * _U)


#: parameter-free layers that are linear with nonnegative weights (or a reshape)
_FIXED = (nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten)


@dataclass(frozen=True)
class _Affine:
    """A layer bilinear in its input and its weights (``Linear``, ``Conv2d``), with the
    weights at ``a`` and their change ``d = b - a``. Activations are ``(I, N, *features)``:
    ``I`` intervals (or parameters), ``N`` samples."""

    Wa: Tensor
    dW: Tensor
    ba: Tensor
    db: Tensor
    conv: dict | None = None

    @property
    def fan_in(self) -> int:
        return self.Wa[0].numel()

    def at(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """Weights and biases at the parameters ``t``: ``(I, *w)``, ``(I, out)``."""
        shape = (-1,) + (1,) * self.Wa.ndim
        return self.Wa + t.view(shape) * self.dW, self.ba + t[:, None] * self.db

    def apply(self, x: Tensor, W: Tensor) -> Tensor:
        """``x`` through the weights ``W`` (one set per interval, or one shared set)."""
        I, N = x.shape[:2]
        shared = W.ndim == self.Wa.ndim
        if self.conv is None:
            return x @ W.T if shared else torch.bmm(x, W.transpose(1, 2))
        if shared:
            out = F.conv2d(x.flatten(0, 1), W, **self.conv)
            return out.reshape(I, N, *out.shape[1:])
        return torch.stack([F.conv2d(x[i], W[i], **self.conv) for i in range(I)])

    def add(self, y: Tensor, b: Tensor) -> Tensor:
        """``y + b`` over the output channel axis (``b``: ``(I, out)`` or ``(out,)``)."""
        b = b if b.ndim == 2 else b[None]
        return y + b.reshape(b.shape[0], 1, b.shape[1], *([1] * (y.ndim - 3)))


class Unsupported(ValueError):
    """The loss is not one the bound can see through (the reason is the message)."""


def _layers(model: nn.Module) -> list[tuple[str, nn.Module]] | str:
    """The layers of a (nested) ``Sequential`` in order, or why the bound cannot take it."""
    if not isinstance(model, nn.Sequential):
        return f"the network is a {type(model).__name__}, not an nn.Sequential"
    out: list[tuple[str, nn.Module]] = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Sequential):
            continue
        if isinstance(m, nn.Conv2d) and (
            m.groups != 1 or m.dilation != (1, 1) or m.padding_mode != "zeros"
            or isinstance(m.padding, str)
        ):  # fmt: skip
            return "the bound has no rule for grouped, dilated or non-zero-padded Conv2d"
        if isinstance(m, nn.Dropout) and m.training and m.p > 0:
            return "Dropout is active (train mode)"
        allowed = (nn.Linear, nn.Conv2d, nn.ReLU, nn.Tanh, nn.Dropout, nn.Identity, *_FIXED)
        if not isinstance(m, allowed):
            return f"the bound has no rule for {type(m).__name__}"
        out.append((name, m))
    if not any(isinstance(m, (nn.Linear, nn.Conv2d)) for _, m in out):
        return "the network has no Linear or Conv2d layer"
    return out


def unsupported(engine: object) -> str | None:
    """Why the bound cannot certify ``engine``'s loss, or ``None`` when it can."""
    if not isinstance(engine, Engine):
        return "the loss is a plain callable, not an Engine"
    if engine.loss_fn is not F.cross_entropy:
        return "the loss function is not softmax cross-entropy"
    if engine.y is None or engine.y.dtype != torch.long:
        return "the labels are not class indices"
    if engine.space.n != engine.space.n_params:
        return "the parameter space holds buffers"
    layers = _layers(engine.model)
    return layers if isinstance(layers, str) else None


class SegmentLoss:
    """The loss of an engine's network along the segment ``a -> b``, in float64: exact
    values at parameters ``t`` (:meth:`values`) and rigorous upper bounds over intervals
    (:meth:`upper`). Raises :class:`Unsupported` for a loss it cannot bound."""

    def __init__(self, engine: Engine, a: Tensor, b: Tensor) -> None:
        why = unsupported(engine)
        if why is not None:
            raise Unsupported(why)
        a64, b64 = a.detach().cpu().to(torch.float64), b.detach().cpu().to(torch.float64)
        d = b64 - a64  # rounded; the remainder carries the rounding (module docstring)
        pa, pd = engine.space.unflatten(a64), engine.space.unflatten(d)
        self.layers: list[object] = []
        for name, m in _layers(engine.model):  # type: ignore[union-attr]
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                self.layers.append(_affine_layer(name, m, pa, pd))
            elif isinstance(m, _FIXED):
                self.layers.append(m)
            elif isinstance(m, (nn.ReLU, nn.Tanh)):
                self.layers.append(type(m).__name__)
        self.X = engine.X.detach().cpu().to(torch.float64)
        self.y = engine.y.detach().cpu()
        costs = [L.Wa.numel() for L in self.layers if isinstance(L, _Affine)]
        #: cost of one interval bound in forward-equivalents (its products of weights and
        #: activations over a forward pass's, weighting layers by their weight count): 3 for
        #: the first layer (no generator yet), 6 for the others
        self.bound_cost = (3 * costs[0] + 6 * sum(costs[1:])) / sum(costs)

    # -- exact values ---------------------------------------------------------------------
    def values(self, ts: np.ndarray) -> np.ndarray:
        """Mean cross-entropy at parameters ``ts`` (one forward-equivalent each), in chunks
        of parameters that keep the activations near :data:`CHUNK` numbers."""
        t = torch.as_tensor(np.asarray(ts, dtype=np.float64)).reshape(-1)
        step = max(1, CHUNK // (len(self.X) * max(self.X[0].numel(), 64)))
        return np.concatenate([self._values(t[i : i + step]) for i in range(0, len(t), step)])

    def _values(self, t: Tensor) -> np.ndarray:
        h = self.X.expand(len(t), *self.X.shape)
        for L in self.layers:
            if isinstance(L, _Affine):
                W, bias = L.at(t)
                h = L.add(L.apply(h, W), bias)
            elif isinstance(L, nn.Module):
                h = _fixed(L, h)
            elif L == "ReLU":
                h = h.clamp_min(0)
            else:
                h = torch.tanh(h)
        return _cross_entropy(h, self.y)

    # -- bounds ---------------------------------------------------------------------------
    def upper(self, t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper bounds of the loss's convex majorant at both ends of each interval
        ``[t0_i, t1_i]``: the maximum over the interval of ``loss(t) - chord(t)`` for any
        linear ``chord`` is at most ``max(lo_i - chord(t0_i), hi_i - chord(t1_i))``."""
        t0 = torch.as_tensor(np.asarray(t0, dtype=np.float64))
        t1 = torch.as_tensor(np.asarray(t1, dtype=np.float64))
        tm = 0.5 * (t0 + t1)
        r = torch.maximum(t1 - tm, tm - t0) * (1 + 8 * _U)
        c = self.X.expand(len(tm), *self.X.shape)
        g = e = None
        for L in self.layers:
            if isinstance(L, _Affine):
                c, g, e = _affine(L, c, g, e, tm, r)
            elif g is None or e is None:  # before the first affine layer: exact inputs
                c = _fixed(L, c) if isinstance(L, nn.Module) else c
            else:
                rr = r.view(-1, *([1] * (c.ndim - 1)))
                if isinstance(L, nn.Module):
                    slack = 4 * _U * _fixed(L, c.abs() + rr * g.abs() + e)
                    c, g, e = _fixed(L, c), _fixed(L, g), _fixed(L, e) + slack
                else:
                    c, g, e = (_relu if L == "ReLU" else _tanh)(c, g, e, rr)
        return _cross_entropy_ends(c, g, e, self.y, r)


def _affine_layer(name: str, m: nn.Module, pa: dict, pd: dict) -> _Affine:
    out = m.out_features if isinstance(m, nn.Linear) else m.out_channels
    zero = torch.zeros(out, dtype=torch.float64)
    has_bias = f"{name}.bias" in pa
    conv = None if isinstance(m, nn.Linear) else {"stride": m.stride, "padding": m.padding}
    return _Affine(pa[f"{name}.weight"], pd[f"{name}.weight"],
                   pa[f"{name}.bias"] if has_bias else zero,
                   pd[f"{name}.bias"] if has_bias else zero, conv)  # fmt: skip


def _fixed(m: nn.Module, x: Tensor) -> Tensor:
    """A parameter-free layer on ``(I, N, *features)``."""
    I, N = x.shape[:2]
    out = m(x.flatten(0, 1))
    return out.reshape(I, N, *out.shape[1:])


def _cross_entropy(z: Tensor, y: Tensor) -> np.ndarray:
    lse = torch.logsumexp(z, dim=2)
    picked = z.gather(2, y.view(1, -1, 1).expand(len(z), -1, 1)).squeeze(2)
    return (lse - picked).mean(dim=1).numpy()


def _affine(L: _Affine, c: Tensor, g: Tensor | None, e: Tensor | None, tm: Tensor, r: Tensor):
    """The Taylor rule of a bilinear layer (module docstring), with its rounding."""
    Wm, bm = L.at(tm)
    A = Wm.abs() + r.view(-1, *([1] * L.Wa.ndim)) * L.dW.abs()  # |W(s)| <= A on the interval
    c2 = L.add(L.apply(c, Wm), bm)
    g2 = L.add(L.apply(c, L.dW), L.db)
    mag = c.abs()
    e2 = torch.zeros_like(c2)
    if g is not None and e is not None:
        rin = r.view(-1, *([1] * (g.ndim - 1)))
        rout = r.view(-1, *([1] * (c2.ndim - 1)))
        g2 = g2 + L.apply(g, Wm)
        mag = mag + rin * g.abs() + e
        e2 = rout**2 * L.apply(g.abs(), L.dW.abs()) + L.apply(e, A)
    # rounding: gamma_k of every dot product and of forming W_m; and fl(b - a) =
    # (b - a)(1 + delta), |delta| <= u, so the true weights differ by at most u |dW|
    gam = _gamma(L.fan_in)
    R = gam * A + _U * L.dW.abs()
    bias = gam * (L.ba.abs() + L.db.abs()) + _U * L.db.abs()  # |b_m| <= |b_a| + |db|
    return c2, g2, L.add(e2 + L.apply(mag, R), bias)


def _range(c: Tensor, g: Tensor, e: Tensor, rr: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    spread = g.abs() * rr + e
    slack = 4 * _U * (c.abs() + spread)
    return c - spread - slack, c + spread + slack, slack


def _relu(c: Tensor, g: Tensor, e: Tensor, rr: Tensor):
    lo, hi, slack = _range(c, g, e, rr)
    on, off = lo >= 0, hi <= 0
    cross = ~(on | off)
    lam = torch.where(cross, hi / (hi - lo).clamp_min(1e-300), on.to(c.dtype))
    shift = torch.where(cross, -lam * lo, torch.zeros_like(c))  # relu(z) - lam z in [0, shift]
    c2 = lam * c + 0.5 * shift
    e2 = lam * e + 0.5 * shift + torch.where(off, torch.zeros_like(c), slack)
    return c2, lam * g, e2


def _tanh(c: Tensor, g: Tensor, e: Tensor, rr: Tensor):
    lo, hi, slack = _range(c, g, e, rr)
    width = hi - lo
    chord = (torch.tanh(hi) - torch.tanh(lo)) / width.clamp_min(1e-300)
    lam = torch.where(width > 1e-6, chord, 1 - torch.tanh(c) ** 2).clamp(0.0, 1.0)
    z0 = torch.atanh(torch.sqrt((1 - lam).clamp(0.0, 1.0 - 1e-16)))
    cands = [lo, hi] + [torch.where((z >= lo) & (z <= hi), z, lo) for z in (z0, -z0)]
    phi = torch.stack([torch.tanh(z) - lam * z for z in cands])
    pmin, pmax = phi.amin(0), phi.amax(0)
    pad = 8 * _U * (1 + c.abs() + width) + slack
    return lam * c + 0.5 * (pmin + pmax), lam * g, lam * e + 0.5 * (pmax - pmin) + pad


def _cross_entropy_ends(c: Tensor, g: Tensor, e: Tensor, y: Tensor, r: Tensor):
    """Upper bounds of the mean cross-entropy at ``s = -r`` and ``s = +r`` (module docstring)."""
    idx = y.view(1, -1, 1).expand(c.shape[0], -1, 1)
    d = c - c.gather(2, idx)
    k = g - g.gather(2, idx)
    f = e + e.gather(2, idx)
    mask = torch.zeros_like(c).scatter_(2, idx, 1.0).bool()
    d, k, f = (torch.where(mask, torch.zeros_like(v), v) for v in (d, k, f))
    rr = r[:, None, None]
    out = []
    for sign in (-1.0, 1.0):
        per = torch.logsumexp(d + sign * rr * k + f, dim=2).mean(dim=1)
        out.append((per + MARGIN * (1 + per.abs())).numpy())
    return out[0], out[1]


def exact_lower(value: float) -> float:
    """A lower bound of the true loss from a float64 sample (the stated margin)."""
    return value - MARGIN * (1 + abs(value))


__all__ = ["MARGIN", "SegmentLoss", "Unsupported", "exact_lower", "unsupported"]

"""Rigorous bounds on a network's loss along a straight segment of parameter space
(``docs/homotopy.md``, "Certified barriers").

Along ``theta(t) = a + t (b - a)`` every weight and bias is affine in ``t``. On an interval
``t = t_m + s``, ``|s| <= r``, every activation of every sample is carried as a first-order
*Taylor model* ``c + g s + [-e, e]``: a centre, one generator in ``s`` and a rigorous
remainder. Through the layers:

- ``Linear`` with ``W(s) = W_m + s dW``, ``b(s) = b_m + s db`` (``W_m = W_a + t_m dW``):
  ``c' = W_m c + b_m``, ``g' = W_m g + dW c + db`` and
  ``e' = r^2 |dW| |g| + (|W_m| + r |dW|) e`` (the ``s^2`` term moves into the remainder);
- ``ReLU`` on the range ``[l, u]`` of its input: the identity when ``l >= 0``, zero when
  ``u <= 0``, else the parallel relaxation ``lambda z <= relu(z) <= lambda (z - l)``,
  ``lambda = u / (u - l)``;
- ``Tanh``: a slope ``lambda`` and the exact range of ``tanh(z) - lambda z`` over
  ``[l, u]`` (endpoints and the critical points ``sech^2 z = lambda``);
- ``Identity``, inactive ``Dropout`` and a leading ``Flatten`` pass through;
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

from adapters.nets.batched_path import mlp_plan
from adapters.nets.engine import Engine

#: relative margin added to every bounded loss and subtracted from every exact sample
MARGIN = 1e-12
#: activations held at once when many parameters are evaluated (numbers)
CHUNK = 2**22
_U = 2.0**-53


def _gamma(k: int) -> float:
    return (k + 4) * _U / (1 - (k + 4) * _U)


@dataclass(frozen=True)
class _Linear:
    Wa: Tensor
    dW: Tensor
    ba: Tensor
    db: Tensor


class Unsupported(ValueError):
    """The loss is not one the bound can see through (the reason is the message)."""


def unsupported(engine: object) -> str | None:
    """Why the bound cannot certify ``engine``'s loss, or ``None`` when it can."""
    if not isinstance(engine, Engine):
        return "the loss is a plain callable, not an Engine"
    if engine.loss_fn is not F.cross_entropy:
        return "the loss function is not softmax cross-entropy"
    if engine.y is None or engine.y.dtype != torch.long:
        return "the labels are not class indices"
    if engine.space.buffers != "refuse" and engine.space.n != engine.space.n_params:
        return "the parameter space holds buffers"
    plan = mlp_plan(engine.model)
    if plan is None:
        return "the network is not a Sequential of Linear and elementwise layers"
    for _, layer, kind in plan:
        if kind == "op" and layer is not None and not isinstance(
            layer, (nn.Linear, nn.ReLU, nn.Tanh, nn.Identity, nn.Flatten)
        ):
            return f"the bound has no rule for {type(layer).__name__}"
    return None


class SegmentLoss:
    """The loss of an engine's MLP along the segment ``a -> b``, in float64: exact values at
    parameters ``t`` (:meth:`values`) and rigorous upper bounds over intervals
    (:meth:`upper`). Raises :class:`Unsupported` for a loss it cannot bound."""

    def __init__(self, engine: Engine, a: Tensor, b: Tensor) -> None:
        why = unsupported(engine)
        if why is not None:
            raise Unsupported(why)
        a64, b64 = a.detach().cpu().to(torch.float64), b.detach().cpu().to(torch.float64)
        d = b64 - a64  # rounded; the remainder carries the rounding (module docstring)
        pa, pd = engine.space.unflatten(a64), engine.space.unflatten(d)
        self.layers: list[object] = []
        for name, layer, kind in mlp_plan(engine.model) or []:
            if kind != "op" or layer is None or isinstance(layer, (nn.Identity, nn.Flatten)):
                continue
            if isinstance(layer, nn.Linear):
                zero = torch.zeros(layer.out_features, dtype=torch.float64)
                bias = f"{name}.bias" in pa
                self.layers.append(_Linear(pa[f"{name}.weight"], pd[f"{name}.weight"],
                                           pa[f"{name}.bias"] if bias else zero,
                                           pd[f"{name}.bias"] if bias else zero))  # fmt: skip
            else:
                self.layers.append(type(layer).__name__)
        self.X = engine.X.detach().cpu().to(torch.float64).reshape(len(engine.X), -1)
        self.y = engine.y.detach().cpu()
        flops = [L.Wa.numel() for L in self.layers if isinstance(L, _Linear)]
        #: cost of one interval bound in forward-equivalents (its matrix products over a
        #: forward pass's): 3 for the first layer (no generator yet), 6 for the others
        self.bound_cost = (3 * flops[0] + 6 * sum(flops[1:])) / sum(flops)

    # -- exact values ---------------------------------------------------------------------
    def values(self, ts: np.ndarray) -> np.ndarray:
        """Mean cross-entropy at parameters ``ts`` (one forward-equivalent each), in chunks
        of parameters that keep the activations near :data:`CHUNK` numbers."""
        t = torch.as_tensor(np.asarray(ts, dtype=np.float64)).reshape(-1)
        widths = [L.Wa.shape[0] for L in self.layers if isinstance(L, _Linear)]
        step = max(1, CHUNK // (len(self.X) * max([self.X.shape[1], *widths])))
        return np.concatenate([self._values(t[i : i + step]) for i in range(0, len(t), step)])

    def _values(self, t: Tensor) -> np.ndarray:
        h = self.X.expand(len(t), *self.X.shape)
        for L in self.layers:
            if isinstance(L, _Linear):
                W = L.Wa + t[:, None, None] * L.dW
                h = torch.baddbmm((L.ba + t[:, None] * L.db)[:, None, :], h, W.transpose(1, 2))
            elif L == "ReLU":
                h = h.clamp_min(0)
            else:
                h = torch.tanh(h)
        lse = torch.logsumexp(h, dim=2)
        picked = h.gather(2, self.y.view(1, -1, 1).expand(len(t), -1, 1)).squeeze(2)
        return (lse - picked).mean(dim=1).numpy()

    # -- bounds ---------------------------------------------------------------------------
    def upper(self, t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper bounds of the loss's convex majorant at both ends of each interval
        ``[t0_i, t1_i]``: the maximum over the interval of ``loss(t) - chord(t)`` for any
        linear ``chord`` is at most ``max(lo_i - chord(t0_i), hi_i - chord(t1_i))``."""
        t0 = torch.as_tensor(np.asarray(t0, dtype=np.float64))
        t1 = torch.as_tensor(np.asarray(t1, dtype=np.float64))
        tm = 0.5 * (t0 + t1)
        r = torch.maximum(t1 - tm, tm - t0) * (1 + 8 * _U)
        rr = r[:, None, None]
        I = len(tm)
        c = self.X.expand(I, *self.X.shape)
        g = e = None
        for L in self.layers:
            if isinstance(L, _Linear):
                c, g, e = _linear(L, c, g, e, tm, rr)
            else:
                c, g, e = (_relu if L == "ReLU" else _tanh)(c, g, e, rr)
        return _cross_entropy_ends(c, g, e, self.y, r)


def _linear(L: _Linear, c: Tensor, g: Tensor | None, e: Tensor | None, tm: Tensor, rr: Tensor):
    Wm = L.Wa + tm[:, None, None] * L.dW  # (I, out, in)
    bm = L.ba + tm[:, None] * L.db
    WmT, dWT = Wm.transpose(1, 2), L.dW.T
    A = Wm.abs() + rr * L.dW.abs()  # |W(s)| <= A on the interval
    c2 = torch.baddbmm(bm[:, None, :], c, WmT)
    g2 = c @ dWT + L.db
    mag = c.abs()
    if g is None:
        e2 = torch.zeros_like(c2)
    else:
        g2 = g2 + torch.bmm(g, WmT)
        mag = mag + rr * g.abs() + e
        e2 = rr**2 * (g.abs() @ L.dW.abs().T) + torch.bmm(e, A.transpose(1, 2))
    # rounding: gamma_k of every dot product and of forming W_m; and fl(b - a) =
    # (b - a)(1 + delta), |delta| <= u, so the true weights differ by at most u |dW|
    gam = _gamma(L.Wa.shape[1])
    R = gam * A + _U * L.dW.abs()
    bias = gam * (L.ba.abs() + L.db.abs()) + _U * L.db.abs()  # |b_m| <= |b_a| + |db|
    e2 = e2 + torch.bmm(mag, R.transpose(1, 2)) + bias
    return c2, g2, e2


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

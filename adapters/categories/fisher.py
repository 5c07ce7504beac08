"""Param enriched by the Fisher metric (Def 8.1): the length and energy of a path of
parameters under the Fisher information metric of a classifier's predictive distribution.

For a model with logits ``f_theta(x)`` and predictive distribution
``p(. | x, theta) = softmax(f_theta(x))``, the Fisher information metric on inputs ``X`` is

    g_theta(v, v) = mean_x  sum_c p_c (u_c - ubar)^2,   u = J_theta f_theta(x) v,
                                                         ubar = sum_c p_c u_c,

the expected squared norm of the Jacobian-vector product ``u`` in the natural metric of
the categorical distribution (its covariance ``diag(p) - p p^T``). It is computed matrix
free, one ``torch.func.jvp`` per point and direction; no Fisher matrix is formed. A path
``gamma`` of Param has

    length(gamma) = integral_0^T sqrt(g_gamma(t)(gamma'(t), gamma'(t))) dt,
    energy(gamma) = integral_0^T g_gamma(t)(gamma'(t), gamma'(t)) dt.

The length is additive under composition, zero on identities, invariant under
reparametrization, and invariant under every change of parameters that leaves the
network's function unchanged (hidden-unit permutations, the rescaling symmetry of ReLU
units), since ``g`` only sees the function; the Euclidean length (:class:`EuclideanMetric`)
is invariant under the permutations but not under the rescalings. See ``docs/theory.md``, "Def 8.1".
"""

from __future__ import annotations

import copy
import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from adapters.nets.params import BufferPolicy, ParamSpace
from catcore.equality import Tolerance
from catcore.instances.paths import Path, Paths
from catcore.laws import Equation, Law, RuleSet

#: Relative step of the central difference that gives a path's velocity (exact for paths
#: that are polynomials of degree <= 2 in time on each piece: segments, trajectories,
#: quadratic Bezier curves).
_STEP = 1e-4


class FisherMetric:
    """The Fisher information metric (module docstring) of ``model`` on inputs ``X``, in
    float64. ``X`` may hold integer token ids (kept as they are); outputs ``(N, C)`` or
    ``(N, T, C)`` (the mean runs over every position)."""

    def __init__(self, model: nn.Module, X: Tensor, buffers: BufferPolicy = "refuse") -> None:
        self.model = copy.deepcopy(model).to(torch.float64).eval()
        self.space = ParamSpace(self.model, buffers=buffers)
        self.X = X.to(torch.float64) if X.is_floating_point() else X
        self.evaluations = 0

    @property
    def dim(self) -> int:
        return self.space.n

    def quadratic(self, theta: Any, v: Any) -> float:
        """``g_theta(v, v)``: one Jacobian-vector product of the logits at ``theta``."""
        return float(self.quadratics(np.asarray(theta)[None], np.asarray(v)[None])[0])

    def quadratics(self, thetas: Any, vs: Any) -> np.ndarray:
        """``g_theta_i(v_i, v_i)`` for rows ``theta_i`` of ``thetas`` and ``v_i`` of ``vs``
        (``(P, n)``), the Jacobian-vector products vectorized over the rows. With buffers
        in theta (running statistics of BatchNorm in eval mode, which forward-mode
        differentiation does not reach), each product is a central difference of the
        logits instead, row by row (error ``O(h^2)``, ``h = 1e-5 (1 + |theta|)``)."""
        thetas, vs = self._rows(thetas), self._rows(vs)
        self.evaluations += len(thetas)
        if self.space.buffer_names:
            rows = zip(thetas, vs)
            return np.array([float(self._form(*self._difference(t, v))) for t, v in rows])

        def form(theta: Tensor, v: Tensor) -> Tensor:
            return self._form(*torch.func.jvp(self._logits, (theta,), (v,)))

        return torch.func.vmap(form)(thetas, vs).detach().numpy()

    def _logits(self, vec: Tensor) -> Tensor:
        return self.space.functional(self.model, vec, self.X)

    def _difference(self, theta: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        norm = float(v.norm())
        if norm == 0:
            z = self._logits(theta)
            return z, torch.zeros_like(z)
        h = 1e-5 * (1.0 + float(theta.norm())) / norm
        with torch.no_grad():
            ahead, behind = self._logits(theta + h * v), self._logits(theta - h * v)
            return self._logits(theta), (ahead - behind) / (2 * h)

    @staticmethod
    def _form(z: Tensor, u: Tensor) -> Tensor:
        """``mean_x sum_c p_c (u_c - ubar)^2`` for logits ``z`` and tangents ``u``."""
        p = torch.softmax(z, dim=-1)
        ubar = (p * u).sum(dim=-1, keepdim=True)
        return (p * (u - ubar) ** 2).sum(dim=-1).mean()

    def _rows(self, x: Any) -> Tensor:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        if t.ndim != 2 or t.shape[1] != self.dim:
            raise ValueError(f"expected rows of {self.dim} parameters, got {tuple(t.shape)}")
        return t


@dataclass(frozen=True)
class FisherLength:
    """Length and energy of a path under a metric, with the quadrature's own error
    estimate (``error``: the sum over intervals of the difference between a rule and the
    sum of the rules on its halves), whether it met the tolerance (``converged``) and how
    many metric evaluations were spent (``nodes``)."""

    length: float
    energy: float
    error: float
    converged: bool
    nodes: int


def fisher_length(
    path: Path, metric: FisherMetric, tol: float = 1e-8, max_nodes: int = 50_000
) -> FisherLength:
    """Length and energy of ``path`` (a catcore :class:`Path` of Param) under ``metric``.

    Globally adaptive quadrature: each smooth piece of the path (between its ``breaks``)
    starts as one interval, integrated by an 8-point Gauss-Legendre rule on it and on its
    two halves (their difference is the interval's error estimate); the interval with the
    largest error is split until the summed error is at most ``tol`` times
    ``max(1, length)`` or ``max_nodes`` metric evaluations are spent. Bisection isolates
    the kinks a ReLU network puts into the integrand, where a rule of rising order would
    stall. A result that misses the tolerance says so (``converged=False``), with its
    error estimate. The velocity is a central difference of the path in time (a
    ``_STEP`` of the piece), exact on pieces that are polynomials of degree at most 2."""
    if path.duration == 0:
        return FisherLength(0.0, 0.0, 0.0, True, 0)
    cuts = np.concatenate([[0.0], path.breaks, [1.0]])
    counter = [0]
    heap: list[tuple[float, int, _Interval]] = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        piece = (float(a), float(b))
        whole = _rule(path, metric, piece, piece, counter)
        _push(heap, _split(path, metric, piece, piece, whole, counter))
    while True:
        length = sum(iv.length for _, _, iv in heap)
        error = sum(iv.error for _, _, iv in heap)
        if error <= tol * max(1.0, length) or counter[0] >= max_nodes:
            break
        _, _, worst = heapq.heappop(heap)
        for half, value in zip(worst.halves(), worst.children):
            _push(heap, _split(path, metric, worst.piece, half, value, counter))
    energy = sum(iv.energy for _, _, iv in heap) / path.duration
    converged = error <= tol * max(1.0, length)
    return FisherLength(length, energy, error, converged, counter[0])


@dataclass(frozen=True)
class _Interval:
    """``[a, b]`` of normalized time inside the smooth ``piece``: the sum of its halves'
    rules (``length``, ``energy``), their rules (``children``) and the error estimate."""

    piece: tuple[float, float]
    a: float
    b: float
    length: float
    energy: float
    error: float
    children: tuple[tuple[float, float], tuple[float, float]]

    def halves(self) -> tuple[tuple[float, float], tuple[float, float]]:
        m = 0.5 * (self.a + self.b)
        return (self.a, m), (m, self.b)


def _push(heap: list, iv: _Interval) -> None:
    heapq.heappush(heap, (-iv.error, id(iv), iv))


def _split(path: Path, metric: FisherMetric, piece: tuple[float, float],
           ab: tuple[float, float], whole: tuple[float, float],
           counter: list[int]) -> _Interval:  # fmt: skip
    a, b = ab
    m = 0.5 * (a + b)
    left = _rule(path, metric, piece, (a, m), counter)
    right = _rule(path, metric, piece, (m, b), counter)
    length, energy = left[0] + right[0], left[1] + right[1]
    return _Interval(piece, a, b, length, energy, abs(whole[0] - length), (left, right))


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)


def _rule(path: Path, metric: FisherMetric, piece: tuple[float, float],
          ab: tuple[float, float], counter: list[int]) -> tuple[float, float]:  # fmt: skip
    """8-point Gauss-Legendre ``(integral of sqrt(q), integral of q)`` on ``ab``."""
    (pa, pb), (a, b) = piece, ab
    s = a + (b - a) * (_NODES + 1.0) / 2.0
    w = _WEIGHTS * (b - a) / 2.0
    h = np.minimum(_STEP * (pb - pa), 0.5 * np.minimum(s - pa, pb - s))
    ahead, behind = path.normalized(s + h), path.normalized(s - h)
    q = metric.quadratics(path.normalized(s), (ahead - behind) / (2.0 * h[:, None]))
    counter[0] += len(s)
    q = np.clip(q, 0.0, None)  # a Fisher form is positive semidefinite; rounding is not
    return float(w @ np.sqrt(q)), float(w @ q)


class EuclideanMetric:
    """The Euclidean metric ``g(v, v) = |v|^2`` on ``R^dim``, in the interface of
    :class:`FisherMetric`: the comparison for Fisher lengths (``fisher_length`` with it is
    the Euclidean length) and the control that :func:`enrichment_laws` must reject."""

    def __init__(self, dim: int) -> None:
        self.dim, self.evaluations = dim, 0

    def quadratics(self, thetas: Any, vs: Any) -> np.ndarray:
        self.evaluations += len(vs)
        return (np.asarray(vs, dtype=np.float64) ** 2).sum(axis=1)


def enrichment_laws(metric: Any, tol: float = 1e-6) -> RuleSet:
    """Def 8.1's laws as a catcore :class:`RuleSet` on ``metric`` (anything with
    ``quadratics``), lengths compared to ``100 * tol`` relative:

    - ``additive`` (examples ``"composable"``: ``(f, g)`` with ``f.cod == g.dom``):
      ``length(f ; g) = length(f) + length(g)``;
    - ``identity`` (``"object"``: a point ``x``): ``length(id_x) = 0``;
    - ``reparametrization`` (``"arrow"``: ``f``): ``length(s -> f(s^2)) = length(f)``;
    - ``symmetry`` (``"symmetric pair"``: ``(f, g)``, ``g`` the image of ``f`` under a change
      of parameters that keeps the network's function, e.g. a hidden-unit permutation or a
      ReLU rescaling): ``length(g) = length(f)``.

    The Euclidean metric passes the first three and fails ``symmetry`` on rescalings."""

    def length(f: Path) -> float:
        r = fisher_length(f, metric, tol=tol)
        return r.length if r.converged else math.nan  # an unconverged length proves nothing

    def additive(fg: tuple[Path, Path]) -> Equation:
        f, g = fg
        return Equation(length(f.category.compose(f, g)), length(f) + length(g), "additive")

    def identity(x: Any) -> Equation:
        return Equation(fisher_length(Paths(len(x)).identity(x), metric).length, 0.0, "identity")

    def reparametrization(f: Path) -> Equation:
        return Equation(length(f.category.reparametrize(f, lambda s: s**2)), length(f))

    def symmetry(fg: tuple[Path, Path]) -> Equation:
        return Equation(length(fg[1]), length(fg[0]), "symmetry")

    return RuleSet(
        "fisher enrichment (Def 8.1)",
        (Law("additive", "composable", additive), Law("identity", "object", identity),
         Law("reparametrization", "arrow", reparametrization),
         Law("symmetry", "symmetric pair", symmetry)),
        equality=Tolerance(rtol=100 * tol, atol=100 * tol),
    )  # fmt: skip

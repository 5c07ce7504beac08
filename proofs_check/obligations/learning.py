"""Obligations about the learning functor, Rep, barriers and Thm 5.3 (symbolic).

Networks are linear (``phi_theta(x) = W(theta) x``, possibly with two layers and biases) with
symbolic weights, paths are arbitrary functions of time (undefined sympy functions), so the
statements are proved for every path. See ``docs/theory.md``, "Thm 2.6", "Def 2.4",
"Loss barriers" and "Thm 5.3".
"""

from __future__ import annotations

import sympy

from proofs_check.obligations.paths import HALF
from proofs_check.registry import Outcome, obligation
from proofs_check.symbolic import is_zero, moore_concat, regionwise_mismatches

t = sympy.Symbol("t", real=True)


def _two_layer_linear(theta):
    """phi_theta(x) = W2 (W1 x + b1) for theta = (W1 (2x2), b1 (2), W2 (1x2)); x symbolic."""
    x = sympy.Matrix(sympy.symbols("x1 x2", real=True))
    W1 = sympy.Matrix(2, 2, theta[:4])
    b1 = sympy.Matrix(theta[4:6])
    W2 = sympy.Matrix(1, 2, theta[6:8])
    return W2 * (W1 * x + b1)


@obligation(
    "functor.linear.identity-and-composition",
    "Thm 2.6 for a two-layer linear network phi_theta(x) = W2 (W1 x + b1) with symbolic x: "
    "L(id_theta) = id_{phi_theta} and L(g1 ; g2) = L(g1) ; L(g2) for arbitrary Moore paths "
    "g1, g2 in parameter space (L(g)(t) = phi_{g(t)}).",
    "symbolic",
    "thm-2-6",
)
def linear_functor_laws() -> Outcome:
    n = 8
    g1 = [sympy.Function(f"g1_{i}") for i in range(n)]
    T1, T2 = sympy.symbols("T_1 T_2", positive=True)
    theta0 = [g(T1) for g in g1]
    g2 = [sympy.Function(f"g2_{i}") for i in range(n)]

    def L(path):  # the representation path t -> phi_{path(t)}
        return lambda x: _two_layer_linear([p(x) for p in path])[0]

    # composable: g2 starts where g1 ends (g2_i(0) = g1_i(T1))
    fix = {g2[i](0): theta0[i] for i in range(n)}
    concat = [moore_concat(g1[i], T1, g2[i]) for i in range(n)]
    lhs = L(concat)(t).xreplace(fix)
    rhs = moore_concat(L(g1), T1, L(g2))(t).xreplace(fix)
    bad = regionwise_mismatches(lhs, rhs, t, [0, T1, T1 + T2])
    if bad:
        where, a, b = bad[0]
        return Outcome.fail({"where": where, "lhs": str(a), "rhs": str(b)}, "composition fails")
    # identity: the constant path of duration 0 at theta maps to the constant representation
    theta = sympy.symbols("th0:8", real=True)
    const = [lambda x, v=v: v for v in theta]
    ident = L(const)(t) - _two_layer_linear(list(theta))[0]
    if not is_zero(ident):
        return Outcome.fail({"L(id) - id": str(ident)}, "identity fails")
    return Outcome.ok(
        "L(g1;g2) = L(g1);L(g2) on (0,T1), (T1,T1+T2) and the breakpoints, for "
        "arbitrary g1, g2 (8 parameters); L(id_theta) is constant at phi_theta"
    )


@obligation(
    "functor.needs-function-of-theta",
    "Thm 2.6 needs phi_theta to be a function of theta: a BatchNorm layer in train mode maps the "
    "same input at the same theta to different outputs depending on the rest of the batch.",
    "symbolic",
    "thm-2-6",
)
def batchnorm_counterexample() -> Outcome:
    x1, x2, x3, x4 = sympy.symbols("x1:5", real=True)
    gam, beta = sympy.symbols("gamma beta", real=True)

    def bn_first(batch):  # train-mode BatchNorm output of the first sample (eps = 0)
        mu = sum(batch) / len(batch)
        var = sum((b - mu) ** 2 for b in batch) / len(batch)
        return gam * (batch[0] - mu) / sympy.sqrt(var) + beta

    vals = {x1: 0, x2: 1, x3: 2, x4: 5, gam: 1, beta: 0}
    a = bn_first([x1, x2, x3]).subs(vals)
    b = bn_first([x1, x2, x4]).subs(vals)
    if a == b:
        return Outcome.fail(
            {"batch [0,1,2]": str(a), "batch [0,1,5]": str(b)}, "expected different outputs"
        )
    return Outcome.ok(
        f"input x=0 at the same (gamma, beta) = (1, 0): output {a} in batch "
        f"[0, 1, 2], {b} in batch [0, 1, 5]: phi is not a function of theta"
    )


def _rotation(angle):
    c, s_ = sympy.cos(angle), sympy.sin(angle)
    return sympy.Matrix([[c, -s_], [s_, c]])


@obligation(
    "rep.def-2-4.isometries",
    "Def 2.4: a deformation psi(t) = R(a(t)) phi1 + b(t) by rotations and translations preserves "
    "every pairwise distance, hence is a Rep morphism for every k; such deformations compose "
    "(R(a) R(b) = R(a + b)); a scaling by c > 1 violates the condition for k in (d, c d].",
    "symbolic",
    "def-2-4",
)
def isometries() -> Outcome:
    ang, ang2 = sympy.symbols("a b", real=True)
    v = sympy.Matrix(sympy.symbols("v1 v2", real=True))  # phi1(x) - phi1(x')
    shift = sympy.Matrix(sympy.symbols("b1 b2", real=True))
    moved = (_rotation(ang) * v + shift) - shift  # psi(t)(x) - psi(t)(x')
    gap = sympy.simplify(moved.dot(moved) - v.dot(v))
    comp = sympy.simplify(_rotation(ang) * _rotation(ang2) - _rotation(ang + ang2))
    if gap != 0 or comp != sympy.zeros(2, 2):
        return Outcome.fail({"|Rv|^2-|v|^2": str(gap), "R(a)R(b)-R(a+b)": str(comp)})
    # scaling: d = |v| = 1, c = 2, k = 3/2: ||phi1 diff|| < k but ||psi diff|| = 2 >= k
    d, c, k = 1, 2, sympy.Rational(3, 2)
    if not (d < k and not c * d < k):
        return Outcome.fail({"d": d, "c": c, "k": k}, "scaling example does not violate Def 2.4")
    return Outcome.ok(
        "|R(a)v|^2 = |v|^2 identically; R(a)R(b) = R(a+b); scaling by 2 breaks "
        "k = 3/2 for a pair at distance 1"
    )


@obligation(
    "barrier.convex-quadratic-nonpositive",
    "For a convex quadratic loss L(th) = 1/2 th^T M^T M th + c^T th + d, the barrier along the "
    "straight path satisfies L(a + t(b-a)) - ((1-t) L(a) + t L(b)) = -t(1-t)/2 |M(b-a)|^2 <= 0 "
    "for t in [0,1] (no barrier inside a convex basin).",
    "symbolic",
    "barrier",
)
def convex_barrier() -> Outcome:
    M = sympy.Matrix(2, 2, sympy.symbols("m0:4", real=True))
    cvec = sympy.Matrix(sympy.symbols("c0:2", real=True))
    d = sympy.Symbol("d", real=True)
    a = sympy.Matrix(sympy.symbols("a0:2", real=True))
    b = sympy.Matrix(sympy.symbols("b0:2", real=True))

    def loss(th):
        return (th.T * M.T * M * th)[0] / 2 + cvec.dot(th) + d

    barrier = loss(a + t * (b - a)) - ((1 - t) * loss(a) + t * loss(b))
    w = M * (b - a)
    closed = -t * (1 - t) / 2 * w.dot(w)
    if not is_zero(sympy.expand(barrier - closed)):
        return Outcome.fail({"barrier - closed form": str(sympy.factor(barrier - closed))})
    # t(1-t) >= 0 on [0,1] and |w|^2 >= 0: substitute t = 1/(1+v), v > 0, and check the sign
    v = sympy.Symbol("v", positive=True)
    factor = sympy.factor((t * (1 - t)).subs(t, 1 / (1 + v)))
    if not factor.is_nonnegative or not w.dot(w).is_nonnegative:
        return Outcome.fail({"t(1-t)": str(factor), "|w|^2": str(w.dot(w))}, "sign not proved")
    return Outcome.ok(
        "barrier(t) = -t(1-t)/2 |M(b-a)|^2 exactly; t(1-t) >= 0 on [0,1], "
        "|M(b-a)|^2 is a sum of squares"
    )


@obligation(
    "thm-5-3.linear-affine",
    "Thm 5.3 for linear networks: along a homotopy H(s,u) between paths g0, g1 from thA to thB "
    "of the hidden representation z_th(x) = W1(th) x + b1(th), z_{H(s,u)} = A(s,u) z_{H(s,0)} "
    "+ c(s,u) with A = W1(H(s,u)) W1(H(s,0))^{-1}, c = b1(H(s,u)) - A b1(H(s,0)), rational "
    "(smooth where det W1(H(s,0)) != 0), A = I and c = 0 at u = 0, s = 0 and s = 1.",
    "symbolic",
    "thm-5-3",
)
def linear_affine_relation() -> Outcome:
    s, u = sympy.symbols("s u", real=True)
    x = sympy.Matrix(sympy.symbols("x1 x2", real=True))
    thA = sympy.symbols("A0:6", real=True)
    thB = sympy.symbols("B0:6", real=True)
    mid0 = sympy.symbols("P0:6", real=True)
    mid1 = sympy.symbols("Q0:6", real=True)

    def quad_path(mid):  # a quadratic Bezier curve from thA to thB through control point mid
        return [(1 - s) ** 2 * a + 2 * s * (1 - s) * m + s**2 * b for a, m, b in zip(thA, mid, thB)]

    g0, g1 = quad_path(mid0), quad_path(mid1)
    H = [(1 - u) * p + u * q for p, q in zip(g0, g1)]

    def rep(th):
        W = sympy.Matrix(2, 2, th[:4])
        return W, sympy.Matrix(th[4:6])

    # A = A_num / det and c = c_num / det. The residual identity, multiplied through by det, is
    # a polynomial identity in the entries of W1, b1 at the two points: check it for generic
    # entries (it then holds at H(s,u), H(s,0) for all s, u), then the boundary values on H.
    Wg, bg = rep(sympy.symbols("w0:6", real=True))
    Wh, bh = rep(sympy.symbols("h0:6", real=True))
    det_g = Wg.det()
    A_g = Wh * Wg.adjugate()
    c_g = bh * det_g - A_g * bg
    resid = det_g * (Wh * x + bh) - (A_g * (Wg * x + bg) + c_g)
    if any(sympy.expand(r) != 0 for r in resid):
        return Outcome.fail({"residual": [str(sympy.factor(r)) for r in resid]})
    W_u, b_u = rep(H)
    W_0, b_0 = rep([h.subs(u, 0) for h in H])
    det = W_0.det()
    A_num = W_u * W_0.adjugate()
    c_num = b_u * det - A_num * b_0
    if sympy.expand(det.subs({s: HALF, **dict.fromkeys(mid0, 1)})) == 0:
        return Outcome.fail({"det W1(H(s,0))": 0}, "A is nowhere defined")
    for where, (var, val) in {"u = 0": (u, 0), "s = 0": (s, 0), "s = 1": (s, 1)}.items():
        d = det.subs(var, val)
        Ab = (A_num.subs(var, val) - d * sympy.eye(2)).applyfunc(sympy.expand)
        cb = c_num.subs(var, val).applyfunc(sympy.expand)
        if Ab != sympy.zeros(2, 2) or cb != sympy.zeros(2, 1):
            return Outcome.fail({"where": where, "det*(A - I)": str(Ab), "det*c": str(cb)})
    return Outcome.ok(
        "z_H(s,u) = A z_H(s,0) + c identically in x; A = I, c = 0 on u = 0 and at "
        "both ends (quadratic Bezier paths, symbolic 6-parameter network)"
    )


@obligation(
    "thm-5-3.relu-counterexample",
    "Thm 5.3 does not hold for ReLU networks as stated: z_w(x) = relu(w x) at w = 1 and w = -1 "
    "(joined by a path, and all paths in R^n with the same ends are homotopic) are not related "
    "by any affine map on the probe set {-1, 0, 1}.",
    "symbolic",
    "thm-5-3",
)
def relu_counterexample() -> Outcome:
    probes = [-1, 0, 1]
    relu = lambda v: sympy.Max(v, 0)  # noqa: E731
    z0 = [relu(1 * p) for p in probes]
    z1 = [relu(-1 * p) for p in probes]
    A, c = sympy.symbols("A c", real=True)
    sol = sympy.linsolve([A * a + c - b for a, b in zip(z0, z1)], [A, c])
    if sol != sympy.EmptySet:
        return Outcome.fail({"affine solution": str(sol)}, "expected no affine relation")
    # linear case for contrast: z = w x gives z1 = -z0, an affine (linear) relation
    lin = sympy.linsolve([A * p + c - (-p) for p in probes], [A, c])
    if lin == sympy.EmptySet:
        return Outcome.fail({"linear": str(lin)}, "linear contrast should be solvable")
    return Outcome.ok(f"relu: z0={z0}, z1={z1}: A z0 + c = z1 has no solution; linear z: {lin}")

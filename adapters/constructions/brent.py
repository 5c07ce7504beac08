"""Brent's method for the maximum of a function of one variable on a bracket (Brent 1973,
``fmin``), used to refine the peaks of a barrier scan
(:mod:`adapters.constructions.barrier_scan`)."""

from __future__ import annotations

import math
from collections.abc import Callable

_GOLD = 0.3819660112501051  # 2 - golden ratio


def brent_max(
    f: Callable[[float], float],
    lo: float,
    hi: float,
    x: float,
    fx: float,
    f_lo: float,
    f_hi: float,
    *,
    tol: float,
    budget: Callable[[], int] = lambda: 10**9,
) -> tuple[float, float]:
    """Maximize ``f`` on ``[lo, hi]`` from the bracket ``lo < x < hi`` with ``f(x)`` at least
    the ends', to absolute tolerance ``tol`` in the argument (Brent 1973, ``fmin``).

    The known end values seed the first parabolic step. Returns ``(x, f(x))``.

    >>> x, fx = brent_max(lambda t: -(t - 0.3) ** 2, 0.0, 1.0, 0.5, -0.04, -0.09, -0.49, tol=1e-8)
    >>> round(x, 6), abs(fx) < 1e-12
    (0.3, True)
    """
    if not lo < x < hi:
        raise ValueError(f"need lo < x < hi, got {lo}, {x}, {hi}")
    a, b = lo, hi
    # minimize q = -f; w, v: second and third best points
    (w, qw), (v, qv) = sorted([(lo, -f_lo), (hi, -f_hi)], key=lambda p: p[1])
    qx = -fx
    d = e = b - a
    while budget() > 0:
        xm = 0.5 * (a + b)
        tol1 = tol
        tol2 = 2.0 * tol1
        if abs(x - xm) <= tol2 - 0.5 * (b - a):
            break
        golden = True
        if abs(e) > tol1:
            r = (x - w) * (qx - qv)
            q = (x - v) * (qx - qw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0:
                p = -p
            q = abs(q)
            etemp, e = e, d
            if abs(p) < abs(0.5 * q * etemp) and q * (a - x) < p < q * (b - x):
                d = p / q
                u = x + d
                if u - a < tol2 or b - u < tol2:
                    d = math.copysign(tol1, xm - x)
                golden = False
        if golden:
            e = (a - x) if x >= xm else (b - x)
            d = _GOLD * e
        u = x + d if abs(d) >= tol1 else x + math.copysign(tol1, d)
        qu = -f(u)
        if qu <= qx:
            if u >= x:
                a = x
            else:
                b = x
            v, qv, w, qw, x, qx = w, qw, x, qx, u, qu
        else:
            if u < x:
                a = u
            else:
                b = u
            if qu <= qw or w == x:
                v, qv, w, qw = w, qw, u, qu
            elif qu <= qv or v == x or v == w:
                v, qv = u, qu
    return x, -qx

"""Exact reasoning about piecewise expressions, for the symbolic obligations.

sympy cannot decide a ``Piecewise`` condition such as ``T_a >= T_a / (v + 1)`` by itself.
:func:`decide` settles a relation when the sign of ``lhs - rhs`` follows from the symbols'
assumptions (after cancelling); :func:`resolve` replaces every decided relation in an
expression. :func:`regionwise_mismatches` compares two piecewise functions of one variable on
an interval split at given breakpoints: on each open region it substitutes
``lo + (hi - lo) / (1 + v)`` with ``v > 0`` (a generic interior point, so a decided condition
is decided for the whole region) and at each breakpoint the breakpoint itself. A region whose
conditions cannot be decided is reported as a mismatch, never assumed to agree.

It also holds the two path concatenations the theory compares (``docs/theory.md``,
"Moore paths" and "Paths on [0, 1]"), written exactly as the code computes them.

>>> t = sympy.Symbol("t", real=True)
>>> T = sympy.Symbol("T", positive=True)
>>> f = sympy.Function("f")
>>> regionwise_mismatches(moore_concat(f, T, lambda x: f(x + T))(t), f(t), t, [0, T, 2 * T])
[]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy
from sympy.core.relational import Relational

Expr = sympy.Expr
PathFn = Callable[[Expr], Expr]

_GE = (sympy.GreaterThan, sympy.StrictGreaterThan)
_LE = (sympy.LessThan, sympy.StrictLessThan)
_STRICT = (sympy.StrictGreaterThan, sympy.StrictLessThan)


def decide(rel: Relational) -> bool | None:
    """Truth value of ``rel`` for every value of its symbols allowed by their assumptions,
    or ``None`` when the sign of ``lhs - rhs`` does not follow from them."""
    if isinstance(rel, sympy.Eq | sympy.Ne):
        diff = sympy.simplify(rel.lhs - rel.rhs)
        if diff.is_zero is None:
            return None
        return bool(diff.is_zero) == isinstance(rel, sympy.Eq)
    if not isinstance(rel, _GE + _LE):
        return None
    diff = sympy.factor(sympy.cancel(rel.lhs - rel.rhs))
    sign = diff if isinstance(rel, _GE) else -diff
    strict = isinstance(rel, _STRICT)
    if sign.is_positive or (not strict and sign.is_nonnegative):
        return True
    if sign.is_negative or (strict and sign.is_nonpositive):
        return False
    return None


def resolve(expr: Expr) -> Expr:
    """``expr`` with every decidable relation replaced by its truth value."""
    while True:
        decided = {}
        for rel in expr.atoms(Relational):
            value = decide(rel)
            if value is not None:
                decided[rel] = sympy.true if value else sympy.false
        if not decided:
            return expr
        expr = expr.xreplace(decided)


def interior(lo: Expr, hi: Expr, v: sympy.Symbol) -> Expr:
    """A generic point of the open interval ``(lo, hi)`` (``v > 0`` free)."""
    return lo + (hi - lo) / (1 + v)


def is_zero(expr: Expr) -> bool:
    """Whether ``expr`` simplifies to 0."""
    return sympy.simplify(sympy.cancel(expr)) == 0


def regionwise_mismatches(
    lhs: Expr, rhs: Expr, var: sympy.Symbol, breakpoints: Sequence[Expr], tag: str = "v"
) -> list[tuple[str, Expr, Expr]]:
    """Where ``lhs`` and ``rhs`` differ as functions of ``var`` on ``[b_0, b_k]``.

    ``breakpoints`` must be increasing (under the symbols' assumptions) and include every
    point where a condition of either side can change. Returns ``(where, lhs, rhs)`` for
    each region or breakpoint where the resolved sides differ or stay piecewise.
    """
    v = sympy.Symbol(f"{tag}_{var}", positive=True)
    points = [(f"{var} = {b}", b) for b in breakpoints]
    points += [
        (f"{var} in ({lo}, {hi})", interior(lo, hi, v))
        for lo, hi in zip(breakpoints, breakpoints[1:])
    ]
    out = []
    for where, p in points:
        a, b = resolve(sympy.sympify(lhs).subs(var, p)), resolve(sympy.sympify(rhs).subs(var, p))
        if a.has(sympy.Piecewise) or b.has(sympy.Piecewise) or not is_zero(a - b):
            out.append((where, a, b))
    return out


# -- the two concatenations of paths ------------------------------------------------------------
def moore_concat(f: PathFn, duration_f: Expr, g: PathFn) -> PathFn:
    """Moore concatenation ``f ; g`` (``catcore.instances.paths``): ``f(t)`` for
    ``t <= T_f``, else ``g(t - T_f)``; its duration is ``T_f + T_g``."""
    return lambda t: sympy.Piecewise((f(t), t <= duration_f), (g(t - duration_f), True))


def unit_concat(f: PathFn, g: PathFn) -> PathFn:
    """Concatenation of paths on ``[0, 1]``: ``f(2s)`` for ``s <= 1/2``, else ``g(2s - 1)``."""
    half = sympy.Rational(1, 2)
    return lambda s: sympy.Piecewise((f(2 * s), s <= half), (g(2 * s - 1), True))


def piecewise_linear(knots: Sequence[tuple[Expr, Expr]]) -> PathFn:
    """The piecewise-linear function through ``knots`` ``[(x_0, y_0), ...]`` (x increasing)."""

    def fn(x: Expr) -> Expr:
        pieces = []
        for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
            pieces.append((y0 + (y1 - y0) * (x - x0) / (x1 - x0), x <= x1))
        pieces[-1] = (pieces[-1][0], True)
        return sympy.Piecewise(*pieces)

    return fn

"""Obligations about paths and homotopies (Def 2.1, Def 3.1, Def 5.1 of the paper).

Symbolic statements use undefined sympy functions for the paths, so they hold for *every*
path, not for sampled ones; property statements run catcore's law suites on
:class:`catcore.instances.paths.Paths`. See ``docs/theory.md``, "Def 2.1" to "Def 5.1".
"""

from __future__ import annotations

import sympy

from proofs_check.registry import Outcome, obligation
from proofs_check.symbolic import (
    interior,
    is_zero,
    moore_concat,
    piecewise_linear,
    regionwise_mismatches,
    resolve,
    unit_concat,
)

t = sympy.Symbol("t", real=True)
s = sympy.Symbol("s", real=True)
HALF, QUARTER = sympy.Rational(1, 2), sympy.Rational(1, 4)
#: the reparametrization with ((a.b).c)(s) == (a.(b.c))(r(s)) for paths on [0, 1]
R_ASSOC = piecewise_linear([(0, 0), (QUARTER, HALF), (HALF, 3 * QUARTER), (1, 1)])


def mismatch_outcome(mismatches: list, details: str) -> Outcome:
    if mismatches:
        where, lhs, rhs = mismatches[0]
        return Outcome.fail({"where": where, "lhs": str(lhs), "rhs": str(rhs)}, details)
    return Outcome.ok(details)


@obligation(
    "paths.moore.unit",
    "Moore paths: the constant path of duration 0 is a strict left and right unit, "
    "id_{a(0)} ; a = a = a ; id_{a(T)}, for every path a of any duration T > 0.",
    "symbolic",
    "moore-paths",
)
def moore_unit() -> Outcome:
    a = sympy.Function("a")
    T = sympy.Symbol("T", positive=True)
    left = moore_concat(lambda x: a(0), 0, a)(t)
    right = moore_concat(a, T, lambda x: a(T))(t)
    bad = regionwise_mismatches(left, a(t), t, [0, T]) + regionwise_mismatches(
        right, a(t), t, [0, T]
    )
    return mismatch_outcome(bad, "both sides agree on (0, T) and at 0 and T, duration 0 + T = T")


@obligation(
    "paths.moore.associativity",
    "Moore concatenation is strictly associative: (a ; b) ; c = a ; (b ; c) for all paths "
    "a, b, c of durations T_a, T_b, T_c > 0 (durations add).",
    "symbolic",
    "moore-paths",
)
def moore_associativity() -> Outcome:
    a, b, c = (sympy.Function(n) for n in "abc")
    Ta, Tb, Tc = sympy.symbols("T_a T_b T_c", positive=True)
    lhs = moore_concat(moore_concat(a, Ta, b), Ta + Tb, c)(t)
    rhs = moore_concat(a, Ta, moore_concat(b, Tb, c))(t)
    bad = regionwise_mismatches(lhs, rhs, t, [0, Ta, Ta + Tb, Ta + Tb + Tc])
    return mismatch_outcome(
        bad, "equal on the 3 open regions and 4 breakpoints of [0, T_a+T_b+T_c]"
    )


@obligation(
    "paths.unit-interval.associativity-up-to-homotopy",
    "Paths on [0,1] concatenated at s = 1/2 are associative up to the reparametrization "
    "r = PL(0->0, 1/4->1/2, 1/2->3/4, 1->1): ((a.b).c)(s) = (a.(b.c))(r(s)), and "
    "K(s,u) = (a.(b.c))((1-u) r(s) + u s) is a homotopy (Def 3.1) from (a.b).c to a.(b.c).",
    "symbolic",
    "unit-interval-paths",
)
def unit_interval_associativity() -> Outcome:
    a, b, c = (sympy.Function(n) for n in "abc")
    lhs = unit_concat(unit_concat(a, b), c)(s)
    right = unit_concat(a, unit_concat(b, c))
    breaks = [0, QUARTER, HALF, 3 * QUARTER, 1]
    bad = regionwise_mismatches(lhs, right(R_ASSOC(s)), s, breaks)
    if bad:
        return mismatch_outcome(bad, "((a.b).c)(s) != (a.(b.c))(r(s))")
    u = sympy.Symbol("u", real=True)
    p = (1 - u) * R_ASSOC(s) + u * s  # the homotopy's argument
    w = sympy.Symbol("w", positive=True)
    checks = {
        "p(s,0) = r(s)": regionwise_mismatches(p.subs(u, 0), R_ASSOC(s), s, breaks),
        "p(s,1) = s": regionwise_mismatches(p.subs(u, 1), s, s, breaks),
        "p(0,u) = 0": [] if is_zero(resolve(p.subs(s, 0))) else [("u", p.subs(s, 0), 0)],
        "p(1,u) = 1": [] if is_zero(resolve(p.subs(s, 1)) - 1) else [("u", p.subs(s, 1), 1)],
    }
    # 0 <= p <= 1 for s, u in [0, 1]: p is a convex combination of r(s) and s in [0, 1]
    for lo, hi in zip(breaks, breaks[1:]):
        for pt in (interior(lo, hi, w), lo, hi):
            for uu in (interior(0, 1, sympy.Symbol("z", positive=True)), 0, 1):
                val = resolve(p.subs({s: pt, u: uu}))
                if not (resolve(val >= 0) is sympy.true and resolve(val <= 1) is sympy.true):
                    checks.setdefault("0 <= p <= 1", []).append((f"s={pt}, u={uu}", val, "[0,1]"))
    # r is continuous at its knots (left and right pieces agree), so K is continuous
    for knot in (QUARTER, HALF):
        left = resolve(R_ASSOC(knot - w)).subs(w, 0)
        right_val = resolve(R_ASSOC(knot + w)).subs(w, 0)
        if not is_zero(left - right_val):
            checks.setdefault("r continuous", []).append((f"s={knot}", left, right_val))
    for name, found in checks.items():
        if found:
            return mismatch_outcome(found, f"homotopy condition {name} fails")
    return Outcome.ok(
        "((a.b).c) = (a.(b.c)) o r on 4 regions and 5 breakpoints; K(s,0), K(s,1), K(0,u)=a(0), "
        "K(1,u)=c(1) hold; the argument stays in [0,1]; r is continuous"
    )


@obligation(
    "paths.unit-interval.strict-laws-fail",
    "Paths on [0,1] with concatenation at s = 1/2 do NOT form a category on the nose: "
    "strict associativity and strict unit laws have explicit counterexamples (so the code "
    "uses Moore paths).",
    "symbolic",
    "unit-interval-paths",
)
def unit_interval_not_strict() -> Outcome:
    a = lambda x: x  # noqa: E731  (0 -> 1)
    b = lambda x: 1 + x  # noqa: E731  (1 -> 2)
    c = lambda x: 2 + x  # noqa: E731  (2 -> 3)
    const0 = lambda x: sympy.Integer(0)  # noqa: E731
    at = QUARTER
    assoc = (unit_concat(unit_concat(a, b), c)(at), unit_concat(a, unit_concat(b, c))(at))
    unit = (unit_concat(const0, a)(at), a(at))
    if assoc[0] == assoc[1] or unit[0] == unit[1]:
        return Outcome.fail(
            {"associativity": assoc, "left unit": unit},
            "expected both strict laws to fail at s = 1/4",
        )
    return Outcome.ok(
        f"at s=1/4: ((a.b).c) = {assoc[0]} but (a.(b.c)) = {assoc[1]}; "
        f"(const.a) = {unit[0]} but a = {unit[1]} (a, b, c unit-speed segments 0->1->2->3)"
    )


@obligation(
    "homotopy.straight-line",
    "Def 3.1 in R^n is trivial: for any two paths g0, g1: A -> B (same ends), "
    "H(s,t) = (1-t) g0(s) + t g1(s) satisfies H(s,0)=g0(s), H(s,1)=g1(s), H(0,t)=A, H(1,t)=B.",
    "symbolic",
    "def-3-1",
)
def straight_line_homotopy() -> Outcome:
    A, B = sympy.symbols("A B", real=True)
    p, q = sympy.Function("p"), sympy.Function("q")
    tt = sympy.Symbol("tt", real=True)
    # general paths with the given ends: g(s) = A + s (B - A) + s (1 - s) p(s)
    g0 = A + s * (B - A) + s * (1 - s) * p(s)
    g1 = A + s * (B - A) + s * (1 - s) * q(s)
    H = (1 - tt) * g0 + tt * g1
    conds = {
        "H(s,0) = g0(s)": H.subs(tt, 0) - g0,
        "H(s,1) = g1(s)": H.subs(tt, 1) - g1,
        "H(0,t) = A": H.subs(s, 0) - A,
        "H(1,t) = B": H.subs(s, 1) - B,
    }
    bad = {k: str(sympy.simplify(v)) for k, v in conds.items() if not is_zero(v)}
    if bad:
        return Outcome.fail(bad, "boundary conditions violated")
    return Outcome.ok("all four boundary conditions hold identically (p, q arbitrary functions)")

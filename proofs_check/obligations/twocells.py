"""Obligations about the 2-cells of the path category: composites of homotopies, the
interchange law, horizontal associativity and unit laws (``docs/theory.md``, Def 3.1 and
Def 5.1). Symbolic statements use undefined sympy functions, so they hold for every
homotopy; property statements run catcore's 2-cell suite on
:class:`catcore.instances.paths.Paths`."""

from __future__ import annotations

import numpy as np
import sympy
from hypothesis import strategies as st

from proofs_check.obligations.paths import HALF, QUARTER, R_ASSOC, mismatch_outcome, s, t
from proofs_check.registry import Outcome, obligation
from proofs_check.symbolic import (
    interior,
    is_zero,
    moore_concat,
    piecewise_linear,
    regionwise_mismatches,
    resolve,
)


# -- 2-cells: homotopies of Moore paths, with catcore's composition formulas -------------------
def _duration(name: str):
    d0, d1 = sympy.symbols(f"{name}_0 {name}_1", positive=True)
    return lambda x: (1 - x) * d0 + x * d1


def _cell(name: str):
    """A homotopy as (fn(s, t), duration(t)) with an arbitrary function of (s, t)."""
    return sympy.Function(name), _duration(f"T{name}")


def _vcompose(alpha, beta):
    """catcore ``Paths._vcompose``: alpha at 2t for t <= 1/2, beta at 2t - 1 after."""
    (fa, da), (fb, db) = alpha, beta
    return (
        lambda x, y: sympy.Piecewise((fa(x, 2 * y), y <= HALF), (fb(x, 2 * y - 1), True)),
        lambda y: sympy.Piecewise((da(2 * y), y <= HALF), (db(2 * y - 1), True)),
    )


def _hcompose(alpha, gamma):
    """catcore ``Paths._hcompose``: at each t, Moore concatenation in normalized time."""
    (fa, da), (fc, dc) = alpha, gamma

    def fn(x, y):
        a, b = da(y), dc(y)
        tau = x * (a + b)
        return sympy.Piecewise((fa(tau / a, y), tau <= a), (fc((tau - a) / b, y), True))

    return fn, lambda y: da(y) + dc(y)


@obligation(
    "twocell.interchange",
    "Homotopies of Moore paths satisfy the interchange law strictly: "
    "(a;b) * (c;d) = (a*c) ; (b*d) for vertical ; and horizontal * composition "
    "(catcore's formulas), for arbitrary homotopy maps and positive linear durations.",
    "symbolic",
    "def-5-1",
)
def interchange() -> Outcome:
    a, b, c, d = (_cell(n) for n in ("alpha", "beta", "gamma", "delta"))
    lhs_fn, lhs_T = _hcompose(_vcompose(a, b), _vcompose(c, d))
    rhs_fn, rhs_T = _vcompose(_hcompose(a, c), _hcompose(b, d))
    bad = regionwise_mismatches(lhs_T(t), rhs_T(t), t, [0, HALF, 1], tag="T")
    if bad:
        return mismatch_outcome(bad, "durations differ")
    v = sympy.Symbol("v_t", positive=True)
    for where_t, tv in [
        ("t<1/2", interior(0, HALF, v)),
        ("t>1/2", interior(HALF, 1, v)),
        ("t=0", 0),
        ("t=1/2", HALF),
        ("t=1", 1),
    ]:
        first, second = (a, c) if resolve(sympy.sympify(tv) <= HALF) is sympy.true else (b, d)
        # the seam in s where the first homotopy hands over, at this t
        arg = 2 * tv if first is a else 2 * tv - 1
        da, dc = first[1](arg), second[1](arg)
        seam = sympy.cancel(da / (da + dc))
        found = regionwise_mismatches(lhs_fn(s, tv), rhs_fn(s, tv), s, [0, seam, 1], tag="s")
        if found:
            w, x, y = found[0]
            return Outcome.fail({"where": f"{where_t}, {w}", "lhs": str(x), "rhs": str(y)})
    return Outcome.ok(
        "maps agree on every region of (s, t) split at t = 1/2 and at the seam; durations agree"
    )


@obligation(
    "twocell.horizontal-associativity",
    "Horizontal composition of homotopies of Moore paths is strictly associative: "
    "(a*b)*c = a*(b*c) (catcore's formula: at each t, concatenation in normalized time with "
    "durations adding), for arbitrary homotopy maps and positive linear durations.",
    "symbolic",
    "def-5-1",
)
def horizontal_associativity() -> Outcome:
    a, b, c = (_cell(n) for n in ("alpha", "beta", "gamma"))
    l_fn, l_T = _hcompose(_hcompose(a, b), c)
    r_fn, r_T = _hcompose(a, _hcompose(b, c))
    if not is_zero(l_T(t) - r_T(t)):
        return Outcome.fail({"durations": (str(l_T(t)), str(r_T(t)))})
    v = sympy.Symbol("v_t", positive=True)
    for where_t, tv in [("0<t<1", interior(0, 1, v)), ("t=0", 0), ("t=1", 1)]:
        da, db, dc = a[1](tv), b[1](tv), c[1](tv)
        total = da + db + dc
        seams = [0, sympy.cancel(da / total), sympy.cancel((da + db) / total), 1]
        found = regionwise_mismatches(l_fn(s, tv), r_fn(s, tv), s, seams, tag="s")
        if found:
            w, x, y = found[0]
            return Outcome.fail({"where": f"{where_t}, {w}", "lhs": str(x), "rhs": str(y)})
    return Outcome.ok(
        "maps agree on the three pieces and the seams for 0 < t < 1, t = 0, t = 1; durations agree"
    )


def _homotopy_between(f, g, name: str):
    """An arbitrary homotopy f => g: (1-t) f + t g + s(1-s) t(1-t) P(s,t) (ends fixed)."""
    P = sympy.Function(f"P_{name}")
    return lambda x, y: (1 - y) * f(x) + y * g(x) + x * (1 - x) * y * (1 - y) * P(x, y)


def _path(A, B, name: str):
    F = sympy.Function(f"F_{name}")
    return lambda x: A + x * (B - A) + x * (1 - x) * F(x)


@obligation(
    "twocell.horizontal-composite-is-homotopy",
    "The horizontal composite a*c of homotopies a: f=>g (A->B) and c: f'=>g' (B->C) is a "
    "homotopy f;f' => g;g' (Def 3.1 boundary conditions, in normalized time, durations adding).",
    "symbolic",
    "def-5-1",
)
def horizontal_is_homotopy() -> Outcome:
    A, B, C = sympy.symbols("A B C", real=True)
    f, g, f2, g2 = _path(A, B, "f"), _path(A, B, "g"), _path(B, C, "f2"), _path(B, C, "g2")
    Tf, Tg, Tf2, Tg2 = sympy.symbols("T_f T_g T_f2 T_g2", positive=True)
    alpha = (_homotopy_between(f, g, "a"), lambda y: (1 - y) * Tf + y * Tg)
    gamma = (_homotopy_between(f2, g2, "c"), lambda y: (1 - y) * Tf2 + y * Tg2)
    H, T = _hcompose(alpha, gamma)
    # the composite paths in normalized time: Moore concatenation, then s -> s * duration
    src = lambda x: moore_concat(lambda u: f(u / Tf), Tf, lambda u: f2(u / Tf2))(x * (Tf + Tf2))  # noqa: E731
    tgt = lambda x: moore_concat(lambda u: g(u / Tg), Tg, lambda u: g2(u / Tg2))(x * (Tg + Tg2))  # noqa: E731
    tt = sympy.Symbol("tt", real=True)
    checks = {
        "H(s,0) = f;f'": regionwise_mismatches(H(s, 0), src(s), s, [0, Tf / (Tf + Tf2), 1]),
        "H(s,1) = g;g'": regionwise_mismatches(H(s, 1), tgt(s), s, [0, Tg / (Tg + Tg2), 1]),
        "H(0,t) = A": regionwise_mismatches(H(0, tt), A, tt, [0, 1]),
        "H(1,t) = C": regionwise_mismatches(H(1, tt), C, tt, [0, 1]),
    }
    dur = [(T(0) - (Tf + Tf2)), (T(1) - (Tg + Tg2))]
    if not all(is_zero(x) for x in dur):
        return Outcome.fail({"duration": [str(x) for x in dur]}, "durations do not add")
    # continuity across the seam: a(1, t) = B = c(0, t)
    seam = sympy.simplify(alpha[0](1, tt) - gamma[0](0, tt))
    if seam != 0:
        return Outcome.fail({"seam": str(seam)}, "the two halves do not meet")
    for name, found in checks.items():
        if found:
            return mismatch_outcome(found, f"boundary condition {name} fails")
    return Outcome.ok(
        "H(s,0), H(s,1) are the Moore composites f;f', g;g' in normalized time; "
        "ends fixed; halves meet at B; durations add"
    )


@obligation(
    "twocell.vertical-up-to-reparametrization",
    "Vertical composition of homotopies (split at t = 1/2) is unital and associative only up to "
    "reparametrization of t: (id;a)(s,t) = a(s, rho(t)) with rho = PL(0->0, 1/2->0, 1->1), and "
    "((a;b);c)(s,t) = (a;(b;c))(s, r(t)) with r as for paths on [0,1].",
    "symbolic",
    "def-5-1",
)
def vertical_up_to_reparam() -> Outcome:
    A, B = sympy.symbols("A B", real=True)
    f, g = _path(A, B, "f"), _path(A, B, "g")
    alpha = (_homotopy_between(f, g, "a"), _duration("Ta"))
    ident = (lambda x, y: f(x), lambda y: alpha[1](0))
    rho = piecewise_linear([(0, 0), (HALF, 0), (1, 1)])
    unit_fn, unit_T = _vcompose(ident, alpha)
    found = regionwise_mismatches(unit_fn(s, t), alpha[0](s, rho(t)), t, [0, HALF, 1])
    found += regionwise_mismatches(unit_T(t), alpha[1](rho(t)), t, [0, HALF, 1])
    if found:
        return mismatch_outcome(found, "left unit up to rho fails")
    a, b, c = (_cell(n) for n in ("alpha", "beta", "gamma"))
    l_fn, l_T = _vcompose(_vcompose(a, b), c)
    r_fn, r_T = _vcompose(a, _vcompose(b, c))
    breaks = [0, QUARTER, HALF, 3 * QUARTER, 1]
    found = regionwise_mismatches(l_fn(s, t), r_fn(s, R_ASSOC(t)), t, breaks)
    found += regionwise_mismatches(l_T(t), r_T(R_ASSOC(t)), t, breaks)
    return mismatch_outcome(
        found,
        "id;a = a o rho and (a;b);c = (a;(b;c)) o r exactly "
        "(maps and durations); strictly they differ",
    )


# -- property checks of catcore's Paths -------------------------------------------------------
def _paths_strategies(P):
    coord = st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 3))
    point = st.lists(coord, min_size=P.dim, max_size=P.dim).map(np.array)

    def path_from(x):
        knots = st.lists(point, min_size=0, max_size=3)
        durs = st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=3, max_size=3)
        return st.tuples(knots, durs).map(
            lambda kd: (
                P.through([x, *kd[0]], np.cumsum([0.0, *kd[1][: len(kd[0])]]))
                if kd[0]
                else P.identity(x)
            )
        )

    return point, path_from


@obligation(
    "suites.paths.category-and-interchange",
    "catcore's Paths(R^2) passes the category laws (Moore concatenation) and the interchange "
    "law of its 2-cells on random piecewise-linear paths and straight-line homotopies.",
    "property",
    "def-5-1",
)
def paths_suites() -> Outcome:
    from catcore.instances import Paths
    from catcore.laws import RuleSet, check
    from catcore.suites import category_gens, category_laws, twocell_laws
    from proofs_check.obligations.common import report_outcome

    P = Paths(2, atol=1e-9, grid_size=17)
    point, path_from = _paths_strategies(P)
    gens = category_gens(point, arrows_from=path_from)
    cat = check(category_laws(P), gens, P.equality, max_examples=30)
    if not cat.ok:
        return report_outcome(cat)

    def square(x):  # two parallel pairs of paths A -> B -> C, and the four straight homotopies
        return st.tuples(point, point).flatmap(
            lambda bc: st.tuples(*(st.lists(point, max_size=1) for _ in range(6))).map(
                lambda mids: _interchange_cells(P, x, bc[0], bc[1], mids)
            )
        )

    inter = [law for law in twocell_laws(P).laws if law.name == "interchange"]
    rep = check(
        RuleSet("interchange", tuple(inter)),
        {"interchange": point.flatmap(square)},
        P.equality,
        max_examples=15,
    )
    if not rep.ok:
        return report_outcome(rep)
    return Outcome.ok(cat.summary().replace("\n", "; ") + "; " + rep.summary().replace("\n", "; "))


def _interchange_cells(P, a, b, c, mids):
    def path(x, y, mid):
        return P.through([x, *mid, y], np.arange(len(mid) + 2, dtype=float))

    f, g, h = (path(a, b, m) for m in mids[:3])
    f2, g2, h2 = (path(b, c, m) for m in mids[3:])
    return P.straight(f, g), P.straight(g, h), P.straight(f2, g2), P.straight(g2, h2)


@obligation(
    "suites.paths.vertical-up-to-reparametrization",
    "catcore's vertical composite id;a of a homotopy a equals a reparametrized by rho (and "
    "differs from a itself), on random piecewise-linear homotopies.",
    "property",
    "def-5-1",
)
def paths_vertical_property() -> Outcome:
    from hypothesis import given

    from catcore.instances import Paths

    P = Paths(2, grid_size=17)
    point, _ = _paths_strategies(P)
    grid = P.grid
    witnesses: list = []

    @given(point, point, point, point)
    def prop(a, b, m1, m2):
        f = P.through([a, m1, b], [0.0, 1.0, 2.0])
        g = P.through([a, m2, b], [0.0, 1.0, 3.0])
        alpha = P.straight(f, g)
        unit = P.id2(f).vthen(alpha)
        for tt in grid:
            rho = 0.0 if tt <= 0.5 else 2 * tt - 1
            np.testing.assert_allclose(unit.at(grid, tt), alpha.at(grid, rho), atol=1e-9)
            assert abs(unit.duration(tt) - alpha.duration(rho)) <= 1e-9
        if not P.equality(unit, alpha):
            witnesses.append(1)

    try:
        prop()
    except AssertionError as exc:
        return Outcome.fail(str(exc).splitlines()[-1], "id;a differs from a o rho")
    if not witnesses:
        return Outcome.fail(None, "strict unit law never failed: the check would be vacuous")
    return Outcome.ok(f"id;a == a o rho on every example; strict id;a != a on {len(witnesses)}")

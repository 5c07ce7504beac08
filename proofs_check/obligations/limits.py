"""Obligations about limits (Def 4.1, Def 7.1/7.2): pullbacks, products, equalizers and their
universal property in FinSet, Vect over Q and posets, and the limit-preservation probe.

Exhaustive checks enumerate every function between small sets and count commuting maps by
brute force, independently of catcore's tuple construction. See ``docs/theory.md``, "Limits".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import sympy

from proofs_check.registry import Outcome, obligation


def finsets(max_size: int) -> list:
    from catcore.instances import FinSet

    return [FinSet.object(range(n)) for n in range(max_size + 1)]


def maps(A, B) -> Iterator:
    """Every function ``A -> B`` as a catcore FinFunction."""
    from catcore.instances import FinSet

    elems = list(A)
    for values in itertools.product(list(B), repeat=len(elems)):
        yield FinSet.morphism(A, B, dict(zip(elems, values)))


def _count_mediators(X, apex, legs, cone) -> list:
    """All maps ``X -> apex`` whose composites with ``legs`` are the ``cone`` legs."""
    return [u for u in maps(X, apex) if all((u >> p) == q for p, q in zip(legs, cone))]


def _check_universal(lim_universal, X, apex, legs, cone, where) -> dict | None:
    found = _count_mediators(X, apex, legs, cone)
    if len(found) != 1:
        return {"where": where, "cone": repr(cone), "commuting maps": len(found)}
    u = lim_universal(*cone)
    if u != found[0]:
        return {"where": where, "universal": repr(u), "brute force": repr(found[0])}
    return None


@obligation(
    "limits.finset.products",
    "FinSet: the product A x B has |A| |B| elements and, for every X and every pair "
    "q1: X -> A, q2: X -> B, exactly one map X -> A x B commutes with the projections "
    "(the one catcore's universal returns); the terminal object has one element and one map "
    "from each X. All sets of size <= 3 (cones from X of size <= 2).",
    "exhaustive",
    "limits-finset",
)
def finset_products() -> Outcome:
    from catcore.instances import FinSet
    from catcore.limits import product, terminal

    n = 0
    for A, B in itertools.product(finsets(3), repeat=2):
        P = product(FinSet, [A, B])
        if len(P.apex) != len(A) * len(B):
            return Outcome.fail({"A": len(A), "B": len(B), "apex": len(P.apex)})
        if max(len(A), len(B)) > 2:
            continue
        for X in finsets(2):
            for q1, q2 in itertools.product(list(maps(X, A)), list(maps(X, B))):
                bad = _check_universal(P.universal, X, P.apex, P.legs, (q1, q2), (len(A), len(B)))
                if bad:
                    return Outcome.fail(bad)
                n += 1
    one = terminal(FinSet)
    if len(one.apex) != 1:
        return Outcome.fail({"terminal": repr(one.apex)})
    for X in finsets(3):
        if len(list(maps(X, one.apex))) != 1:
            return Outcome.fail({"maps to terminal from": len(X)})
    return Outcome.ok(f"16 products counted; {n} cones, each with exactly one mediating map")


@obligation(
    "limits.finset.pullbacks",
    "FinSet: the pullback of f: A -> C <- B :g has #{(a, b) | f a = g b} elements (brute-force "
    "count), for all cospans of sets of size <= 3; for sizes <= 2 every commuting cone from X "
    "(|X| <= 2) has exactly one mediating map, the one catcore's universal returns.",
    "exhaustive",
    "limits-finset",
)
def finset_pullbacks() -> Outcome:
    from catcore.limits import pullback

    cospans = cones = 0
    for A, B, C in itertools.product(finsets(3), repeat=3):
        for f in maps(A, C):
            for g in maps(B, C):
                pb = pullback(f, g)
                want = sum(1 for a in A for b in B if f(a) == g(b))
                if len(pb.apex) != want:
                    return Outcome.fail(
                        {"f": repr(f), "g": repr(g), "apex": len(pb.apex), "pairs": want}
                    )
                cospans += 1
                if max(len(A), len(B), len(C)) > 2:
                    continue
                for X in finsets(2):
                    for q1, q2 in itertools.product(list(maps(X, A)), list(maps(X, B))):
                        if (q1 >> f) != (q2 >> g):
                            continue
                        bad = _check_universal(
                            pb.universal, X, pb.apex, pb.legs, (q1, q2), (repr(f), repr(g))
                        )
                        if bad:
                            return Outcome.fail(bad)
                        cones += 1
    return Outcome.ok(f"{cospans} cospans counted; {cones} cones with a unique mediating map")


@obligation(
    "limits.finset.equalizers",
    "FinSet: the equalizer of f, g: A -> B is {a | f a = g a} (brute force), for all parallel "
    "pairs of sets of size <= 3; every q: X -> A with q;f = q;g (|X| <= 2, |A|, |B| <= 2) "
    "factors uniquely through it.",
    "exhaustive",
    "limits-finset",
)
def finset_equalizers() -> Outcome:
    from catcore.limits import equalizer

    pairs = cones = 0
    for A, B in itertools.product(finsets(3), repeat=2):
        for f, g in itertools.product(list(maps(A, B)), repeat=2):
            eq = equalizer(f, g)
            want = sorted(a for a in A if f(a) == g(a))
            got = sorted(eq.leg(x) for x in eq.apex)
            if got != want or len(set(got)) != len(got):
                return Outcome.fail({"f": repr(f), "g": repr(g), "image": got, "want": want})
            pairs += 1
            if max(len(A), len(B)) > 2:
                continue
            for X in finsets(2):
                for q in maps(X, A):
                    if (q >> f) != (q >> g):
                        continue
                    bad = _check_universal(eq.universal, X, eq.apex, (eq.leg,), (q,), repr((f, g)))
                    if bad:
                        return Outcome.fail(bad)
                    cones += 1
    return Outcome.ok(f"{pairs} parallel pairs; {cones} cones with a unique mediating map")


@obligation(
    "limits.poset.meets",
    "Posets: in the divisibility lattices Div(n), n in {12, 30, 36, 60}, the product and the "
    "pullback of a, b (over any common upper bound) are gcd(a, b), the limit of three objects is "
    "their gcd, and every lower bound divides it (universal property), for all pairs/triples.",
    "exhaustive",
    "limits-poset",
)
def poset_meets() -> Outcome:
    from catcore.instances import Poset
    from catcore.limits import Diagram, product, pullback

    count = 0
    for n in (12, 30, 36, 60):
        P = Poset.divisibility(n)
        divs = P.elements
        for a, b in itertools.product(divs, repeat=2):
            g = math.gcd(a, b)
            if product(P, [a, b]).apex != g:
                return Outcome.fail({"n": n, "a": a, "b": b, "product": product(P, [a, b]).apex})
            for c in (c for c in divs if c % a == 0 and c % b == 0):
                pb = pullback(P.arrow(a, c), P.arrow(b, c))
                if pb.apex != g:
                    return Outcome.fail({"n": n, "cospan": (a, b, c), "pullback": pb.apex})
            for z in (z for z in divs if a % z == 0 and b % z == 0):
                if g % z:
                    return Outcome.fail({"n": n, "lower bound": z, "meet": g})
                product(P, [a, b]).universal(P.arrow(z, a), P.arrow(z, b))
            count += 1
        for a, b, c in itertools.combinations(divs, 3):
            apex = P.limit(Diagram.of(P, {0: a, 1: b, 2: c})).apex
            if apex != math.gcd(a, b, c):
                return Outcome.fail({"n": n, "triple": (a, b, c), "limit": apex})
    return Outcome.ok(f"{count} pairs and all triples in 4 lattices agree with gcd")


# -- Vect over Q -----------------------------------------------------------------------------
def _symbolic_vect():
    """catcore's Vect over Q with symbolic entries: the same limit algorithm (kernel of the
    constraint matrix), with rational-function arithmetic and equality up to cancellation."""
    from catcore.instances.vect import VectQCategory

    class SymbolicVect(VectQCategory):
        name = "Vect_Q(symbols)"

        def coerce(self, matrix):
            return sympy.Matrix(matrix)

        def matrices_equal(self, a, b):
            return a.shape == b.shape and all(sympy.cancel(e) == 0 for e in (a - b))

        def solve(self, basis, rhs):
            x, free = basis.gauss_jordan_solve(rhs)
            if free.shape[0]:
                raise ValueError("the limit's basis is not injective")
            return x.applyfunc(sympy.cancel)

    return SymbolicVect()


def _generic_nonzero(expr) -> bool:
    return sympy.cancel(expr) != 0


@obligation(
    "limits.vectq.pullback-symbolic",
    "Vect over Q, generic symbolic matrices: catcore's pullback of F: Q^2 -> Q^2 <- Q^2 :G "
    "(F, G with 8 independent symbols) and of f: Q^2 -> Q <- Q^2 :g has a commuting square, "
    "dimension dim A + dim B - rank[F, -G], and every commuting cone (generic symbolic legs) "
    "factors uniquely: the mediating map commutes and the stacked legs are injective.",
    "symbolic",
    "limits-vect",
)
def vectq_pullback_symbolic() -> Outcome:
    from catcore.limits import pullback

    S = _symbolic_vect()
    cases = {
        "2x2": (sympy.Matrix(2, 2, sympy.symbols("a:d")), sympy.Matrix(2, 2, sympy.symbols("e:h"))),
        "1x2": (sympy.Matrix(1, 2, sympy.symbols("a:b")), sympy.Matrix(1, 2, sympy.symbols("c:d"))),
    }
    notes = []
    for name, (Fm, Gm) in cases.items():
        F, G = S.morphism(Fm), S.morphism(Gm)
        pb = pullback(F, G)
        p1, p2 = pb.legs
        if not S.matrices_equal((p1 >> F).matrix, (p2 >> G).matrix):
            return Outcome.fail(
                {
                    "case": name,
                    "p1;F - p2;G": str(
                        ((p1 >> F).matrix - (p2 >> G).matrix).applyfunc(sympy.cancel)
                    ),
                }
            )
        want = Fm.cols + Gm.cols - Fm.row_join(-Gm).rank()
        if pb.apex.dim != want:
            return Outcome.fail({"case": name, "apex": pb.apex.dim, "expected": want})
        stacked = p1.matrix.col_join(p2.matrix)
        minor = stacked.extract(list(range(stacked.rows))[-pb.apex.dim :], list(range(pb.apex.dim)))
        if not _generic_nonzero(minor.det()) and stacked.rank() != pb.apex.dim:
            return Outcome.fail({"case": name, "stacked legs": str(stacked)}, "not injective")
        # a generic cone from Q^2: q2 free symbols, q1 solving F q1 = G q2 (by sympy.solve)
        q1 = sympy.Matrix(Fm.cols, 2, sympy.symbols(f"r0:{2 * Fm.cols}"))
        q2 = sympy.Matrix(Gm.cols, 2, sympy.symbols(f"t0:{2 * Gm.cols}"))
        unknowns = list(q1[: Fm.rows, :]) if name == "2x2" else [q1[0, 0], q1[0, 1]]
        sol = sympy.solve(list(Fm * q1 - Gm * q2), unknowns, dict=True)
        if len(sol) != 1:
            return Outcome.fail({"case": name, "cone equations": str(sol)})
        q1 = q1.subs(sol[0]).applyfunc(sympy.cancel)
        u = pb.universal(S.morphism(q1), S.morphism(q2))
        checks = [(u >> p1).matrix - q1, (u >> p2).matrix - q2]
        if any(sympy.cancel(e) != 0 for m in checks for e in m):
            return Outcome.fail(
                {"case": name, "u": str(u.matrix)}, "mediating map does not commute"
            )
        dens = {sympy.denom(sympy.cancel(e)) for e in p1.matrix.col_join(p2.matrix)} - {1}
        notes.append(f"{name}: apex dim {pb.apex.dim}, valid where {sorted(map(str, dens))} != 0")
    return Outcome.ok("; ".join(notes))


def _rank(m: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(m)) if m.size else 0


@obligation(
    "limits.vectq.pullback-01-matrices",
    "Vect over Q, all 256 pairs of 2x2 matrices with entries in {0, 1} (singular ones "
    "included): the pullback has dimension 4 - rank[F, -G] (numpy rank, independent of "
    "sympy), commutes, has jointly injective legs, and a cone from Q^2 made of two integer "
    "solutions (x, y) in {-1, 0, 1}^4 of F x = G y factors through it (uniquely).",
    "exhaustive",
    "limits-vect",
)
def vectq_pullback_01() -> Outcome:
    from catcore.instances import VectQ
    from catcore.limits import pullback

    mats = [np.array(m).reshape(2, 2) for m in itertools.product((0, 1), repeat=4)]
    vecs = [np.array(v) for v in itertools.product((-1, 0, 1), repeat=4)]
    cones = 0
    for Fm, Gm in itertools.product(mats, repeat=2):
        F, G = VectQ.morphism(sympy.Matrix(Fm)), VectQ.morphism(sympy.Matrix(Gm))
        pb = pullback(F, G)
        want = 4 - _rank(np.hstack([Fm, -Gm]))
        if pb.apex.dim != want:
            return Outcome.fail(
                {"F": Fm.tolist(), "G": Gm.tolist(), "apex": pb.apex.dim, "expected": want}
            )
        p1, p2 = pb.legs
        if (p1 >> F) != (p2 >> G):
            return Outcome.fail({"F": Fm.tolist(), "G": Gm.tolist()}, "square does not commute")
        stacked = np.vstack([p1.array(), p2.array()])
        if _rank(stacked) != pb.apex.dim:
            return Outcome.fail({"F": Fm.tolist(), "G": Gm.tolist()}, "legs not jointly injective")
        sols = [v for v in vecs if np.array_equal(Fm @ v[:2], Gm @ v[2:]) and v.any()]
        if not sols:
            continue
        cols = np.stack([sols[0], sols[-1]], axis=1)  # a cone from Q^2: two solutions
        q1, q2 = (VectQ.morphism(sympy.Matrix(cols[i : i + 2])) for i in (0, 2))
        u = pb.universal(q1, q2)  # raises if the cone does not factor
        if (u >> p1) != q1 or (u >> p2) != q2:
            return Outcome.fail({"F": Fm.tolist(), "G": Gm.tolist(), "cone": cols.tolist()})
        cones += 1
    return Outcome.ok(
        f"256 pullbacks with the right dimension; {cones} integer cones factor "
        "(uniquely: the legs are jointly injective)"
    )


# -- limit preservation --------------------------------------------------------------------------
def maybe_functor():
    """The functor A |-> A + {*} on FinSet (f extended by * |-> *)."""
    from catcore.functor import Functor
    from catcore.instances import FinSet

    star = ("*",)

    def ob(A):
        return FinSet.object([*A, star])

    def ar(f):
        return FinSet.morphism(ob(f.dom), ob(f.cod), {**f.mapping, star: star})

    return Functor(FinSet, FinSet, ob, ar, name="Maybe")


@obligation(
    "functor.maybe.limit-preservation",
    "catcore's limit-preservation probe on FinSet's functor Maybe(A) = A + 1: it preserves every "
    "pullback and equalizer (connected limits) and fails on every binary product of non-empty "
    "sets, where the comparison map (A x B) + 1 -> (A + 1) x (B + 1) misses exactly |A| + |B| "
    "elements. All sets of size <= 2.",
    "exhaustive",
    "def-4-1",
)
def maybe_preservation() -> Outcome:
    from catcore.instances import FinSet
    from catcore.limits import Diagram, preservation

    F = maybe_functor()
    checked = 0
    for A, B, C in itertools.product(finsets(2), repeat=3):
        for f in maps(A, C):
            for g in maps(B, C):
                d = Diagram.of(FinSet, {"A": A, "B": B, "C": C}, {("A", "C"): f, ("B", "C"): g})
                if not preservation(F, d).preserved:
                    return Outcome.fail({"pullback of": (repr(f), repr(g))}, "not preserved")
                checked += 1
    for A, B in itertools.product(finsets(2), repeat=2):
        for f, g in itertools.product(list(maps(A, B)), repeat=2):
            d = Diagram.of(FinSet, {"A": A, "B": B}, {("A", "B", 0): f, ("A", "B", 1): g})
            if not preservation(F, d).preserved:
                return Outcome.fail({"equalizer of": (repr(f), repr(g))}, "not preserved")
            checked += 1
    for A, B in itertools.product(finsets(3)[1:], repeat=2):
        p = preservation(F, Diagram.of(FinSet, {0: A, 1: B}))
        missed = len(p.defect["missed"])
        if p.preserved or missed != len(A) + len(B):
            return Outcome.fail(
                {
                    "A": len(A),
                    "B": len(B),
                    "preserved": p.preserved,
                    "missed": missed,
                    "expected": len(A) + len(B),
                }
            )
    return Outcome.ok(
        f"{checked} pullbacks/equalizers preserved; all 9 products of non-empty sets "
        "fail with |A| + |B| missed elements"
    )

"""Numeric known answers for barriers, homotopy classes and persistence (Def 3.1, Def 6.1/6.2).

Landscapes are analytic, so the answers are derived by hand (or by sympy) rather than by a
second run of the same code: the double well has barrier 1 at t = 1/2 whatever its tilt,
a concave quadratic has barrier |b - a|^2 / 4, the piecewise-linear profile has H0 pairs
(0, inf), (0.5, 4), (1, 2), the Mexican hat has one H1 class dying at its central value 1.
The ``adapters`` modules are imported inside each check. See ``docs/theory.md``,
"Loss barriers", "Homotopy classes" and "Def 6.1".
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import sympy
from hypothesis import given
from hypothesis import strategies as st

from proofs_check.registry import Outcome, obligation


def _close(got: float, want: float, tol: float) -> bool:
    return bool(abs(got - want) <= tol)


@obligation(
    "barrier.double-well",
    "The barrier (chord-corrected, Def 3.1 detection) of the double well "
    "L = (x^2 - 1)^2 + c x + y^2 along the segment (-1, 0) -> (1, 0) is exactly 1 at t = 1/2 "
    "for every tilt c (the excess over the chord is (x^2 - 1)^2); adapters.constructions.homotopy."
    "loss_barrier finds it within 1e-3 for c in {0, 0.3, -0.7}.",
    "numeric",
    "barrier",
)
def double_well() -> Outcome:
    import torch

    from adapters.constructions.barrier import loss_barrier

    a, b = (
        torch.tensor([-1.0, 0.0], dtype=torch.float64),
        torch.tensor([1.0, 0.0], dtype=torch.float64),
    )
    rows = []
    for c in (0.0, 0.3, -0.7):
        r = loss_barrier(lambda p, c=c: (p[0] ** 2 - 1) ** 2 + c * p[0] + p[1] ** 2, a, b)
        rows.append((c, round(r.height, 6), round(r.t, 4), r.evaluations))
        if not (_close(r.height, 1.0, 1e-3) and _close(r.t, 0.5, 1e-2)):
            return Outcome.fail(
                {"tilt": c, "height": r.height, "t": r.t}, "expected height 1 at 1/2"
            )
    return Outcome.ok(f"(tilt, height, t, evaluations): {rows}")


@obligation(
    "barrier.quadratics",
    "For L(th) = s |M th|^2 the barrier along a -> b is 0 when s = +1 (convex; the symbolic "
    "obligation barrier.convex-quadratic-nonpositive) and |M(b - a)|^2 / 4 at t = 1/2 when "
    "s = -1 (concave: excess t(1-t)|M(b-a)|^2); loss_barrier agrees within 1e-3 on random M, a, b.",
    "property",
    "barrier",
)
def quadratic_barriers() -> Outcome:
    import torch

    from adapters.constructions.barrier import loss_barrier

    coord = st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 2))
    vec = st.lists(coord, min_size=2, max_size=2)
    bad: list = []

    @given(st.lists(coord, min_size=4, max_size=4), vec, vec)
    def prop(m, a, b):
        M = torch.tensor(m, dtype=torch.float64).reshape(2, 2)
        ta, tb = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        w = float(torch.sum((M @ (tb - ta)) ** 2))
        convex = loss_barrier(lambda p: torch.sum((M @ p) ** 2), ta, tb)
        concave = loss_barrier(lambda p: -torch.sum((M @ p) ** 2), ta, tb)
        ok = _close(convex.height, 0.0, 1e-3) and _close(concave.height, w / 4, 1e-3 * (1 + w))
        if not ok:
            bad.append(
                {
                    "M": m,
                    "a": a,
                    "b": b,
                    "convex": convex.height,
                    "concave": concave.height,
                    "expected concave": w / 4,
                }
            )
        assert ok

    try:
        prop()
    except AssertionError:
        return Outcome.fail(bad[-1], "barrier differs from the closed form")
    return Outcome.ok("convex barrier 0 and concave barrier |M(b-a)|^2/4 on every example")


def _three_wells():
    import torch

    centers = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], dtype=torch.float64)

    def loss(p):
        return torch.min(torch.sum((centers - p) ** 2, dim=1))

    return centers, loss


@obligation(
    "homotopy.classes.three-wells",
    "On L(th) = min_k |th - c_k|^2 with wells at (0,0), (4,0), (0,4), homotopy_classes at "
    "eps = 0.5 recovers the three basins exactly from 4 points per basin (segments inside a "
    "basin have barrier 0, segments between basins about 4 - 2|.|), and the classes are the "
    "connected components of the graph of links (transitive closure), checked with networkx.",
    "numeric",
    "homotopy-classes",
)
def three_wells() -> Outcome:
    import torch

    from adapters.constructions.class_search import homotopy_classes

    centers, loss = _three_wells()
    offsets = torch.tensor(
        [[0.3, 0.1], [-0.2, 0.3], [0.1, -0.4], [-0.3, -0.2]], dtype=torch.float64
    )
    points = torch.cat([c + offsets for c in centers])
    truth = np.repeat(np.arange(3), len(offsets))
    cl = homotopy_classes(loss, points, eps=0.5, progress=False)
    same = all(
        (cl.labels[i] == cl.labels[j]) == (truth[i] == truth[j])
        for i, j in itertools.combinations(range(len(truth)), 2)
    )
    if not same:
        return Outcome.fail({"labels": cl.labels.tolist(), "basins": truth.tolist()})
    links = nx.Graph()
    links.add_nodes_from(range(len(truth)))
    links.add_edges_from((u, v) for u, v, d in cl.graph.edges(data=True) if d["connected"])
    comps = sorted(sorted(c) for c in nx.connected_components(links))
    if comps != sorted(cl.classes):
        return Outcome.fail({"components": comps, "classes": cl.classes})
    return Outcome.ok(
        f"3 classes = 3 basins; {cl.pairs_tested} of {cl.pairs_total} pairs "
        f"tested, {cl.evaluations} loss evaluations"
    )


# -- persistence -------------------------------------------------------------------------------
PL_KNOTS = [(0, 3), (1, 0), (2, 2), (3, 1), (4, 4), (5, 0.5), (6, 5)]


def _as_pairs(dgm) -> list[tuple[float, float]]:
    return sorted((float(b), float(d)) for b, d in np.asarray(dgm).reshape(-1, 2))


@obligation(
    "persistence.piecewise-linear-1d",
    "Def 6.1/6.2 on a profile through (0,3),(1,0),(2,2),(3,1),(4,4),(5,0.5),(6,5): the sublevel "
    "H0 diagram is {(0, inf), (0.5, 4), (1, 2)} (elder rule by hand: the minimum born at 1 "
    "dies at the saddle 2, the one born at 0.5 at the saddle 4), total persistence 4.5, and "
    "5 + 4.5 = 9.5 with the essential class capped at the maximum 5.",
    "numeric",
    "def-6-2",
)
def piecewise_linear_pairs() -> Outcome:
    from adapters.constructions.diagrams import total_persistence
    from adapters.constructions.persistence import landscape_persistence

    xs, ys = zip(*PL_KNOTS)
    x = np.linspace(0, 6, 601)
    f = np.interp(x, xs, ys)
    h0 = landscape_persistence(x, f, k=1, maxdim=0)[0]
    want = [(0.0, np.inf), (0.5, 4.0), (1.0, 2.0)]
    got = _as_pairs(h0)
    tp, capped = total_persistence(h0), total_persistence(h0, essential="cap", cap=5.0)
    if got != want or not _close(tp, 4.5, 1e-12) or not _close(capped, 9.5, 1e-12):
        return Outcome.fail(
            {"H0": got, "total": tp, "capped": capped}, f"expected {want}, 4.5, 9.5"
        )
    return Outcome.ok(f"H0 = {got}; total persistence {tp}; capped {capped}")


@obligation(
    "persistence.tilted-double-well",
    "For f(x) = x^4 - 2x^2 + 3x/10 on [-2, 2] the H0 diagram is {(f(m1), inf), (f(m2), f(M))} "
    "with m1 < M < m2 the real roots of f' (sympy, exact); the sampled landscape (4001 points) "
    "matches within 1e-5.",
    "numeric",
    "def-6-1",
)
def tilted_double_well() -> Outcome:
    from adapters.constructions.persistence import landscape_persistence

    xs = sympy.Symbol("x", real=True)
    f = xs**4 - 2 * xs**2 + sympy.Rational(3, 10) * xs
    crit = sorted(
        float(r) for r in sympy.Poly(sympy.diff(f, xs), xs).nroots(n=30) if abs(sympy.im(r)) < 1e-20
    )
    vals = [float(f.subs(xs, c)) for c in crit]  # minimum, maximum, minimum
    low, high = sorted([vals[0], vals[2]])
    want = [(low, np.inf), (high, vals[1])]
    x = np.linspace(-2, 2, 4001)
    got = _as_pairs(landscape_persistence(x, x**4 - 2 * x**2 + 0.3 * x, k=1, maxdim=0)[0])
    ok = len(got) == 2 and all(_close(g[0], w[0], 1e-5) for g, w in zip(got, want))
    ok = ok and got[0][1] == np.inf and _close(got[1][1], want[1][1], 1e-5)
    if not ok:
        return Outcome.fail({"got": got, "expected": want})
    return Outcome.ok(
        f"critical points {np.round(crit, 6).tolist()}; H0 {np.round(got, 6).tolist()}"
    )


@obligation(
    "persistence.mexican-hat-h1",
    "For f = (x^2 + y^2 - 1)^2 on a 41x41 grid of [-1.5, 1.5]^2 (centre on the grid) there is "
    "exactly one H1 class, born near the ring minimum (< 0.01) and dying at f(0, 0) = 1, with "
    "the cubical grid complex and with the 8-nearest-neighbour flag complex; H0 has one "
    "essential class and only short-lived finite pairs (< 0.01).",
    "numeric",
    "def-6-1",
)
def mexican_hat() -> Outcome:
    from adapters.constructions.persistence import grid_persistence, landscape_persistence

    g = np.linspace(-1.5, 1.5, 41)
    X, Y = np.meshgrid(g, g, indexing="ij")
    Z = (X**2 + Y**2 - 1) ** 2
    results = {
        "grid": grid_persistence(Z, maxdim=1),
        "knn": landscape_persistence(np.stack([X.ravel(), Y.ravel()], 1), Z.ravel(), k=8),
    }
    for name, (h0, h1) in results.items():
        finite = h0[np.isfinite(h0[:, 1])]
        ok = (
            len(h1) == 1
            and h1[0, 1] == 1.0
            and h1[0, 0] < 0.01
            and np.sum(~np.isfinite(h0[:, 1])) == 1
            and (finite.size == 0 or np.max(finite[:, 1] - finite[:, 0]) < 0.01)
        )
        if not ok:
            return Outcome.fail({"complex": name, "H1": h1.tolist(), "H0 pairs": len(h0)})
    return Outcome.ok(
        "; ".join(f"{k}: H1 {v[1].tolist()}, {len(v[0])} H0 pairs" for k, v in results.items())
    )


def _components_at(edges, values, level, keep_at=None) -> int:
    """Components of the sublevel graph at ``level`` containing a vertex of value <= keep_at."""
    g = nx.Graph()
    g.add_nodes_from(i for i, v in enumerate(values) if v <= level)
    g.add_edges_from((i, j) for i, j in edges if max(values[i], values[j]) <= level)
    keep = level if keep_at is None else keep_at
    return sum(1 for c in nx.connected_components(g) if min(values[i] for i in c) <= keep)


@obligation(
    "persistence.h0-rank-invariant-exhaustive",
    "Def 6.1 direction and Def 6.2 pairing: for every function {0,1,2}^5 on a 5-vertex path and "
    "on a 5-cycle, and all levels a <= b, the number of H0 pairs with birth <= a < death and "
    "death > b equals the number of components of the sublevel graph {f <= b} that meet "
    "{f <= a} (networkx), for graph_persistence and for the union-find elder_rule_h0.",
    "exhaustive",
    "def-6-1",
)
def h0_rank_invariant() -> Outcome:
    from adapters.constructions.persistence import elder_rule_h0, graph_persistence

    path = [(i, i + 1) for i in range(4)]
    graphs = {"path": path, "cycle": [*path, (4, 0)]}
    levels = (0, 1, 2)
    n = 0
    for name, edges in graphs.items():
        E = np.array(edges)
        for values in itertools.product(levels, repeat=5):
            v = np.array(values, dtype=float)
            for impl, dgm in (
                ("ripser", graph_persistence(v, E, maxdim=0)[0]),
                ("elder", elder_rule_h0(v, E)),
            ):
                for a, b in itertools.combinations_with_replacement(levels, 2):
                    got = int(np.sum((dgm[:, 0] <= a) & (dgm[:, 1] > b)))
                    want = _components_at(edges, values, b, keep_at=a)
                    if got != want:
                        return Outcome.fail(
                            {
                                "graph": name,
                                "values": values,
                                "impl": impl,
                                "a": a,
                                "b": b,
                                "pairs": got,
                                "components": want,
                                "diagram": dgm.tolist(),
                            }
                        )
                    n += 1
    return Outcome.ok(f"{n} rank-invariant values agree (2 graphs x 243 functions x 2 codes x 6)")

"""Hypothesis strategies and brute-force helpers for the catcore tests.

Generators are parametrized by the category so that deliberately broken subclasses are
exercised by the very same strategies as the built-in instances. Where a test needs cones
or candidate mediating morphisms, they are built by a second implementation written here
(brute-force enumeration for FinSet, a separately coded constraint matrix and null space
for Vect), not by the algorithm under test.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator
from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from catcore import Functor
from catcore.instances import (
    FinSet,
    FinSetCategory,
    FreeCategory,
    Paths,
    Poset,
    Space,
    VectQ,
)
from catcore.instances.vect import VectQCategory, _VectBase
from catcore.limits import Cone, Diagram
from catcore.suites import category_gens

# ---------------------------------------------------------------- FinSet


def finsets(C: FinSetCategory = FinSet, min_size: int = 0, max_size: int = 3) -> st.SearchStrategy:
    """Finite sets of small integers (sizes ``min_size..max_size``)."""
    return st.lists(st.integers(0, 5), unique=True, min_size=min_size, max_size=max_size).map(
        C.object
    )


def functions(A: Any, B: Any, C: FinSetCategory = FinSet) -> st.SearchStrategy:
    """All total functions ``A -> B`` (nothing when ``A`` is non-empty and ``B`` empty)."""
    dom, cod = list(A), list(B)
    if dom and not cod:
        return st.nothing()
    values = st.tuples(*[st.sampled_from(cod) for _ in dom])
    return values.map(lambda vs: C.morphism(dom, cod, dict(zip(dom, vs))))


def finset_arrows_from(C: FinSetCategory = FinSet) -> Any:
    def arrows_from(A: Any) -> st.SearchStrategy:
        return finsets(C, min_size=1 if len(A) else 0).flatmap(lambda B: functions(A, B, C))

    return arrows_from


def finset_gens(C: FinSetCategory = FinSet) -> dict[str, st.SearchStrategy]:
    return category_gens(finsets(C), arrows_from=finset_arrows_from(C))


@st.composite
def finset_diagrams(
    draw: Any, C: FinSetCategory = FinSet, max_nodes: int = 4, max_edges: int = 4, max_size: int = 3
) -> Diagram:
    """Products, pullbacks, equalizers, and random shapes (loops and parallel edges too)."""
    kind = draw(st.sampled_from(["product", "pullback", "equalizer", "general"]))
    if kind == "pullback":
        c = draw(finsets(C, min_size=1))
        f = draw(finsets(C, max_size=max_size).flatmap(lambda A: functions(A, c, C)))
        g = draw(finsets(C, max_size=max_size).flatmap(lambda B: functions(B, c, C)))
        return Diagram.of(C, {"A": f.dom, "B": g.dom, "C": c}, {("A", "C"): f, ("B", "C"): g})
    if kind == "equalizer":
        a = draw(finsets(C, max_size=max_size))
        b = draw(finsets(C, min_size=1 if len(a) else 0, max_size=max_size))
        f, g = draw(functions(a, b, C)), draw(functions(a, b, C))
        return Diagram.of(C, {"A": a, "B": b}, {("A", "B", 0): f, ("A", "B", 1): g})
    n = draw(st.integers(0, 3 if kind == "product" else max_nodes))
    objects = {i: draw(finsets(C, max_size=max_size)) for i in range(n)}
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)) if n else st.nothing()
    edges = [] if kind == "product" or not n else draw(st.lists(pairs, max_size=max_edges))
    arrows = {}
    for k, (u, v) in enumerate(edges):
        if len(objects[u]) and not len(objects[v]):
            continue
        arrows[(u, v, k)] = draw(functions(objects[u], objects[v], C))
    return Diagram.of(C, objects, arrows)


def compatible_families(d: Diagram) -> Iterator[dict[Hashable, Hashable]]:
    """Brute force: every choice of one element per node that every edge respects."""
    nodes = d.nodes
    for combo in itertools.product(*(list(d.objects[n]) for n in nodes)):
        x = dict(zip(nodes, combo))
        if all(d.arrows[(u, v, k)](x[u]) == x[v] for u, v, k in d.edges):
            yield x


@st.composite
def finset_cones(draw: Any, diagrams: st.SearchStrategy, max_apex: int = 3) -> tuple:
    """``(diagram, cone)``: each apex element picks a compatible family (brute force)."""
    d = draw(diagrams)
    families = list(compatible_families(d))
    k = draw(st.integers(0, max_apex if families else 0))
    apex = [f"x{i}" for i in range(k)]
    picks = [draw(st.sampled_from(families)) for _ in apex]
    C = d.category
    legs = {
        n: C.morphism(apex, d.objects[n], {x: p[n] for x, p in zip(apex, picks)}) for n in d.nodes
    }
    return d, Cone(C.object(apex), legs)


def all_functions(A: Any, B: Any, C: FinSetCategory = FinSet) -> list:
    dom, cod = list(A), list(B)
    images = itertools.product(cod, repeat=len(dom))
    return [C.morphism(dom, cod, dict(zip(dom, vs))) for vs in images]


def finset_limit_gens(C: FinSetCategory = FinSet) -> dict[str, st.SearchStrategy]:
    """Kinds ``diagram``, ``cone`` and ``candidates`` (all functions apex -> limit apex)."""
    small = finset_diagrams(C, max_nodes=3, max_edges=3, max_size=2)

    def with_candidates(dc: tuple) -> tuple:
        d, cone = dc
        return d, cone, all_functions(cone.apex, C.limit(d).apex, C)

    return {
        "diagram": finset_diagrams(C),
        "cone": finset_cones(finset_diagrams(C)),
        "candidates": finset_cones(small, max_apex=2).map(with_candidates),
    }


# ---------------------------------------------------------------- Vect


def is_exact(V: _VectBase) -> bool:
    return isinstance(V, VectQCategory)


rationals = st.builds(sympy.Rational, st.integers(-3, 3), st.integers(1, 3))
small_ints = st.integers(-3, 3)


def spaces(max_dim: int = 3) -> st.SearchStrategy:
    return st.integers(0, max_dim).map(Space)


def _entries(V: _VectBase, shape: tuple[int, int]) -> st.SearchStrategy:
    r, c = shape
    if is_exact(V):
        return st.lists(rationals, min_size=r * c, max_size=r * c).map(
            lambda xs: sympy.Matrix(r, c, xs)
        )
    return st.lists(small_ints, min_size=r * c, max_size=r * c).map(
        lambda xs: np.array(xs, dtype=float).reshape(r, c)
    )


def matrices(V: _VectBase, rows: int, cols: int) -> st.SearchStrategy:
    """Full random matrices, and products through a narrow middle (rank deficient)."""
    full = _entries(V, (rows, cols))
    inner = st.integers(0, min(rows, cols)).flatmap(
        lambda r: st.tuples(_entries(V, (rows, r)), _entries(V, (r, cols)))
    )
    low = inner.map(lambda pq: pq[0] @ pq[1])
    return st.one_of(full, low)


def linear_maps(V: _VectBase, A: Space, B: Space) -> st.SearchStrategy:
    return matrices(V, B.dim, A.dim).map(lambda m: V.morphism(m, A, B))


def vect_gens(V: _VectBase, max_dim: int = 3) -> dict[str, st.SearchStrategy]:
    return category_gens(spaces(max_dim), hom=lambda A, B: linear_maps(V, A, B))


@st.composite
def vect_diagrams(
    draw: Any, V: _VectBase, max_nodes: int = 3, max_edges: int = 3, max_dim: int = 2
) -> Diagram:
    """Products, pullbacks, equalizers and random shapes of small spaces."""
    kind = draw(st.sampled_from(["product", "pullback", "equalizer", "general"]))
    if kind == "pullback":
        a, b, c = (draw(spaces(max_dim)) for _ in range(3))
        f, g = draw(linear_maps(V, a, c)), draw(linear_maps(V, b, c))
        return Diagram.of(V, {"A": a, "B": b, "C": c}, {("A", "C"): f, ("B", "C"): g})
    if kind == "equalizer":
        a, b = draw(spaces(max_dim)), draw(spaces(max_dim))
        f, g = draw(linear_maps(V, a, b)), draw(linear_maps(V, a, b))
        return Diagram.of(V, {"A": a, "B": b}, {("A", "B", 0): f, ("A", "B", 1): g})
    n = draw(st.integers(0, max_nodes))
    objects = {i: draw(spaces(max_dim)) for i in range(n)}
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)) if n else st.nothing()
    edges = [] if kind == "product" or not n else draw(st.lists(pairs, max_size=max_edges))
    arrows = {
        (u, v, k): draw(linear_maps(V, objects[u], objects[v])) for k, (u, v) in enumerate(edges)
    }
    return Diagram.of(V, objects, arrows)


def constraint_matrix(d: Diagram, V: _VectBase) -> tuple[Any, dict, int]:
    """Second implementation: rows ``D(e) x_u - x_v`` for each edge, over ``(+)_n D(n)``."""
    exact = is_exact(V)
    dims = {n: d.objects[n].dim for n in d.nodes}
    offsets = dict(zip(d.nodes, itertools.accumulate([0] + [dims[n] for n in d.nodes])))
    total = sum(dims.values())
    blocks = []
    for u, v, k in d.edges:
        m = d.arrows[(u, v, k)].matrix
        row = sympy.zeros(dims[v], total) if exact else np.zeros((dims[v], total))
        for i in range(dims[v]):
            for j in range(dims[u]):
                row[i, offsets[u] + j] += m[i, j]
            row[i, offsets[v] + i] -= 1
        blocks.append(row)
    if exact:
        stacked = sympy.Matrix.vstack(*blocks) if blocks else sympy.zeros(0, total)
    else:
        stacked = np.vstack(blocks) if blocks else np.zeros((0, total))
    return stacked, offsets, total


def null_space(m: Any, total: int, exact: bool) -> Any:
    """A basis of ``ker m`` as columns (sympy when exact, SVD with a fixed tolerance else)."""
    if exact:
        if m.rows == 0:
            return sympy.eye(total)
        vs = m.nullspace()
        return sympy.Matrix.hstack(*vs) if vs else sympy.zeros(total, 0)
    if m.shape[0] == 0 or total == 0:
        return np.eye(total)
    _, s, vt = np.linalg.svd(m)
    rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
    return vt[rank:].T


@st.composite
def vect_cones(draw: Any, V: _VectBase, diagrams: st.SearchStrategy) -> tuple:
    """``(diagram, cone)`` with legs ``K R`` for ``K`` a kernel basis computed here."""
    d = draw(diagrams)
    exact = is_exact(V)
    m, offsets, total = constraint_matrix(d, V)
    K = null_space(m, total, exact)
    apex = draw(spaces(2))
    R = draw(_entries(V, (K.shape[1], apex.dim)))
    X = K @ R
    legs = {
        n: V.morphism(X[offsets[n] : offsets[n] + d.objects[n].dim, :], apex, d.objects[n])
        for n in d.nodes
    }
    return d, Cone(apex, legs)


def stack(blocks: list, cols: int, exact: bool) -> Any:
    """Blocks stacked vertically (a ``0 x cols`` matrix when there are none)."""
    if exact:
        return sympy.Matrix.vstack(sympy.zeros(0, cols), *blocks)
    return np.vstack([np.zeros((0, cols)), *blocks])


@st.composite
def vect_candidates(draw: Any, V: _VectBase, cones: st.SearchStrategy) -> tuple:
    """``(diagram, cone, maps)``: every solution family of ``u ; leg_n = cone_n`` sampled.

    Solutions of ``L u = S`` (``L`` the limit legs stacked, ``S`` the cone legs stacked)
    are computed here: a particular solution plus random combinations of ``ker L``. For a
    true limit ``ker L = 0`` and the single candidate must equal the mediating morphism.
    """
    d, cone = draw(cones)
    lim = V.limit(d)
    exact = is_exact(V)
    nodes = d.nodes
    L = stack([lim.leg(n).matrix for n in nodes], lim.apex.dim, exact)
    S = stack([cone.legs[n].matrix for n in nodes], cone.apex.dim, exact)
    maps = []
    for _ in range(3):
        if exact:
            if L.cols == 0 or S.cols == 0:
                X = sympy.zeros(L.cols, S.cols)
            else:
                sol, params = L.gauss_jordan_solve(S)
                X = sol.subs({p: draw(rationals) for p in params})
        else:
            X0 = np.zeros((L.shape[1], S.shape[1]))
            if L.size:
                X0 = np.linalg.lstsq(L, S, rcond=None)[0]
            N = null_space(L, L.shape[1], exact=False)
            X = X0 + N @ np.array(draw(_entries(V, (N.shape[1], S.shape[1]))))
        maps.append(V.morphism(X, cone.apex, lim.apex))
    return d, cone, maps


def vect_limit_gens(V: _VectBase) -> dict[str, st.SearchStrategy]:
    diagrams = vect_diagrams(V)
    cones = vect_cones(V, diagrams)
    return {"diagram": diagrams, "cone": cones, "candidates": vect_candidates(V, cones)}


# ---------------------------------------------------------------- the free vector space functor


def basis(A: Any) -> list:
    """The basis of ``Q^A``: the elements of ``A`` in a canonical order."""
    return sorted(A, key=repr)


def free_matrix(f: Any) -> sympy.Matrix:
    """The 0/1 matrix of ``R f``: column ``x`` has its 1 in row ``f(x)``."""
    dom, cod = basis(f.dom), basis(f.cod)
    row = {y: i for i, y in enumerate(cod)}
    m = sympy.zeros(len(cod), len(dom))
    for j, x in enumerate(dom):
        m[row[f(x)], j] = 1
    return m


#: ``R: FinSet -> Vect_Q``, ``A -> Q^A`` (the free vector space on a finite set).
FREE = Functor(
    FinSet,
    VectQ,
    ob=lambda A: Space(len(A)),
    ar=lambda f: VectQ.morphism(free_matrix(f), Space(len(f.dom)), Space(len(f.cod))),
    name="R",
)


# ---------------------------------------------------------------- free category


def example_graph_category() -> FreeCategory:
    """A graph with parallel edges, a loop, a cycle and an isolated node."""
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_nodes_from("abcd")
    g.add_edges_from([("a", "b"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "c")])
    return FreeCategory(g, name="Free(G)")


def free_arrows_from(F: FreeCategory) -> Any:
    @st.composite
    def walk(draw: Any, start: Hashable) -> Any:
        at, edges = start, []
        for _ in range(draw(st.integers(0, 3))):
            out = list(F.graph.out_edges(at, keys=True))
            if not out:
                break
            e = draw(st.sampled_from(out))
            edges.append(e)
            at = e[1]
        return F.path(edges) if edges else F.identity(start)

    return walk


def free_gens(F: FreeCategory) -> dict[str, st.SearchStrategy]:
    return category_gens(st.sampled_from(list(F.graph.nodes)), arrows_from=free_arrows_from(F))


# ---------------------------------------------------------------- posets


def poset_arrows_from(P: Poset) -> Any:
    return lambda a: st.sampled_from([b for b in P.elements if P.leq(a, b)]).map(
        lambda b: P.arrow(a, b)
    )


def poset_gens(P: Poset) -> dict[str, st.SearchStrategy]:
    return category_gens(st.sampled_from(P.elements), arrows_from=poset_arrows_from(P))


@st.composite
def poset_diagrams(draw: Any, P: Poset, max_nodes: int = 4) -> Diagram:
    n = draw(st.integers(0, max_nodes))
    objects = {i: draw(st.sampled_from(P.elements)) for i in range(n)}
    arrows = {}
    for u, v in itertools.product(range(n), repeat=2):
        if P.leq(objects[u], objects[v]) and draw(st.booleans()):
            arrows[(u, v)] = P.arrow(objects[u], objects[v])
    return Diagram.of(P, objects, arrows)


@st.composite
def poset_cones(draw: Any, P: Poset) -> tuple:
    """Apex: any common lower bound, found by brute force."""
    d = draw(poset_diagrams(P))
    lower = [z for z in P.elements if all(P.leq(z, x) for x in d.objects.values())]
    z = draw(st.sampled_from(lower))
    return d, Cone(z, {n: P.arrow(z, x) for n, x in d.objects.items()})


def poset_limit_gens(P: Poset) -> dict[str, st.SearchStrategy]:
    def with_candidates(dc: tuple) -> tuple:
        d, cone = dc
        m = P.limit(d).apex
        return d, cone, [P.arrow(cone.apex, m)] if P.leq(cone.apex, m) else []

    return {
        "diagram": poset_diagrams(P),
        "cone": poset_cones(P),
        "candidates": poset_cones(P).map(with_candidates),
    }


# ---------------------------------------------------------------- paths and homotopies

coords = st.integers(-3, 3).map(float)
durations = st.sampled_from([0.5, 1.0, 2.0])


def points(K: Paths) -> st.SearchStrategy:
    return st.lists(coords, min_size=K.dim, max_size=K.dim).map(np.array)


def paths_between(K: Paths, a: np.ndarray, b: np.ndarray) -> st.SearchStrategy:
    """Straight segments and two-piece polylines ``a -> b`` (constant path when allowed)."""
    straight = durations.map(lambda T: K.linear(a, b, T))
    bent = st.tuples(points(K), durations, durations).map(
        lambda mt: K.through([a, mt[0], b], [0.0, mt[1], mt[1] + mt[2]])
    )
    options = [straight, bent]
    if K.same_object(a, b):
        options.append(st.just(K.identity(a)))
    return st.one_of(options)


def paths_gens(K: Paths) -> dict[str, st.SearchStrategy]:
    def arrows_from(a: np.ndarray) -> st.SearchStrategy:
        return st.one_of(points(K), st.just(a)).flatmap(lambda b: paths_between(K, a, b))

    return category_gens(points(K), arrows_from=arrows_from)


def _parallel(K: Paths, n: int, a: Any = None, b: Any = None) -> st.SearchStrategy:
    ends = st.tuples(points(K), points(K)) if a is None else st.just((a, b))
    return ends.flatmap(lambda ab: st.tuples(*[paths_between(K, *ab) for _ in range(n)]))


def bent(K: Paths, f: Any, g: Any, bump: np.ndarray) -> Any:
    """A homotopy ``f => g`` that is not straight: it bulges by ``sin(pi t) s (1 - s) bump``."""

    def fn(s: np.ndarray, t: float) -> np.ndarray:
        line = (1 - t) * f.normalized(s) + t * g.normalized(s)
        return line + np.sin(np.pi * t) * np.outer(s * (1 - s), bump)

    return K.homotopy(f, g, fn)


def cells(K: Paths) -> st.SearchStrategy:
    """Straight and bent homotopies, identity 2-cells, vertical composites of straight ones."""
    straight = _parallel(K, 2).map(lambda fg: K.straight(*fg))
    curved = st.tuples(_parallel(K, 2), points(K)).map(lambda x: bent(K, *x[0], x[1]))
    ident = _parallel(K, 1).map(lambda f: K.id2(f[0]))
    composite = _parallel(K, 3).map(lambda fgh: K.straight(*fgh[:2]).vthen(K.straight(*fgh[1:])))
    return st.one_of(straight, curved, ident, composite)


def vchains(K: Paths) -> st.SearchStrategy:
    return _parallel(K, 4).map(lambda p: tuple(K.straight(p[i], p[i + 1]) for i in range(3)))


@st.composite
def interchange_quads(draw: Any, K: Paths) -> tuple:
    a, b, c = (draw(points(K)) for _ in range(3))
    f, g, h = draw(_parallel(K, 3, a, b))
    f2, g2, h2 = draw(_parallel(K, 3, b, c))
    return K.straight(f, g), K.straight(g, h), K.straight(f2, g2), K.straight(g2, h2)


def twocell_gens(K: Paths) -> dict[str, st.SearchStrategy]:
    return {
        **paths_gens(K),
        "cell": cells(K),
        "vchain3": vchains(K),
        "interchange": interchange_quads(K),
    }

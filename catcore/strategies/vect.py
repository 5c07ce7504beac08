"""Strategies for Vect over Q (exact) and over floats; (co)cones from a second
implementation (``docs/catcore.md``, "Law suites").

Cones over a diagram are ``K R`` for ``K`` a basis of the kernel of the constraint matrix
``D(e) x_u - x_v`` and cocones ``R P`` for ``P`` a basis of the annihilator of the
relations ``i_v D(e) x - i_u x``. Both are assembled here entry by entry and their null
spaces computed with sympy (over Q) or an SVD with a fixed tolerance (over floats), apart
from the category's own (co)limit algorithm. Candidates for uniqueness add to the mediating
morphism every direction that the (co)limit's legs cannot see.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from catcore.colimits import Cocone
from catcore.diagram import Diagram
from catcore.instances.vect import LinearMap, Space, VectQCategory, _VectBase
from catcore.limits import Cone
from catcore.strategies.generic import Kit, named_shapes, on_shape
from catcore.suites.basic import category_gens

Strategy = st.SearchStrategy

rationals = st.builds(sympy.Rational, st.integers(-3, 3), st.integers(1, 3))
small_ints = st.integers(-3, 3)


def is_exact(V: _VectBase) -> bool:
    return isinstance(V, VectQCategory)


def spaces(max_dim: int = 3) -> Strategy:
    return st.integers(0, max_dim).map(Space)


def entries(V: _VectBase, shape: tuple[int, int]) -> Strategy:
    """Matrices of ``shape``: small rationals over Q, small integers over floats (so that
    composites are exact and tolerances are never the question)."""
    r, c = shape
    if is_exact(V):
        return st.lists(rationals, min_size=r * c, max_size=r * c).map(
            lambda xs: sympy.Matrix(r, c, xs)
        )
    return st.lists(small_ints, min_size=r * c, max_size=r * c).map(
        lambda xs: np.array(xs, dtype=float).reshape(r, c)
    )


def matrices(V: _VectBase, rows: int, cols: int) -> Strategy:
    """Full random matrices, and products through a narrow middle (rank deficient)."""
    full = entries(V, (rows, cols))
    inner = st.integers(0, min(rows, cols)).flatmap(
        lambda r: st.tuples(entries(V, (rows, r)), entries(V, (r, cols)))
    )
    return st.one_of(full, inner.map(lambda pq: pq[0] @ pq[1]))


def linear_maps(V: _VectBase, A: Space, B: Space) -> Strategy:
    return matrices(V, B.dim, A.dim).map(lambda m: V.morphism(m, A, B))


def vect_gens(V: _VectBase, max_dim: int = 3) -> dict[str, Strategy]:
    """Kinds ``object``, ``arrow``, ``chain2``, ``chain3`` for the category suite."""
    return category_gens(spaces(max_dim), hom=lambda A, B: linear_maps(V, A, B))


def vect_diagrams(V: _VectBase, max_dim: int = 2, shapes: Any = None) -> Strategy:
    """Products, pullbacks, spans, parallel pairs and random shapes of small spaces."""
    return (shapes or named_shapes()).flatmap(
        lambda shape: on_shape(
            V, shape, lambda _: spaces(max_dim), lambda a, b: linear_maps(V, a, b)
        )
    )


def _zeros(exact: bool, r: int, c: int) -> Any:
    return sympy.zeros(r, c) if exact else np.zeros((r, c))


def relations(d: Diagram, exact: bool, co: bool) -> tuple[Any, dict, int]:
    """Rows ``D(e) x_u - x_v`` (limits: a cone's columns are in their kernel) or rows
    ``(i_v D(e) - i_u) e_j`` for each basis vector ``e_j`` of ``D(u)`` (colimits: a
    cocone's rows annihilate them), entry by entry over ``(+)_n D(n)``."""
    dims = {n: d.objects[n].dim for n in d.nodes}
    offsets = dict(zip(d.nodes, itertools.accumulate([0] + [dims[n] for n in d.nodes])))
    total = sum(dims.values())
    blocks = []
    for u, v, k in d.edges:
        m = d.arrows[(u, v, k)].matrix
        block = _zeros(exact, dims[u] if co else dims[v], total)
        for i, j in itertools.product(range(dims[v]), range(dims[u])):
            block[(j, offsets[v] + i) if co else (i, offsets[u] + j)] += m[i, j]
        for i in range(dims[u] if co else dims[v]):
            block[i, offsets[u if co else v] + i] -= 1
        blocks.append(block)
    return _stack(blocks, total, exact), offsets, total


def _stack(blocks: list, cols: int, exact: bool) -> Any:
    if exact:
        return sympy.Matrix.vstack(sympy.zeros(0, cols), *blocks)
    return np.vstack([np.zeros((0, cols)), *blocks])


def null_space(m: Any, cols: int, exact: bool) -> Any:
    """A basis of ``ker m`` as columns (sympy when exact, SVD with a fixed tolerance else)."""
    if exact:
        if m.rows == 0:
            return sympy.eye(cols)
        vs = m.nullspace()
        return sympy.Matrix.hstack(*vs) if vs else sympy.zeros(cols, 0)
    if m.shape[0] == 0 or cols == 0:
        return np.eye(cols)
    _, s, vt = np.linalg.svd(m)
    rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
    return vt[rank:].T


def vect_cones(d: Diagram, max_apex: int = 2) -> Strategy:
    """Cones ``K R`` over ``d`` (``K`` a kernel basis computed here, ``R`` random)."""
    V = d.category
    exact = is_exact(V)
    m, offsets, total = relations(d, exact, co=False)
    K = null_space(m, total, exact)

    @st.composite
    def build(draw: Any) -> Cone:
        apex = draw(spaces(max_apex))
        X = K @ draw(entries(V, (K.shape[1], apex.dim)))
        legs = {
            n: V.morphism(X[offsets[n] : offsets[n] + d.objects[n].dim, :], apex, d.objects[n])
            for n in d.nodes
        }
        return Cone(apex, legs)

    return build()


def vect_cocones(d: Diagram, max_apex: int = 2) -> Strategy:
    """Cocones ``R P`` under ``d`` (rows of ``P`` span the annihilator of the relations)."""
    V = d.category
    exact = is_exact(V)
    m, offsets, total = relations(d, exact, co=True)
    P = null_space(m, total, exact).T

    @st.composite
    def build(draw: Any) -> Cocone:
        apex = draw(spaces(max_apex))
        X = draw(entries(V, (apex.dim, P.shape[0]))) @ P
        legs = {
            n: V.morphism(X[:, offsets[n] : offsets[n] + d.objects[n].dim], d.objects[n], apex)
            for n in d.nodes
        }
        return Cocone(apex, legs)

    return build()


def _blind_directions(legs: list[LinearMap], exact: bool, co: bool, k: int) -> Any:
    """Columns spanning the arrows ``E`` with ``E ; leg = 0`` for every leg (limits) or
    ``leg ; E = 0`` (colimits): a second mediating morphism differs from the first by one."""
    if co:
        stacked = (
            sympy.Matrix.hstack(sympy.zeros(k, 0), *[f.matrix for f in legs])
            if exact
            else np.hstack([np.zeros((k, 0)), *[f.matrix for f in legs]])
        )
        return null_space(stacked.T, k, exact)
    return null_space(_stack([f.matrix for f in legs], k, exact), k, exact)


def perturbations(co: bool = False) -> Any:
    """``perturb(u, L)``: ``u`` plus random combinations of the blind directions of the
    (co)limit ``L``'s legs, and ``u`` plus one random matrix."""

    def perturb(u: LinearMap, L: Any) -> Strategy:
        V = u.category
        exact = is_exact(V)
        apex, other = (u.dom, u.cod) if co else (u.cod, u.dom)
        N = _blind_directions([L.leg(n) for n in L.diagram.nodes], exact, co, apex.dim)

        @st.composite
        def build(draw: Any) -> list:
            out = []
            for _ in range(2):
                R = draw(entries(V, (N.shape[1], other.dim)))
                shift = (N @ R).T if co else N @ R
                out.append(V.morphism(u.matrix + shift, u.dom, u.cod))
            out.append(V.morphism(u.matrix + draw(entries(V, u.matrix.shape)), u.dom, u.cod))
            return out

        return build()

    return perturb


def vect_kit(V: _VectBase, max_dim: int = 2) -> Kit:
    """Cones and cocones from the second implementation above, for ``V``."""

    def shaped(shape: tuple) -> Strategy:
        return on_shape(V, shape, lambda _: spaces(max_dim), lambda a, b: linear_maps(V, a, b))

    return Kit(
        V,
        vect_diagrams(V, max_dim),
        vect_cones,
        vect_cocones,
        perturbations(co=False),
        perturbations(co=True),
        shaped,
    )

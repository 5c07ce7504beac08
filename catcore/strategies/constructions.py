"""Strategies for the constructions on a category: ``Op(C)``, ``C x D``, slices and
coslices (``docs/catcore.md``, "Constructions").

Each is derived from the strategies of the categories it is built from: cones in
``Op(C)`` are cocones of ``C`` read backwards (so the limit suite on ``Op(C)`` checks the
colimits of ``C`` a second time); cones in ``C x D`` are pairs of cones on one shape;
cones in a slice of FinSet are brute-force cones over the diagram with the base object
attached, assembled here.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from catcore.colimits import Cocone
from catcore.diagram import Diagram
from catcore.instances.finset import FinSetCategory
from catcore.instances.op import Op
from catcore.instances.product import PairArrow, ProductCategory
from catcore.instances.slice import Slice
from catcore.limits import Cone
from catcore.strategies.finset import (
    all_functions,
    finset_cocones,
    finset_cones,
    finsets,
    functions,
    perturbations,
)
from catcore.strategies.generic import HomStrategy, Kit, named_shapes
from catcore.suites.basic import category_gens

Strategy = st.SearchStrategy


# ------------------------------------------------------------------ Op(C)


def op_hom(op: Op, hom: HomStrategy) -> HomStrategy:
    """Arrows ``a -> b`` of ``Op(C)`` from arrows ``b -> a`` of ``C``."""
    return lambda a, b: hom(b, a).map(op.op)


def op_kit(op: Op, base: Kit) -> Kit:
    """Limits of ``Op(C)`` checked with the cocones of ``C``, colimits with its cones."""
    C = op.base

    def flip(d: Diagram) -> Diagram:
        return d.opposite(op, op.op)

    def unflip(d: Diagram) -> Diagram:
        return d.opposite(C, op.unop)

    def cones(d: Diagram) -> Strategy:
        return base.cocones(unflip(d)).map(
            lambda c: Cone(c.apex, {n: op.op(f) for n, f in c.legs.items()})
        )

    def cocones(d: Diagram) -> Strategy:
        return base.cones(unflip(d)).map(
            lambda c: Cocone(c.apex, {n: op.op(f) for n, f in c.legs.items()})
        )

    def perturb(u: Any, L: Any) -> Strategy:
        return base.coperturb(u.arrow, C.colimit(unflip(L.diagram))).map(
            lambda fs: [op.op(f) for f in fs]
        )

    def coperturb(u: Any, L: Any) -> Strategy:
        return base.perturb(u.arrow, C.limit(unflip(L.diagram))).map(
            lambda fs: [op.op(f) for f in fs]
        )

    return Kit(op, base.diagrams.map(flip), cones, cocones, perturb, coperturb)


# ------------------------------------------------------------------ C x D


def product_hom(P: ProductCategory, left: HomStrategy, right: HomStrategy) -> HomStrategy:
    return lambda a, b: st.tuples(left(a[0], b[0]), right(a[1], b[1])).map(lambda fg: P.pair(*fg))


def product_gens(P: ProductCategory, left: dict, right: dict) -> dict[str, Strategy]:
    """Category kinds for ``C x D`` from each factor's ``object`` strategy and hom."""
    objects = st.tuples(left["object"], right["object"])
    return category_gens(objects, hom=product_hom(P, left["hom"], right["hom"]))


def product_kit(P: ProductCategory, left: Kit, right: Kit) -> Kit:
    """Diagrams of one shape in both factors; (co)cones and perturbations in pairs."""

    def diagrams_on(shape: tuple) -> Strategy:
        return st.tuples(left.on_shape(shape), right.on_shape(shape)).flatmap(
            lambda lr: _paired(P, *lr)
        )

    def families(kind: str, make: type) -> Any:
        def draw_pairs(d: Diagram) -> Strategy:
            halves = (d.image(P.first), d.image(P.second))
            sides = (getattr(left, kind)(halves[0]), getattr(right, kind)(halves[1]))
            return st.tuples(*sides).map(
                lambda ab: make(
                    (ab[0].apex, ab[1].apex),
                    {n: P.pair(ab[0].legs[n], ab[1].legs[n]) for n in d.nodes},
                )
            )

        return draw_pairs

    def perturbing(kind: str) -> Any:
        def perturb(u: PairArrow, L: Any) -> Strategy:
            compute = "colimit" if kind == "coperturb" else "limit"
            halves = (L.diagram.image(P.first), L.diagram.image(P.second))
            lefts = getattr(left, kind)(u.first, getattr(P.left, compute)(halves[0]))
            rights = getattr(right, kind)(u.second, getattr(P.right, compute)(halves[1]))
            return st.tuples(lefts, rights).map(
                lambda ab: (
                    [P.pair(f, u.second) for f in ab[0]] + [P.pair(u.first, g) for g in ab[1]]
                )
            )

        return perturb

    return Kit(
        P,
        named_shapes().flatmap(diagrams_on),
        families("cones", Cone),
        families("cocones", Cocone),
        perturbing("perturb"),
        perturbing("coperturb"),
        diagrams_on,
    )


def _paired(P: ProductCategory, a: Diagram, b: Diagram) -> Strategy:
    """The diagram of pairs, on the edges both factors kept (a factor drops an edge whose
    hom-set is empty)."""
    edges = [e for e in a.edges if e in b.arrows]
    objects = {n: (a.objects[n], b.objects[n]) for n in a.nodes}
    arrows = {e: P.pair(a.arrows[e], b.arrows[e]) for e in edges}
    return st.just(Diagram.of(P, objects, arrows))


# ------------------------------------------------------------------ slices of FinSet

BASE = "__x__"  # this module's name for the base object's node


def over_objects(C: FinSetCategory, X: Any, co: bool) -> Strategy:
    """Arrows ``A -> X`` (or ``X -> A``) for small sets ``A``."""
    sets = finsets(C, max_size=2)
    if co:
        return sets.filter(lambda A: len(A) or not len(X)).flatmap(lambda A: functions(X, A, C))
    return sets.filter(lambda A: len(X) or not len(A)).flatmap(lambda A: functions(A, X, C))


def over_hom(S: Slice) -> HomStrategy:
    """All arrows ``p -> q`` of the slice (or coslice), found by filtering every function."""
    C = S.base

    def hom(p: Any, q: Any) -> Strategy:
        src, dst = (p.cod, q.cod) if S.co else (p.dom, q.dom)
        found = []
        for h in all_functions(src, dst, C):
            if S.triangle_problem_of(p, q, h) is None:
                found.append(S.arrow(p, q, h))
        return st.sampled_from(found) if found else st.nothing()

    return hom


def slice_gens(S: Slice) -> dict[str, Strategy]:
    return category_gens(over_objects(S.base, S.over, S.co), hom=over_hom(S))


def _attached(S: Slice, d: Diagram) -> Diagram:
    """The underlying diagram with the base object at :data:`BASE`, built here."""
    objects = {BASE: S.over}
    arrows = {}
    for n, p in d.objects.items():
        objects[n] = p.cod if S.co else p.dom
        arrows[(BASE, n, "x") if S.co else (n, BASE, "x")] = p
    for e in d.edges:
        arrows[e] = d.arrows[e].arrow
    return Diagram.of(S.base, objects, arrows)


def slice_kit(S: Slice) -> Kit:
    """Limits of a slice of FinSet (cones over the diagram with ``X`` attached, by brute
    force), or colimits of a coslice (cocones, enumerated)."""
    hom = over_hom(S)

    @st.composite
    def diagrams(draw: Any) -> Diagram:
        nodes, edges = draw(named_shapes())
        obs = {n: draw(over_objects(S.base, S.over, S.co)) for n in nodes}
        arrows = {}
        for k, (u, v) in enumerate(edges):
            options = hom(obs[u], obs[v])
            if not options.is_empty:
                arrows[(u, v, k)] = draw(options)
        return Diagram.of(S, obs, arrows)

    def cones(d: Diagram) -> Strategy:
        def lift(c: Cone) -> Cone:
            apex = c.legs[BASE]
            return Cone(apex, {n: S.arrow(apex, d.objects[n], c.legs[n]) for n in d.nodes})

        return finset_cones(_attached(S, d), max_apex=2).map(lift)

    def cocones(d: Diagram) -> Strategy:
        def lift(c: Cocone) -> Cocone:
            apex = c.legs[BASE]
            return Cocone(apex, {n: S.arrow(d.objects[n], apex, c.legs[n]) for n in d.nodes})

        return finset_cocones(_attached(S, d), max_apex=2).map(lift)

    def perturb(u: Any, _L: Any) -> Strategy:
        def valid(fs: list) -> list:
            return [
                S.arrow(u.dom, u.cod, f)
                for f in fs
                if S.triangle_problem_of(u.dom, u.cod, f) is None
            ]

        return perturbations(u.arrow).map(valid)

    if S.co:
        return Kit(S, diagrams(), None, cocones, None, perturb)
    return Kit(S, diagrams(), cones, None, perturb, None)


__all__ = [
    "op_hom",
    "op_kit",
    "product_gens",
    "product_hom",
    "product_kit",
    "slice_gens",
    "slice_kit",
]

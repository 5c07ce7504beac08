"""Obligations that run catcore's law suites on its built-in instances with generated
examples (hypothesis strategies, independent cones), and that check the checkers: a
deliberately broken instance must be caught. See ``docs/theory.md``, "Category laws".
"""

from __future__ import annotations

import numpy as np
import sympy
from hypothesis import strategies as st

from proofs_check.obligations.common import report_outcome
from proofs_check.obligations.laws import chains, free_graph
from proofs_check.obligations.limits import finsets, maps
from proofs_check.registry import Outcome, obligation

# -- property-based suites on every built-in instance ---------------------------------------
_MAX = 30


def _rational_matrix(rows: int, cols: int) -> st.SearchStrategy:
    entry = st.tuples(st.integers(-4, 4), st.sampled_from([1, 1, 2, 3])).map(
        lambda pq: sympy.Rational(*pq)
    )
    return st.lists(entry, min_size=rows * cols, max_size=rows * cols).map(
        lambda xs: sympy.Matrix(rows, cols, xs)
    )


def _vect_gens(V, matrix):
    from catcore.instances import Space

    dims = st.integers(0, 3)
    hom = lambda A, B: matrix(B.dim, A.dim).map(lambda m: V.morphism(m, A, B))  # noqa: E731
    return dims.map(Space), hom


def _cospans(objects, hom):
    """Cospan diagrams A -> C <- B and cones over them from generated arrows."""
    from catcore.limits import Cone, Diagram

    def diagram(abc):
        A, B, C = abc
        return st.tuples(hom(A, C), hom(B, C)).map(
            lambda fg: Diagram.of(
                fg[0].category, {"A": A, "B": B, "C": C}, {("A", "C"): fg[0], ("B", "C"): fg[1]}
            )
        )

    diagrams = st.tuples(objects, objects, objects).flatmap(diagram)

    def cone(d):  # a cone through the limit itself, precomposed with an arbitrary arrow
        L = d.category.limit(d)
        return st.tuples(objects).flatmap(
            lambda X: hom(X[0], L.apex).map(
                lambda u: (d, Cone(X[0], {n: u >> L.leg(n) for n in d.nodes}))
            )
        )

    return diagrams, diagrams.flatmap(cone)


def _limit_gens(objects, hom):
    diagrams, cones = _cospans(objects, hom)
    candidates = cones.flatmap(
        lambda dc: st.lists(hom(dc[1].apex, dc[0].category.limit(dc[0]).apex), max_size=3).map(
            lambda ms: (*dc, ms)
        )
    )
    return {"diagram": diagrams, "cone": cones, "candidates": candidates}


@obligation(
    "suites.finset",
    "catcore's category and limit rule sets hold for FinSet on random non-empty sets (size "
    "<= 5), functions, cospans, cones and candidate mediating maps.",
    "property",
    "category-laws",
)
def suite_finset() -> Outcome:
    from catcore.instances import FinSet
    from catcore.laws import check
    from catcore.suites import category_gens, category_laws, limit_laws

    def hom(A, B):
        if len(B) == 0:  # only the empty set maps to the empty set
            return st.just(FinSet.morphism(A, B, {})) if len(A) == 0 else st.nothing()
        return st.lists(st.sampled_from(list(B)), min_size=len(A), max_size=len(A)).map(
            lambda vs: FinSet.morphism(A, B, dict(zip(A, vs)))
        )

    nonempty = st.integers(1, 5).map(lambda n: FinSet.object(range(n)))
    cat = check(category_laws(FinSet), category_gens(nonempty, hom), max_examples=_MAX)
    lim = check(limit_laws(FinSet), _limit_gens(nonempty, hom), max_examples=_MAX)
    return report_outcome(cat, lim)


@obligation(
    "suites.vectq",
    "catcore's category and limit rule sets hold exactly for Vect over Q on random rational "
    "matrices (dimensions 0..3), cospans, cones and candidate mediating maps.",
    "property",
    "limits-vect",
)
def suite_vectq() -> Outcome:
    from catcore.instances import VectQ
    from catcore.laws import check
    from catcore.suites import category_gens, category_laws, limit_laws

    objects, hom = _vect_gens(VectQ, _rational_matrix)
    cat = check(category_laws(VectQ), category_gens(objects, hom), max_examples=_MAX)
    lim = check(limit_laws(VectQ), _limit_gens(objects, hom), max_examples=20)
    return report_outcome(cat, lim)


@obligation(
    "suites.vectr",
    "catcore's category and limit rule sets hold within tolerance for numeric Vect over R on "
    "random float matrices (dimensions 0..3).",
    "property",
    "limits-vect",
)
def suite_vectr() -> Outcome:
    from catcore.instances import VectR
    from catcore.laws import check
    from catcore.suites import category_gens, category_laws, limit_laws

    def matrix(r, c):
        entry = st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 2))
        return st.lists(entry, min_size=r * c, max_size=r * c).map(
            lambda xs: np.array(xs, dtype=float).reshape(r, c)
        )

    objects, hom = _vect_gens(VectR, matrix)
    cat = check(category_laws(VectR), category_gens(objects, hom), VectR.equality, _MAX)
    lim = check(limit_laws(VectR), _limit_gens(objects, hom), VectR.equality, 25)
    return report_outcome(cat, lim)


@obligation(
    "suites.poset-and-free",
    "catcore's category rule set holds for the poset Div(360) and for the free category on a "
    "graph with a cycle; the limit rule set holds for Div(360) (meets).",
    "property",
    "category-laws",
)
def suite_poset_free() -> Outcome:
    from catcore.instances import FreeCategory, Poset
    from catcore.laws import check
    from catcore.suites import category_gens, category_laws, limit_laws

    P = Poset.divisibility(360)
    up = lambda a: st.sampled_from([b for b in P.elements if P.leq(a, b)]).map(  # noqa: E731
        lambda b: P.arrow(a, b)
    )
    objects = st.sampled_from(list(P.elements))
    poset = check(category_laws(P), category_gens(objects, arrows_from=up), max_examples=_MAX)

    lim = check(limit_laws(P), _poset_limit_gens(P), max_examples=25)
    C = FreeCategory(free_graph())

    def walk(n):
        return st.lists(st.integers(0, 5), max_size=3).map(lambda picks: _walk(C, n, picks))

    free = check(
        category_laws(C),
        category_gens(st.sampled_from(list(C.graph.nodes)), arrows_from=walk),
        max_examples=_MAX,
    )
    return report_outcome(poset, lim, free)


def _poset_limit_gens(P):
    """Cospans a -> c <- b in a poset, cones over them and candidate mediating arrows."""
    from catcore.limits import Cone, Diagram

    elems = list(P.elements)

    def below(c):
        return st.sampled_from([a for a in elems if P.leq(a, c)])

    def cospan(c):
        return st.tuples(below(c), below(c)).map(
            lambda ab: Diagram.of(
                P,
                {"A": ab[0], "B": ab[1], "C": c},
                {("A", "C"): P.arrow(ab[0], c), ("B", "C"): P.arrow(ab[1], c)},
            )
        )

    diagrams = st.sampled_from(elems).flatmap(cospan)

    def cone(d):
        m = P.limit(d).apex
        return below(m).map(lambda x: (d, Cone(x, {n: P.arrow(x, d.objects[n]) for n in d.nodes})))

    cones = diagrams.flatmap(cone)
    candidates = cones.map(lambda dc: (*dc, [P.arrow(dc[1].apex, P.limit(dc[0]).apex)]))
    return {"diagram": diagrams, "cone": cones, "candidates": candidates}


def _walk(C, start, picks):
    path = C.identity(start)
    for i in picks:
        edges = list(C.graph.out_edges(path.cod, keys=True))
        if not edges:
            break
        path = path >> C.path([edges[i % len(edges)]])
    return path


def _q_to_r():
    """The functor Vect_Q -> Vect_R sending a rational matrix to its float matrix."""
    from catcore.functor import Functor
    from catcore.instances import VectQ, VectR

    return Functor(
        VectQ, VectR, lambda A: A, lambda f: VectR.morphism(f.array(), f.dom, f.cod), name="Q->R"
    )


@obligation(
    "suites.functor.q-to-r",
    "The base-change functor Vect_Q -> Vect_R satisfies the functor laws (within tolerance) and "
    "preserves pullbacks (catcore's comparison map is an isomorphism) on random rational data.",
    "property",
    "functors",
)
def suite_q_to_r() -> Outcome:
    from catcore.instances import VectQ, VectR
    from catcore.laws import check
    from catcore.suites import category_gens, functor_laws, preservation_laws

    F = _q_to_r()
    objects, hom = _vect_gens(VectQ, _rational_matrix)
    laws = check(functor_laws(F, VectR.equality), category_gens(objects, hom), max_examples=_MAX)
    diagrams, _ = _cospans(objects, hom)
    pres = check(preservation_laws(F), {"diagram": diagrams}, max_examples=25)
    return report_outcome(laws, pres)


@obligation(
    "suites.checkers-catch-broken-instances",
    "The law checkers are not vacuous: catcore's rule sets report a counterexample for a FinSet "
    "whose composite sends the first element to the first element of the codomain, for a "
    "Vect whose identity is 2I, for a functor sending every endomorphism to the identity and "
    "for a non-natural family (reversing each set).",
    "property",
    "category-laws",
)
def checkers_catch_broken() -> Outcome:
    from catcore.functor import Functor, identity_functor
    from catcore.instances import FinSet
    from catcore.instances.finset import FinSetCategory
    from catcore.instances.vect import VectQCategory
    from catcore.laws import check, check_examples
    from catcore.natural import NaturalTransformation
    from catcore.suites import category_gens, category_laws, functor_laws, naturality_laws

    class FirstToFirst(FinSetCategory):  # composites send the first element to the first
        name = "FinSet(broken)"

        def _compose(self, f, g):
            h = super()._compose(f, g)
            if len(h.dom):
                h.mapping[next(iter(h.dom))] = next(iter(h.cod))
            h.category = self
            return h

        def identity(self, obj):
            return _rebind(self, super().identity(obj))

    class DoubleId(VectQCategory):
        name = "Vect_Q(2I)"

        def identity(self, obj):
            return self.morphism(2 * sympy.eye(obj.dim), obj, obj)

    B = FirstToFirst()
    objects = st.integers(1, 3).map(lambda n: B.object(range(n)))

    def hom(A, Bo):
        return st.lists(st.sampled_from(list(Bo)), min_size=len(A), max_size=len(A)).map(
            lambda vs: _rebind(B, FinSet.morphism(A, Bo, dict(zip(A, vs))))
        )

    caught = {}
    caught["broken composition"] = check(
        category_laws(B), category_gens(objects, hom), max_examples=_MAX
    )
    D = DoubleId()
    mats = [D.morphism(sympy.Matrix(m)) for m in ([[1]], [[0, 1], [1, 0]], [[1, 2], [3, 4]])]
    caught["identity 2I"] = check_examples(category_laws(D), {"arrow": mats, "chain3": []})
    small = finsets(2)
    ex = {
        "object": small,
        "arrow": [f for A in small for C in small for f in maps(A, C)],
        "chain2": chains(small, lambda A, C: list(maps(A, C)), 2),
    }
    ident = identity_functor(FinSet)
    lazy = Functor(
        FinSet,
        FinSet,
        lambda A: A,
        lambda f: FinSet.identity(f.dom) if f.dom == f.cod else f,
        name="lazy",
    )
    caught["endomorphisms to identities"] = check_examples(functor_laws(lazy), ex)
    reverse = NaturalTransformation(
        ident,
        ident,
        lambda A: FinSet.morphism(A, A, {a: list(A)[-1 - list(A).index(a)] for a in A}),
        name="reverse",
    )
    caught["non-natural family"] = check_examples(naturality_laws(reverse), ex)
    missed = [name for name, rep in caught.items() if not rep.failures]
    if missed:
        return Outcome.fail({"not caught": missed}, "a broken instance passed its laws")
    return Outcome.ok(
        "; ".join(f"{name}: caught ({rep.failures[0].law})" for name, rep in caught.items())
    )


def _rebind(category, f):
    f.category = category
    return f


@obligation(
    "suites.catcore-catalogue",
    "Every entry of catcore's own catalogue of built-in law checks (catcore.strategies."
    "builtin_checks: category, limit and 2-cell rule sets on FinSet, Vect_Q, Vect_R, a free "
    "category, Div(12) and Paths(R^2)) passes with its own generators and equality.",
    "property",
    "category-laws",
)
def catcore_catalogue() -> Outcome:
    from catcore.strategies import builtin_checks

    return report_outcome(*(c.run(max_examples=10) for c in builtin_checks()))

"""Obligations about the category, functor and naturality laws of catcore's built-in instances.

Exhaustive obligations hand catcore's rule sets every small example (``check_examples``);
property obligations let hypothesis search (``check``). A last obligation checks the checkers:
deliberately broken instances must be caught. See ``docs/theory.md``, "Category laws".
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import sympy
from hypothesis import strategies as st

from proofs_check.obligations.common import report_outcome
from proofs_check.obligations.limits import finsets, maps, maybe_functor
from proofs_check.registry import Outcome, obligation


def _chains(objects, hom, length):
    """Every composable chain of ``length`` arrows through ``objects``."""
    if length == 1:
        return [(f,) for A in objects for B in objects for f in hom(A, B)]
    return [
        (*c, g)
        for c in _chains(objects, hom, length - 1)
        for B in objects
        for g in hom(c[-1].cod, B)
    ]


def _examples(objects, hom):
    arrows = [f for A in objects for B in objects for f in hom(A, B)]
    return {
        "object": objects,
        "arrow": arrows,
        "chain2": _chains(objects, hom, 2),
        "chain3": _chains(objects, hom, 3),
    }


@obligation(
    "category.finset.exhaustive",
    "FinSet satisfies the identity and associativity laws on every function between sets of "
    "size <= 3 (identities) and every composable triple through sets of size 1..3.",
    "exhaustive",
    "category-laws",
)
def finset_exhaustive() -> Outcome:
    from catcore.instances import FinSet
    from catcore.laws import check_examples
    from catcore.suites import category_laws

    small = finsets(3)
    hom = lambda A, B: list(maps(A, B))  # noqa: E731
    ex = {"arrow": [f for A in small for B in small for f in hom(A, B)]}
    ex["chain3"] = _chains(small[1:], hom, 3)
    return report_outcome(check_examples(category_laws(FinSet), ex))


@obligation(
    "category.poset.exhaustive",
    "The divisibility poset Div(60) as a category satisfies the identity and associativity "
    "laws on every arrow and every composable triple (a | b | c | d).",
    "exhaustive",
    "category-laws",
)
def poset_exhaustive() -> Outcome:
    from catcore.instances import Poset
    from catcore.laws import check_examples
    from catcore.suites import category_laws

    P = Poset.divisibility(60)
    hom = lambda a, b: [P.arrow(a, b)] if P.leq(a, b) else []  # noqa: E731
    return report_outcome(check_examples(category_laws(P), _examples(list(P.elements), hom)))


def _graph() -> nx.MultiDiGraph:
    """A small graph with a cycle, a loop and parallel edges."""
    g = nx.MultiDiGraph()
    g.add_edges_from([(0, 1), (0, 1), (1, 2), (2, 0), (2, 2), (1, 3)])
    return g


@obligation(
    "category.free.exhaustive",
    "The free category on a graph with a cycle, a loop and parallel edges satisfies the category "
    "laws on every path of length <= 3 (chains of 3 such paths), and the number of paths of "
    "length k from u to v is the (u, v) entry of the k-th power of the adjacency matrix (k <= 4).",
    "exhaustive",
    "category-laws",
)
def free_exhaustive() -> Outcome:
    from catcore.instances import FreeCategory
    from catcore.laws import check_examples
    from catcore.suites import category_laws

    C = FreeCategory(_graph())
    nodes = list(C.graph.nodes)
    edges = list(C.graph.edges(keys=True))
    by_len = {0: [C.identity(n) for n in nodes]}
    for k in range(1, 5):
        by_len[k] = [p >> C.path([e]) for p in by_len[k - 1] for e in edges if e[0] == p.cod]
    adj = nx.to_numpy_array(C.graph, nodelist=nodes, multigraph_weight=sum).astype(int)
    for k in range(1, 5):
        counts = np.zeros_like(adj)
        for p in by_len[k]:
            counts[nodes.index(p.dom), nodes.index(p.cod)] += 1
        if not np.array_equal(counts, np.linalg.matrix_power(adj, k)):
            return Outcome.fail(
                {
                    "length": k,
                    "counted": counts.tolist(),
                    "adjacency power": np.linalg.matrix_power(adj, k).tolist(),
                }
            )
    short = [p for k in range(3) for p in by_len[k]]
    hom = lambda a, b: [p for p in short if p.dom == a and p.cod == b]  # noqa: E731
    return report_outcome(check_examples(category_laws(C), _examples(nodes, hom)))


def _times_functor(S):
    """FinSet functor A |-> A x S, f |-> f x id_S."""
    from catcore.functor import Functor
    from catcore.instances import FinSet

    def ob(A):
        return FinSet.object([(a, x) for a in A for x in S])

    def ar(f):
        return FinSet.morphism(ob(f.dom), ob(f.cod), {(a, x): (f(a), x) for a in f.dom for x in S})

    return Functor(FinSet, FinSet, ob, ar, name=f"-x{len(S)}")


@obligation(
    "functor.finset.exhaustive",
    "The FinSet functors A x S (|S| = 2) and Maybe(A) = A + 1 preserve identities and "
    "composition, and the projection A x S => A and the unit A => A + 1 are natural, on every "
    "function and composable pair between sets of size <= 3.",
    "exhaustive",
    "functors",
)
def functor_exhaustive() -> Outcome:
    from catcore.functor import identity_functor
    from catcore.instances import FinSet
    from catcore.laws import check_examples
    from catcore.natural import NaturalTransformation
    from catcore.suites import functor_laws, naturality_laws

    small = finsets(3)
    hom = lambda A, B: list(maps(A, B))  # noqa: E731
    ex = {
        "object": small,
        "arrow": [f for A in small for B in small for f in hom(A, B)],
        "chain2": _chains(small, hom, 2),
    }
    S = ("l", "r")
    times, maybe, ident = _times_functor(S), maybe_functor(), identity_functor(FinSet)
    proj = NaturalTransformation(
        times,
        ident,
        lambda A: FinSet.morphism(times.ob(A), A, {(a, x): a for a in A for x in S}),
        name="proj",
    )
    unit = NaturalTransformation(
        ident, maybe, lambda A: FinSet.morphism(A, maybe.ob(A), {a: a for a in A}), name="unit"
    )
    reports = [check_examples(functor_laws(F), ex) for F in (times, maybe)]
    reports += [check_examples(naturality_laws(alpha), ex) for alpha in (proj, unit)]
    return report_outcome(*reports)


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
    C = FreeCategory(_graph())

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
        "chain2": _chains(small, lambda A, C: list(maps(A, C)), 2),
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

"""Obligations about the category, functor and naturality laws of catcore's built-in instances.

Exhaustive obligations hand catcore's rule sets every small example (``check_examples``);
property obligations let hypothesis search (``check``). A last obligation checks the checkers:
deliberately broken instances must be caught. See ``docs/theory.md``, "Category laws".
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from proofs_check.obligations.common import report_outcome
from proofs_check.obligations.limits import finsets, maps, maybe_functor
from proofs_check.registry import Outcome, obligation


def chains(objects, hom, length):
    """Every composable chain of ``length`` arrows through ``objects``."""
    if length == 1:
        return [(f,) for A in objects for B in objects for f in hom(A, B)]
    return [
        (*c, g)
        for c in chains(objects, hom, length - 1)
        for B in objects
        for g in hom(c[-1].cod, B)
    ]


def _examples(objects, hom):
    arrows = [f for A in objects for B in objects for f in hom(A, B)]
    return {
        "object": objects,
        "arrow": arrows,
        "chain2": chains(objects, hom, 2),
        "chain3": chains(objects, hom, 3),
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
    ex["chain3"] = chains(small[1:], hom, 3)
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


def free_graph() -> nx.MultiDiGraph:
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

    C = FreeCategory(free_graph())
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
        "chain2": chains(small, hom, 2),
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

"""Test helpers over :mod:`catcore.strategies`: the old names the catcore tests use, and a
hand-written functor (the free vector space on a finite set) that the library does not ship.

The (co)cones and uniqueness candidates come from the library's strategies, which build
them by brute force or a second implementation, never from the (co)limit algorithm.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import sympy
from hypothesis import strategies as st

from catcore import Functor
from catcore.instances import FinSet, FinSetCategory, FreeCategory, Paths, Poset, Space, VectQ
from catcore.instances.vect import _VectBase
from catcore.strategies.finset import (  # noqa: F401 - re-exported for the tests
    all_functions,
    compatible_families,
    finset_diagrams,
    finset_gens,
    finset_kit,
    finsets,
    functions,
)
from catcore.strategies.paths import paths_between, paths_twocell_gens, points
from catcore.strategies.small import (  # noqa: F401 - re-exported for the tests
    free_gens,
    poset_arrows_from,
    poset_diagrams,
    poset_gens,
    poset_kit,
)
from catcore.strategies.vect import (  # noqa: F401 - re-exported for the tests
    linear_maps,
    spaces,
    vect_diagrams,
    vect_gens,
    vect_kit,
)
from catcore.suites import category_gens


def failed_laws(report) -> set[str]:
    assert not report.ok, report.summary()
    for failure in report.failures:
        assert failure.example is not None, failure  # the counterexample is there
        assert failure.reason
    return {f.law for f in report.failures}


def finset_limit_gens(C: FinSetCategory = FinSet) -> dict[str, st.SearchStrategy]:
    return finset_kit(C).limit_gens()


def vect_limit_gens(V: _VectBase) -> dict[str, st.SearchStrategy]:
    return vect_kit(V).limit_gens()


def poset_limit_gens(P: Poset) -> dict[str, st.SearchStrategy]:
    return poset_kit(P).limit_gens()


def twocell_gens(K: Paths) -> dict[str, st.SearchStrategy]:
    return paths_twocell_gens(K)


def paths_gens(K: Paths) -> dict[str, st.SearchStrategy]:
    """Category kinds for ``K``, loops and constant paths included."""

    def arrows_from(a: Any) -> st.SearchStrategy:
        return st.one_of(points(K), st.just(a)).flatmap(lambda b: paths_between(K, a, b))

    return category_gens(points(K), arrows_from=arrows_from)


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


def example_graph_category() -> FreeCategory:
    """A graph with parallel edges, a loop, a cycle and an isolated node."""
    g = nx.MultiDiGraph()
    g.add_nodes_from("abcd")
    g.add_edges_from([("a", "b"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "c")])
    return FreeCategory(g, name="Free(G)")

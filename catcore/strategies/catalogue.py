"""Every law suite on every built-in instance and construction, as a catalogue
(``catcore laws`` and ``catcore prove`` run it; ``docs/catcore.md``, "Law suites")."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import networkx as nx
from hypothesis import settings
from hypothesis import strategies as st

from catcore.functor import Functor
from catcore.instances import (
    BOOLEAN,
    TROPICAL,
    Coslice,
    FinSet,
    FreeCategory,
    Mat,
    Op,
    Paths,
    Poset,
    ProductCategory,
    Rel,
    Slice,
    VectQ,
    VectR,
)
from catcore.laws import Report, RuleSet, check
from catcore.strategies.constructions import (
    op_hom,
    op_kit,
    product_hom,
    product_kit,
    slice_gens,
    slice_kit,
)
from catcore.strategies.finset import finset_gens, finset_kit, finsets, functions
from catcore.strategies.generic import Kit
from catcore.strategies.paths import paths_twocell_gens
from catcore.strategies.small import (
    free_gens,
    mat_gens,
    poset_gens,
    poset_kit,
    rel_gens,
    relations,
    semiring_elements,
)
from catcore.strategies.vect import linear_maps, spaces, vect_gens, vect_kit
from catcore.suites import (
    category_gens,
    category_laws,
    colimit_laws,
    functor_laws,
    limit_laws,
    twocell_laws,
)


@dataclass(frozen=True)
class BuiltinCheck:
    """One rule set on one built-in instance, ready to run (compared with the rule set's
    own equality: the category's)."""

    instance: str
    ruleset: RuleSet
    gens: dict[str, st.SearchStrategy]

    def run(self, max_examples: int | None = None) -> Report:
        return check(self.ruleset, self.gens, max_examples=max_examples)


def _with_limits(name: str, kit: Kit, gens: dict, limits: bool, colimits: bool) -> list:
    C = kit.category
    out = [BuiltinCheck(name, category_laws(C), gens)] if gens else []
    if limits:
        out.append(BuiltinCheck(name, limit_laws(C), kit.limit_gens()))
    if colimits:
        out.append(BuiltinCheck(name, colimit_laws(C), kit.colimit_gens()))
    return out


def free3() -> FreeCategory:
    """The free category on a 3-cycle with a loop and a parallel edge."""
    g = nx.MultiDiGraph([(0, 1), (1, 2), (2, 0), (0, 0), (1, 2)])
    return FreeCategory(g, name="Free(3-cycle with loop)")


def _exact_instances() -> list[BuiltinCheck]:
    div12 = Poset.divisibility(12)
    return [
        *_with_limits("FinSet", finset_kit(FinSet), finset_gens(FinSet), True, True),
        *_with_limits(VectQ.name, vect_kit(VectQ), vect_gens(VectQ), True, True),
        *_with_limits(VectR.name, vect_kit(VectR), vect_gens(VectR), True, True),
        BuiltinCheck("Free(3-cycle with loop)", category_laws(F := free3()), free_gens(F)),
        *_with_limits(div12.name, poset_kit(div12), poset_gens(div12), True, True),
        BuiltinCheck("Rel", category_laws(Rel), rel_gens(Rel)),
        *(
            BuiltinCheck(M.name, category_laws(M), mat_gens(M, semiring_elements(M.semiring)))
            for M in (Mat(BOOLEAN), Mat(TROPICAL))
        ),
    ]


def _constructions() -> list[BuiltinCheck]:
    op = Op(FinSet)
    op_gens = category_gens(finsets(), hom=op_hom(op, lambda a, b: functions(a, b)))
    opq = Op(VectQ)
    FV = ProductCategory(FinSet, VectQ)
    fv_hom = product_hom(FV, lambda a, b: functions(a, b), lambda a, b: linear_maps(VectQ, a, b))
    fv_gens = category_gens(st.tuples(finsets(max_size=2), spaces(2)), hom=fv_hom)
    over = Slice(FinSet, FinSet.object("ab"))
    under = Coslice(FinSet, FinSet.object("a"))
    op_rel = Op(Rel)
    converse_gens = category_gens(finsets(), hom=op_hom(op_rel, relations(Rel)))
    converse = Functor(op_rel, Rel, lambda A: A, lambda r: Rel.converse(r.arrow), name="converse")
    return [
        *_with_limits(op.name, op_kit(op, finset_kit(FinSet)), op_gens, True, True),
        *_with_limits(opq.name, op_kit(opq, vect_kit(VectQ)), {}, True, True),
        *_with_limits(
            FV.name, product_kit(FV, finset_kit(FinSet), vect_kit(VectQ)), fv_gens, True, True
        ),
        *_with_limits(over.name, slice_kit(over), slice_gens(over), True, False),
        *_with_limits(under.name, slice_kit(under), slice_gens(under), False, True),
        BuiltinCheck("Op(Rel) -> Rel", functor_laws(converse), converse_gens),
    ]


def builtin_checks() -> list[BuiltinCheck]:
    """Every applicable law suite on every built-in instance and construction."""
    plane = Paths(2, atol=1e-9, grid_size=9)
    return [
        *_exact_instances(),
        BuiltinCheck(plane.name, twocell_laws(plane), paths_twocell_gens(plane)),
        *_constructions(),
    ]


def law_table(max_examples: int = 25) -> list[dict[str, Any]]:
    """One row per (instance, rule set): laws checked, examples, failures, seconds.

    Examples are derandomized, so the table is the same on every run.
    """
    settings.register_profile("catcore-cli", derandomize=True, database=None, deadline=None)
    settings.load_profile("catcore-cli")
    rows = []
    for c in builtin_checks():
        start = time.perf_counter()
        report = c.run(max_examples=max_examples)
        rows.append(
            {
                "instance": c.instance,
                "ruleset": c.ruleset.name,
                "laws": len(report.checked),
                "examples": sum(report.checked.values()),
                "status": "ok" if report.ok else "FAILED",
                "failures": [str(f) for f in report.failures],
                "seconds": round(time.perf_counter() - start, 2),
            }
        )
    return rows

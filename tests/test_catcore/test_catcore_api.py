"""The public shape of catcore: errors with useful messages, the FinSet/pullback shape the
project promises, laws-as-data reports (vacuity, missing generators), equalities, and the
rule that the abstract layer never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import strategies as st

from catcore import (
    CategoryError,
    CompositionError,
    Equation,
    Exact,
    Functor,
    Law,
    LimitError,
    MorphismError,
    NotAConeError,
    Report,
    RuleSet,
    Tolerance,
    UpToFunctor,
    check,
    check_examples,
    equalizer,
    product,
    pullback,
)
from catcore.instances import FinSet, Paths, Poset, Space, VectQ, VectR
from catcore.limits import Diagram
from catcore.suites import category_gens

# ---------------------------------------------------------------- the promised FinSet shape


def test_finset_pullback_shape_from_the_issue():
    f = FinSet.morphism([1, 2, 3], {"x", "y"}, {1: "x", 2: "y", 3: "x"})
    g = FinSet.morphism(("a", "b"), ["x", "y"], {"a": "x", "b": "y"})
    assert (f.dom, f.cod) == (FinSet.object([1, 2, 3]), FinSet.object("xy"))
    assert f.mapping == {1: "x", 2: "y", 3: "x"}
    assert sorted(f.dom) == [1, 2, 3]
    pb = pullback(f, g)
    p1, p2 = pb.legs
    pairs = {(p1(e), p2(e)) for e in pb.apex}  # FinSet objects iterate over their elements
    assert pairs == {(1, "a"), (3, "a"), (2, "b")}
    # a cone from a two-element set, and its mediating map
    q1 = FinSet.morphism(["u", "v"], f.dom, {"u": 3, "v": 2})
    q2 = FinSet.morphism(["u", "v"], g.dom, {"u": "a", "v": "b"})
    u = pb.universal(q1, q2)
    assert u >> p1 == q1 and u >> p2 == q2
    assert u.dom == q1.dom and u.cod == pb.apex


def test_universal_refuses_a_non_cone():
    f = FinSet.morphism([1, 2], ["x", "y"], {1: "x", 2: "y"})
    pb = pullback(f, f)
    q1 = FinSet.morphism(["u"], [1, 2], {"u": 1})
    q2 = FinSet.morphism(["u"], [1, 2], {"u": 2})
    with pytest.raises(NotAConeError, match="does not commute"):
        pb.universal(q1, q2)  # f(1) = x but f(2) = y
    other_apex = FinSet.morphism(["w"], [1, 2], {"w": 1})
    with pytest.raises(NotAConeError, match="leg at node"):
        pb.universal(q1, other_apex)  # legs from different apexes
    wrong_end = FinSet.morphism(["u"], ["x", "y"], {"u": "x"})
    with pytest.raises(NotAConeError, match="q1 ends at"):
        pb.universal(wrong_end, q1)
    with pytest.raises(NotAConeError, match="q ends at"):
        equalizer(f, f).universal(wrong_end)
    with pytest.raises(NotAConeError):
        product(FinSet, [FinSet.object([1]), FinSet.object([2])]).universal(q1)


def test_universal_on_vect_refuses_a_non_cone():
    f = VectQ.morphism(sympy.Matrix([[1, 0]]))
    pb = pullback(f, f)
    q1 = VectQ.morphism(sympy.Matrix([[1], [0]]))
    q2 = VectQ.morphism(sympy.Matrix([[0], [1]]))
    with pytest.raises(NotAConeError):
        pb.universal(q1, q2)
    assert pb.universal(q1, q1) >> pb.legs[0] == q1


# ---------------------------------------------------------------- errors


def test_composition_error_names_both_ends():
    f = FinSet.morphism([1], ["a"], {1: "a"})
    g = FinSet.morphism(["b"], [2], {"b": 2})
    with pytest.raises(CompositionError) as err:
        f >> g
    assert "{'a'}" in str(err.value) and "{'b'}" in str(err.value)
    with pytest.raises(CompositionError):
        g @ g
    assert isinstance(err.value, CategoryError) and isinstance(err.value, ValueError)


def test_both_composition_notations_agree():
    f = FinSet.morphism([1, 2], ["a", "b"], {1: "a", 2: "a"})
    g = FinSet.morphism(["a", "b"], [0], {"a": 0, "b": 0})
    assert f >> g == g @ f == f.then(g) == FinSet.compose(f, g)


def test_value_outside_the_codomain_shows_the_element():
    with pytest.raises(MorphismError, match=r"value 'z' of 2 is not in the codomain"):
        FinSet.morphism([1, 2], ["a", "b"], {1: "a", 2: "z"})


def test_non_total_function_is_refused():
    with pytest.raises(MorphismError, match=r"not total: no value for \[3\]"):
        FinSet.morphism([1, 2, 3], ["a"], {1: "a", 2: "a"})
    with pytest.raises(MorphismError, match="outside the domain"):
        FinSet.morphism([1], ["a"], {1: "a", 9: "a"})


def test_vectq_rejects_floats_and_wrong_shapes():
    with pytest.raises(MorphismError, match=r"0\.5.*not rational"):
        VectQ.morphism([[1, 0.5]])
    with pytest.raises(MorphismError, match="does not map"):
        VectQ.morphism(sympy.Matrix([[1, 2]]), Space(3), Space(1))
    with pytest.raises(MorphismError, match="non-negative"):
        Space(-1)
    assert VectQ.morphism([[sympy.Rational(1, 2)]]).matrix[0, 0] == sympy.Rational(1, 2)


def test_vectr_rejects_non_finite_entries():
    with pytest.raises(MorphismError, match="not finite"):
        VectR.morphism(np.array([[1.0, np.nan]]))


def test_limit_errors():
    with pytest.raises(LimitError, match="terminal"):
        product(FinSet, [])
    with pytest.raises(MorphismError, match="parallel"):
        equalizer(FinSet.identity([1]), FinSet.identity([2]))
    with pytest.raises(MorphismError, match="common codomain"):
        pullback(FinSet.identity([1]), FinSet.identity([2]))
    f = FinSet.morphism([1], ["a"], {1: "a"})
    with pytest.raises(MorphismError, match="goes"):
        Diagram.of(FinSet, {0: f.cod, 1: f.dom}, {(0, 1): f})


def test_poset_errors():
    import networkx as nx

    P = Poset.divisibility(12)
    with pytest.raises(MorphismError, match="4 <= 6 is false"):
        P.arrow(4, 6)
    with pytest.raises(MorphismError, match="not an element"):
        P.arrow(5, 10)
    with pytest.raises(MorphismError, match="cycle"):
        Poset(nx.DiGraph([(1, 2), (2, 1)]))


def test_homotopy_boundary_conditions_are_checked():
    K = Paths(1)
    f, g = K.linear([0], [1]), K.linear([0], [2])
    with pytest.raises(MorphismError, match="same ends"):
        K.straight(f, g)
    h = K.through([[0], [3], [1]])
    with pytest.raises(MorphismError, match=r"H\(s,1\) = target"):
        K.homotopy(f, h, lambda s, t: f.normalized(s))
    alpha = K.straight(f, K.through([[0], [1]], [0, 2]))
    with pytest.raises(CompositionError, match="vertical composition"):
        alpha.vthen(alpha)
    with pytest.raises(CompositionError, match="horizontal composition"):
        alpha.hthen(K.id2(K.linear([5], [6])))


def test_functor_composition_checks_the_middle():
    F = Functor(FinSet, VectQ, lambda a: Space(len(a)), lambda f: None, "F")
    G = Functor(FinSet, FinSet, lambda a: a, lambda f: f, "G")
    with pytest.raises(ValueError, match="lands in"):
        F >> G
    assert (G >> F).name == "G;F"


# ---------------------------------------------------------------- laws as data


def test_report_is_not_ok_when_a_law_was_only_vacuous():
    only_vacuous = RuleSet("vacuous", (Law("never applies", "n", lambda n: None),))
    report = check(only_vacuous, {"n": st.integers()})
    assert not report.failures and not report.missing
    assert report.checked["never applies"] == report.vacuous["never applies"] > 0
    assert not report.ok
    assert not check_examples(only_vacuous, {"n": [1, 2]}).ok
    with pytest.raises(AssertionError, match="FAILED"):
        report.raise_for_failures()


def test_report_is_not_ok_when_nothing_was_checked():
    assert not Report("empty").ok
    assert not check(RuleSet("no laws"), {}).ok
    missing = check(RuleSet("m", (Law("l", "kind", lambda x: None),)), {})
    assert missing.missing == ["l (needs 'kind')"] and not missing.ok


def test_partly_vacuous_law_is_ok():
    even = RuleSet(
        "even", (Law("halves", "n", lambda n: Equation(n // 2 * 2, n) if n % 2 == 0 else None),)
    )
    report = check_examples(even, {"n": range(6)})
    assert report.ok and report.checked["halves"] == 6 and report.vacuous["halves"] == 3


def test_failures_are_data_with_the_shrunk_counterexample():
    law = Law("small", "n", lambda n: Equation(min(n, 10), n))
    report = check(RuleSet("bounded", (law,)), {"n": st.integers(0, 1000)})
    (failure,) = report.failures
    assert (failure.law, failure.example, failure.lhs, failure.rhs) == ("small", 11, 10, 11)
    assert failure.reason == "10 != 11" and str(failure).startswith("small fails on 11")


def test_check_examples_keeps_every_failure():
    law = Law("positive", "n", lambda n: Equation(abs(n), n))
    report = check_examples(RuleSet("p", (law,)), {"n": [-2, 1, -3]})
    assert [f.example for f in report.failures] == [-2, -3]


def test_exception_while_building_a_side_is_a_failure():
    law = Law("divides", "n", lambda n: Equation(6 // n * n, 6))
    report = check_examples(RuleSet("d", (law,)), {"n": [1, 0]})
    (failure,) = report.failures
    assert failure.example == 0 and "ZeroDivisionError" in failure.reason


def test_a_broken_strategy_is_reported_not_hidden():
    report = check(RuleSet("s", (Law("l", "n", lambda n: Equation(n, n)),)), {"n": st.nothing()})
    assert not report.ok and report.failures[0].example is None


def test_rule_sets_inherit_laws_without_repeats():
    a = Law("a", "n", lambda n: Equation(n, n))
    b = Law("b", "n", lambda n: Equation(n, n))
    parent = RuleSet("parent", (a,))
    child = RuleSet("child", (b, a), parents=(parent,))
    assert [law.name for law in child.all_laws()] == ["a", "b"]


def test_an_equation_may_carry_its_own_equality():
    law = Law("close", "x", lambda x: Equation(x, x + 1e-12, eq=Tolerance()))
    assert check_examples(RuleSet("t", (law,)), {"x": [0.5, 3.0]}, eq=Exact()).ok


def test_category_gens_needs_exactly_one_arrow_source():
    with pytest.raises(ValueError, match="exactly one"):
        category_gens(st.just(1))


# ---------------------------------------------------------------- equality


def test_tolerance_is_symmetric_where_numpy_isclose_is_not():
    eq = Tolerance(rtol=0.1, atol=0.0)
    a, b = np.array([1.0]), np.array([1.105])
    assert np.isclose(a, b, rtol=0.1, atol=0.0)[0] != np.isclose(b, a, rtol=0.1, atol=0.0)[0]
    assert eq(a, b) and eq(b, a)
    assert not eq(np.array([1.0]), np.array([1.2])) and not eq(np.array([1.2]), np.array([1.0]))


def test_tolerance_checks_shape_dtype_and_ends_first():
    eq = Tolerance()
    assert "shapes differ" in eq.explain(np.zeros(2), np.zeros(3))
    assert "non-numeric" in eq.explain(np.array(["a"]), np.array(["a"]))
    assert not eq(np.array([np.nan]), np.array([np.nan]))
    assert "nan" in eq.explain(np.array([np.nan]), np.array([np.nan]))
    f = VectR.morphism(np.zeros((1, 1)))
    g = VectR.morphism(np.zeros((1, 1)), Space(1), Space(1))
    assert eq(f, g)
    assert "dom differs" in eq.explain(
        VectR.morphism(np.zeros((1, 2))), VectR.morphism(np.zeros((1, 1)))
    )
    assert "item 1" in eq.explain((1.0, 2.0), (1.0, 2.5))


def test_up_to_functor_compares_images():
    size_of_image = UpToFunctor(lambda f: len(set(f.mapping.values())))
    const_a = FinSet.morphism([1, 2], ["a", "b"], {1: "a", 2: "a"})
    const_b = FinSet.morphism([1, 2], ["a", "b"], {1: "b", 2: "b"})
    swap = FinSet.morphism([1, 2], ["a", "b"], {1: "b", 2: "a"})
    assert size_of_image(const_a, const_b) and not Exact()(const_a, const_b)
    assert not size_of_image(const_a, swap)
    assert size_of_image.explain(const_a, swap) == "after the functor: 1 != 2"


# ---------------------------------------------------------------- no torch


def test_import_catcore_does_not_import_torch():
    code = (
        "import catcore, catcore.instances, catcore.suites, sys; assert 'torch' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert result.returncode == 0, result.stderr

"""Tests of the proof-obligation registry, its runner and its report (docs/theory.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from proofs_check import METHODS, Obligation, Outcome, Registry, main, run_one
from proofs_check.obligations import load
from proofs_check.symbolic import regionwise_mismatches, unit_concat

ROOT = Path(__file__).resolve().parents[2]
THEORY = ROOT / "docs" / "theory.md"


def planted() -> Registry:
    """A registry with a true obligation, a false one and one whose check raises."""
    reg = Registry()

    @reg.obligation("demo.true", "2 + 2 == 4", "exhaustive", "proof-obligations")
    def _true() -> Outcome:
        return Outcome.ok("checked")

    @reg.obligation("demo.false", "every n < 10 is even", "exhaustive", "proof-obligations")
    def _false() -> Outcome:
        odd = [n for n in range(10) if n % 2]
        return Outcome.fail({"n": odd[0]}, "odd numbers exist") if odd else Outcome.ok()

    @reg.obligation("demo.raises", "a check that crashes", "numeric", "proof-obligations")
    def _raises() -> Outcome:
        raise ZeroDivisionError("planted crash")

    return reg


def test_planted_false_obligation_fails_with_its_counterexample(capsys):
    status = main(["--only", "demo.false"], registry=planted())
    out = capsys.readouterr().out
    assert status == 1
    assert re.search(r"demo\.false\s+exhaustive\s+FAIL", out)
    assert "FAILED demo.false" in out
    assert "counterexample: {'n': 1}" in out
    assert "every n < 10 is even" in out


def test_exception_is_a_failure_not_a_skip(capsys):
    reg = planted()
    result = run_one(reg["demo.raises"])
    assert result.status == "failed" and not result.passed
    assert result.error == "ZeroDivisionError: planted crash"
    assert "planted crash" in result.details
    assert main(["--only", "demo.raises"], registry=reg) == 1
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_a_broken_adapter_fails_only_its_own_obligation():
    reg = planted()

    @reg.obligation("demo.adapter", "needs a missing adapter", "numeric", "proof-obligations")
    def _adapter() -> Outcome:
        import adapters.no_such_module  # noqa: F401

        return Outcome.ok()

    results = {o.name: run_one(o) for o in reg}
    assert results["demo.adapter"].error.startswith("ModuleNotFoundError")
    assert results["demo.true"].passed


def test_a_check_must_return_an_outcome():
    reg = Registry()
    reg.add(Obligation("demo.bool", "returns a bool", "numeric", "x", lambda: True))
    result = run_one(reg["demo.bool"])
    assert result.status == "failed" and "not an Outcome" in result.error


def test_all_passing_selection_exits_zero(capsys):
    assert main(["--only", "demo.true"], registry=planted()) == 0
    assert "1 of 1 obligations passed" in capsys.readouterr().out


def test_json_structure(capsys):
    status = main(["--json"], registry=planted())
    rows = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [r["name"] for r in rows] == ["demo.true", "demo.false", "demo.raises"]
    for r in rows:
        assert {
            "name",
            "method",
            "status",
            "time",
            "theory_ref",
            "counterexample",
            "statement",
            "details",
            "error",
        } <= set(r)
        assert r["method"] in METHODS and isinstance(r["time"], float)
    assert [r["status"] for r in rows] == ["passed", "failed", "failed"]
    assert rows[1]["counterexample"] == {"n": 1}
    assert rows[2]["error"].startswith("ZeroDivisionError")


def test_filters_and_empty_selection(capsys):
    assert main(["--method", "numeric", "--json"], registry=planted()) == 1
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["demo.raises"]
    assert main(["--only", "nothing-matches"], registry=planted()) == 2
    assert main(["--list"], registry=planted()) == 0
    assert "every n < 10 is even" in capsys.readouterr().out


def test_registry_rejects_bad_obligations():
    reg = Registry()
    with pytest.raises(ValueError, match="method"):
        reg.add(Obligation("x", "s", "guess", "ref", Outcome.ok))
    with pytest.raises(ValueError, match="anchor"):
        reg.add(Obligation("x", "s", "numeric", "#ref", Outcome.ok))
    reg.add(Obligation("x", "s", "numeric", "ref", Outcome.ok))
    with pytest.raises(ValueError, match="twice"):
        reg.add(Obligation("x", "s", "numeric", "ref", Outcome.ok))


def test_at_least_25_obligations_across_the_four_methods():
    reg = load()
    methods = [o.method for o in reg]
    assert len(reg) >= 25
    assert {m: methods.count(m) >= 3 for m in METHODS} == dict.fromkeys(METHODS, True)


def test_every_obligation_is_tied_to_theory_md():
    text = THEORY.read_text()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for ob in load():
        assert ob.theory_ref in anchors, f"{ob.name}: no anchor {ob.theory_ref!r} in theory.md"
        assert f"`{ob.name}`" in text, f"{ob.name} is not named in docs/theory.md"


def test_index_lists_only_registered_obligations():
    text = THEORY.read_text()
    index = text[text.index('<a id="obligation-index">') :]
    listed = re.findall(r"^\| `([^`]+)` \| (\w+) \|", index, flags=re.M)
    registered = {o.name: o.method for o in load()}
    assert dict(listed) == registered


def test_regionwise_comparison_catches_a_wrong_reparametrization():
    s = sympy.Symbol("s", real=True)
    a, b, c = (sympy.Function(n) for n in "abc")
    lhs = unit_concat(unit_concat(a, b), c)(s)
    q = sympy.Rational(1, 4)
    wrong = sympy.Piecewise((2 * s, s <= q), (s + q, s <= 2 * q), ((s + 1) / 2, True))
    right = unit_concat(a, unit_concat(b, c))
    breaks = [0, q, 2 * q, 3 * q, 1]
    assert regionwise_mismatches(lhs, right(wrong), s, breaks) == []
    inverse = sympy.Piecewise((s / 2, s <= 2 * q), (s - q, s <= 3 * q), (2 * s - 1, True))
    assert regionwise_mismatches(lhs, right(inverse), s, breaks)


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_check", "--only", "paths.moore", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["name"] for r in rows} == {"paths.moore.unit", "paths.moore.associativity"}
    assert all(r["status"] == "passed" for r in rows)


def test_catcore_prove_subcommand(capsys):
    import argparse

    from adapters.cli import UsageError, prove

    parser = argparse.ArgumentParser(prog="catcore")
    prove.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["prove", "--only", "paths.unit-interval", "--json"])
    assert args.func(args) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    args = parser.parse_args(["prove", "--only", "no-such-obligation"])
    with pytest.raises(UsageError, match="no obligation matches"):
        args.func(args)


@pytest.mark.slow
def test_every_registered_obligation_passes(capsys):
    """The whole registry, as ``python -m proofs_check`` runs it: the library's own proofs."""
    status = main(["--json"], registry=load())
    rows = json.loads(capsys.readouterr().out)
    failed = [
        (r["name"], r.get("counterexample"), r.get("details"))
        for r in rows
        if r["status"] != "passed"
    ]
    assert status == 0 and not failed, failed

"""Laws as data, and one runner for all of them (``docs/catcore.md``, "Laws").

A :class:`Law` is a plain function from a generated example to an :class:`Equation`
``(lhs, rhs, name)``, or ``None`` when the example does not meet the law's precondition.
A :class:`RuleSet` bundles laws with parent rule sets and the equality its laws compare
with by default (the category's own). :func:`check` draws examples from hypothesis
strategies, one strategy per *kind* of example a law ``needs`` (``"arrow"``, ``"chain3"``,
...), compares both sides and returns a :class:`Report` whose failures carry the (shrunk)
counterexample. :func:`check_examples` does the same over explicit finite examples, for
exhaustive checks.

Which equality compares an equation: its own ``Equation.eq`` if it has one, else the
``eq`` handed to the check, else its rule set's ``equality``, else :class:`Exact`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from catcore.equality import Equality, Exact


@dataclass(frozen=True)
class Equation:
    """A claimed equality ``lhs == rhs``, optionally with its own equality."""

    lhs: Any
    rhs: Any
    name: str = ""
    eq: Equality | None = None


@dataclass(frozen=True)
class Law:
    """A named law: ``build(example) -> Equation | None`` on examples of kind ``needs``."""

    name: str
    needs: str
    build: Callable[[Any], Equation | None]


@dataclass(frozen=True)
class RuleSet:
    """Laws with their parents: ``all_laws()`` lists the parents' laws first, without repeats.

    ``equality`` is the default comparison of this set's own laws (a parent's laws keep the
    parent's); suites set it to the category's equality.
    """

    name: str
    laws: tuple[Law, ...] = ()
    parents: tuple[RuleSet, ...] = ()
    equality: Equality | None = None

    def entries(self) -> list[tuple[Law, Equality | None]]:
        """Each law with the default equality of the rule set that holds it."""
        seen: dict[str, tuple[Law, Equality | None]] = {}
        for parent in self.parents:
            for law, eq in parent.entries():
                seen.setdefault(law.name, (law, eq))
        for law in self.laws:
            seen.setdefault(law.name, (law, self.equality))
        return list(seen.values())

    def all_laws(self) -> list[Law]:
        return [law for law, _ in self.entries()]


@dataclass(frozen=True)
class Failure:
    """A law that failed on ``example``; ``reason`` says how the sides differ."""

    law: str
    example: Any
    lhs: Any
    rhs: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.law} fails on {self.example!r}: {self.reason}"


@dataclass
class Report:
    """Outcome of checking a rule set: failures as data, and per-law counts."""

    ruleset: str
    failures: list[Failure] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    vacuous: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed and every law held on at least one non-vacuous example
        (a report that checked no law at all is not ok)."""
        exercised = all(n > self.vacuous.get(law, 0) for law, n in self.checked.items())
        return bool(self.checked) and not self.failures and not self.missing and exercised

    def raise_for_failures(self) -> None:
        """Raise ``AssertionError`` listing failures (for use inside pytest)."""
        if not self.ok:
            raise AssertionError(self.summary())

    def summary(self) -> str:
        lines = [f"rule set {self.ruleset}: {'ok' if self.ok else 'FAILED'}"]
        for law, n in self.checked.items():
            lines.append(f"  {law}: {n} examples ({self.vacuous.get(law, 0)} vacuous)")
        lines += [f"  missing generator for: {m}" for m in self.missing]
        lines += [f"  {f}" for f in self.failures]
        return "\n".join(lines)


class _LawFailed(AssertionError):
    pass


def _evaluate(law: Law, example: Any, eq: Equality) -> Failure | None | bool:
    """``None`` if the law holds, ``False`` if vacuous, else the failure."""
    try:
        equation = law.build(example)
    except Exception as exc:  # an exception while building a side is a failure, not a skip
        return Failure(law.name, example, None, None, f"raised {type(exc).__name__}: {exc}")
    if equation is None:
        return False
    compare = equation.eq or eq
    try:
        if compare(equation.lhs, equation.rhs):
            return None
        reason = compare.explain(equation.lhs, equation.rhs)
    except Exception as exc:
        reason = f"comparison raised {type(exc).__name__}: {exc}"
    return Failure(law.name, example, equation.lhs, equation.rhs, reason)


def check(
    ruleset: RuleSet,
    gens: Mapping[str, st.SearchStrategy],
    eq: Equality | None = None,
    max_examples: int | None = None,
    shrink: bool = True,
) -> Report:
    """Check every law of ``ruleset`` on examples drawn from ``gens[law.needs]``.

    Each law is searched independently with hypothesis; a failing law reports the shrunk
    counterexample (``shrink=False`` reports the first one found, for laws whose examples
    are expensive to evaluate). A law whose generator is absent is listed in
    ``report.missing``. ``max_examples`` overrides the active hypothesis profile (it must
    be at least 1).
    """
    _positive(max_examples)
    report = Report(ruleset.name)
    for law, default in ruleset.entries():
        if law.needs not in gens:
            report.missing.append(f"{law.name} (needs {law.needs!r})")
            continue
        _search(law, gens[law.needs], eq or default or Exact(), report, max_examples, shrink)
    return report


def _positive(max_examples: int | None) -> None:
    if max_examples is not None and (not isinstance(max_examples, int) or max_examples < 1):
        raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")


def _search(
    law: Law,
    strategy: st.SearchStrategy,
    eq: Equality,
    report: Report,
    max_examples: int | None,
    shrink: bool,
) -> None:
    report.checked[law.name] = 0
    report.vacuous[law.name] = 0
    last: list[Failure] = []

    def probe(example: Any) -> None:
        outcome = _evaluate(law, example, eq)
        report.checked[law.name] += 1
        if outcome is False:
            report.vacuous[law.name] += 1
        elif outcome is not None:
            last[:] = [outcome]
            raise _LawFailed(str(outcome))

    overrides: dict[str, Any] = {
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
        "deadline": None,
    }
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if not shrink:
        overrides["phases"] = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
    runner = settings(**overrides)(given(strategy)(probe))
    try:
        runner()
    except Exception as exc:  # hypothesis replays the shrunk example last, so ``last`` holds it
        if last:
            report.failures.append(last[0])
        else:  # the strategy itself failed: report it, do not hide it
            reason = f"{type(exc).__name__}: {exc}"
            report.failures.append(Failure(law.name, None, None, None, reason))


def check_examples(
    ruleset: RuleSet, examples: Mapping[str, Iterable[Any]], eq: Equality | None = None
) -> Report:
    """Check every law on every example given explicitly (exhaustive checks)."""
    report = Report(ruleset.name)
    for law, default in ruleset.entries():
        if law.needs not in examples:
            report.missing.append(f"{law.name} (needs {law.needs!r})")
            continue
        report.checked[law.name] = report.vacuous[law.name] = 0
        for example in examples[law.needs]:
            outcome = _evaluate(law, example, eq or default or Exact())
            report.checked[law.name] += 1
            if outcome is False:
                report.vacuous[law.name] += 1
            elif outcome is not None:
                report.failures.append(outcome)
    return report

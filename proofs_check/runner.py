"""Run proof obligations and report them: a table (streamed as each finishes) or JSON.

Each obligation is timed; an exception inside a check is a *failure* (status ``"failed"``,
``error`` set, traceback tail in ``details``), never a skip. The exit status is 0 when every
selected obligation passed, 1 when one failed, 2 on bad input (nothing selected). Hypothesis
searches run under a deterministic profile so that two runs give the same report.
See ``docs/theory.md``, "Proof obligations".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from hypothesis import HealthCheck, settings

from proofs_check.registry import METHODS, Obligation, Outcome, Registry

_PROFILE = "proofs_check"
settings.register_profile(
    _PROFILE,
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True)
class Result:
    """One obligation's report row (the JSON object of ``--json``)."""

    name: str
    method: str
    status: str  # "passed" or "failed"
    time: float
    statement: str
    theory_ref: str
    details: str
    counterexample: Any
    error: str | None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _jsonable(x: Any) -> Any:
    """``x`` if JSON can hold it as is, else its ``repr``."""
    try:
        json.dumps(x, allow_nan=False)
        return x
    except (TypeError, ValueError):
        return repr(x)


@contextmanager
def deterministic_hypothesis() -> Iterator[None]:
    """Load the derandomized profile for the duration, then restore the previous one."""
    previous = settings.get_current_profile_name()
    settings.load_profile(_PROFILE)
    try:
        yield
    finally:
        settings.load_profile(previous)


def run_one(ob: Obligation) -> Result:
    """Run one obligation's check, timing it; exceptions become failures."""
    start = time.perf_counter()
    error = None
    try:
        with deterministic_hypothesis():
            outcome = ob.check()
        if not isinstance(outcome, Outcome):
            raise TypeError(f"check returned {type(outcome).__name__}, not an Outcome")
    except Exception as exc:  # an error is a failure, not a skip
        error = f"{type(exc).__name__}: {exc}"
        tail = "".join(traceback.format_exception(exc)[-4:]).rstrip()
        outcome = Outcome.fail(None, f"raised {error}\n{tail}")
    elapsed = time.perf_counter() - start
    return Result(
        ob.name,
        ob.method,
        "passed" if outcome.passed else "failed",
        round(elapsed, 4),
        ob.statement,
        ob.theory_ref,
        outcome.details,
        _jsonable(outcome.counterexample),
        error,
    )


def run(obligations: Iterable[Obligation]) -> Iterator[Result]:
    """Results of ``obligations``, one at a time, in order."""
    for ob in obligations:
        yield run_one(ob)


# -- report -----------------------------------------------------------------------------------
_COLS = (52, 10, 6, 8)


def _row(cells: Sequence[str]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, _COLS)).rstrip()


def _failure_block(r: Result) -> str:
    lines = [
        f"FAILED {r.name}  [{r.method}]  docs/theory.md#{r.theory_ref}",
        f"  statement: {r.statement}",
    ]
    if r.counterexample is not None:
        lines.append(f"  counterexample: {r.counterexample}")
    lines += [f"  {line}" for line in r.details.splitlines()]
    return "\n".join(lines)


def report_table(results: Iterable[Result], out: TextIO) -> list[Result]:
    """Print a row per result as it arrives, then the failures in full; returns the results."""
    print(_row(("obligation", "method", "status", "time")), file=out)
    print(_row(tuple("-" * w for w in _COLS)), file=out)
    done = []
    for r in results:
        done.append(r)
        print(_row((r.name, r.method, "ok" if r.passed else "FAIL", f"{r.time:.2f}s")), file=out)
        out.flush()
    failed = [r for r in done if not r.passed]
    total = sum(r.time for r in done)
    print(
        f"\n{len(done) - len(failed)} of {len(done)} obligations passed in {total:.1f}s", file=out
    )
    for r in failed:
        print("\n" + _failure_block(r), file=out)
    return done


def report_json(results: Iterable[Result], out: TextIO) -> list[Result]:
    """Print the results as one JSON list of objects; returns the results."""
    done = list(results)
    json.dump([asdict(r) for r in done], out, indent=2)
    out.write("\n")
    return done


# -- command line -----------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``python -m proofs_check`` and ``catcore prove``."""
    parser.add_argument("--json", action="store_true", help="print results as a JSON list")
    parser.add_argument(
        "--only", metavar="SUBSTRING", help="run obligations whose name contains it"
    )
    parser.add_argument("--method", choices=METHODS, help="run obligations of one method only")
    parser.add_argument("--list", action="store_true", help="list the obligations, run nothing")


def selected(args: argparse.Namespace, registry: Registry | None = None) -> list[Obligation]:
    """The obligations ``args`` select from ``registry`` (default: the library's)."""
    if registry is None:
        from proofs_check.obligations import load

        registry = load()
    return registry.select(args.only, args.method)


def execute(
    args: argparse.Namespace, registry: Registry | None = None, out: TextIO | None = None
) -> int:
    """Run what ``args`` select; exit status 0 (all passed), 1 (a failure), 2 (none selected)."""
    out = out or sys.stdout
    obs = selected(args, registry)
    if not obs:
        print(f"no obligation matches only={args.only!r} method={args.method!r}", file=sys.stderr)
        return 2
    if args.list:
        for o in obs:
            print(f"{o.name:52s} {o.method:10s} #{o.theory_ref}  {o.statement}", file=out)
        return 0
    report = report_json if args.json else report_table
    results = report(run(obs), out)
    return 0 if all(r.passed for r in results) else 1


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """``python -m proofs_check [--json] [--only S] [--method M] [--list]``."""
    parser = argparse.ArgumentParser(
        prog="python -m proofs_check",
        description="Check the proof obligations of the categorical semantics (docs/theory.md).",
    )
    add_arguments(parser)
    return execute(parser.parse_args(argv), registry)

"""Helpers shared by the obligation modules."""

from __future__ import annotations

from catcore.laws import Report
from proofs_check.registry import Outcome


def report_outcome(*reports: Report) -> Outcome:
    """One outcome for catcore law reports: passed iff every report is ``ok`` (no failure,
    no missing generator, every law exercised); the first failure is the counterexample."""
    details = "; ".join(r.summary().replace("\n", ";") for r in reports)
    for r in reports:
        if r.failures:
            f = r.failures[0]
            return Outcome.fail(
                {"law": f.law, "example": repr(f.example), "reason": f.reason}, details
            )
        if not r.ok:
            return Outcome.fail(
                {"ruleset": r.ruleset, "missing": r.missing, "vacuous": r.vacuous}, details
            )
    return Outcome.ok(details)

"""Proof obligations for the categorical semantics of catcore and its adapters.

Every law and theorem the code relies on is an :class:`Obligation` with a statement, a method
(symbolic, exhaustive, property, numeric), an anchor in ``docs/theory.md`` and a check.
``python -m proofs_check`` (or ``catcore prove``) runs them and prints a report.
"""

from proofs_check.registry import METHODS, REGISTRY, Obligation, Outcome, Registry, obligation
from proofs_check.runner import Result, main, run, run_one

__all__ = [
    "METHODS",
    "REGISTRY",
    "Obligation",
    "Outcome",
    "Registry",
    "Result",
    "main",
    "obligation",
    "run",
    "run_one",
]

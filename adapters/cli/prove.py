"""``catcore prove``: check the proof obligations of the categorical semantics
(``docs/theory.md``, "Proof obligations"); the same as ``python -m proofs_check``.

Prints a table (obligation, method, status, time) streamed as each obligation finishes,
then every failure with its statement and counterexample; ``--json`` prints a list of
objects instead. Exit status: 0 all passed, 1 one failed (an obligation whose check raises
counts as failed), 2 when ``--only``/``--method`` select nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from adapters.cli import UsageError


def register(subparsers: Any) -> None:
    from proofs_check.runner import add_arguments

    p = subparsers.add_parser(
        "prove",
        help="check the proof obligations (symbolic, exhaustive, property, numeric)",
        description="Run the proof obligations of docs/theory.md and report each one's status "
        "(exit 0: all passed, 1: one failed, 2: nothing selected).",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from proofs_check.runner import execute, selected

    if not selected(args):
        raise UsageError(f"no obligation matches --only {args.only!r} --method {args.method!r}")
    return execute(args)

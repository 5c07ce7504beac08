"""``catcore laws``: run every law suite on every built-in instance and print a table."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapters.cli import UsageError, arguments
from catcore.strategies import law_table


def format_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'instance':<26} {'rule set':<34} {'laws':>4} {'examples':>8} {'status':>6} {'s':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['instance'][:26]:<26} {r['ruleset'][:34]:<34} {r['laws']:>4} "
            f"{r['examples']:>8} {r['status']:>6} {r['seconds']:>6.2f}"
        )
        lines += [f"    {f}" for f in r["failures"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.max_examples < 1:
        raise UsageError(f"--max-examples must be at least 1, got {args.max_examples}")
    rows = law_table(args.max_examples)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("laws", help="check every law suite on every built-in category")
    p.add_argument("--max-examples", type=arguments.positive, default=25,
                   help="hypothesis examples per law")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=run)

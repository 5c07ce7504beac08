"""``catcore limits``: does the learning functor preserve the multi-task pullback on digits?

Trains two-task digits models (digit class and parity) with a shared trunk and runs the
limit-preservation probe (adapters.constructions.multitask.limit_preservation_probe) on each. Prints
the verdict and the defect (rank gap, dimensions, principal angles), as text or with
--json as one JSON object on stdout; progress goes to stderr.

Exit status: 0 when the computation succeeded, *whatever the verdict* (non-preservation
is a finding about the model, not a failure of the command; read ``verdict``); 2 for bad
input. See ``docs/transfer.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from adapters.cli import UsageError, arguments
from adapters.studies.limits_study import VARIANTS, digits_limits


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "limits",
        help="limit-preservation probe for multi-task digits models",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--variant", choices=[*VARIANTS, "all"], default="all",
                   help="where the heads read the trunk (default: all variants)")  # fmt: skip
    p.add_argument("--hidden", default="16,8", help="trunk widths, comma separated")
    p.add_argument("--probe", type=int, default=64, help="probe images (default 64)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=arguments.seed, default=0, help="seed, 0..2^32-1")
    p.add_argument("--tol", type=float, default=1e-9, help="relative rank tolerance")
    p.add_argument("--init", action="store_true", help="also probe before training")
    p.set_defaults(func=run)
    return p


def _hidden(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise UsageError(f"--hidden must be comma-separated integers, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise UsageError(f"--hidden widths must be positive, got {text!r}")
    return widths


def run(args: argparse.Namespace) -> int:
    hidden = _hidden(args.hidden)
    if args.probe < 1:
        raise UsageError(f"--probe must be positive, got {args.probe}")
    if args.epochs < 1:
        raise UsageError(f"--epochs must be positive, got {args.epochs}")
    if not 0 < args.tol < 1:
        raise UsageError(f"--tol must be in (0, 1), got {args.tol}")
    variants = tuple(VARIANTS) if args.variant == "all" else (args.variant,)
    try:
        result = digits_limits(
            variants, hidden, args.probe, args.epochs, seed=args.seed, tol=args.tol,
            at_init=args.init, say=lambda line: print(line, file=sys.stderr),
        )  # fmt: skip
    except ValueError as exc:  # bad sizes found while building the case
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name, v in result["variants"].items():
        acc = ", ".join(f"{t} {a:.3f}" for t, a in v["test_accuracy"].items())
        print(f"{name} (heads read {v['heads_read']}; test accuracy {acc})")
        for stage in ("init", "trained"):
            if stage in v:
                print(f"  {stage}: {_line(v[stage])}")
    return 0


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['verdict']}: rank gap {r['rank_gap']} (closed form {r['predicted_gap']}), "
        f"dim F(lim) = {r['image_of_limit']}, dim lim F = {r['limit_of_images']}, "
        f"dims {r['dims']}, max principal angle {r['max_principal_angle']:.2e}"
    )

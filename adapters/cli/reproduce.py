"""``catcore reproduce``: run the paper's studies on the embedded digits data."""

from __future__ import annotations

import argparse

from adapters.cli import UsageError


def run(args: argparse.Namespace) -> int:
    from adapters.reproduce import PLANS, STUDIES, reproduce

    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    only = args.only.split(",") if args.only else None
    if only and (bad := [n for n in only if n not in STUDIES]):
        raise UsageError(f"unknown studies {bad}; choose from {', '.join(STUDIES)}")
    try:
        reproduce(args.out, PLANS[size], seed=args.seed, only=only)
    except NotADirectoryError as exc:
        raise UsageError(str(exc)) from None
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="run the paper's studies end to end on digits")
    p.add_argument("--quick", action="store_true", help="small sizes: about 10 min on 2 cores")
    p.add_argument("--tiny", action="store_true", help="smoke-test sizes: about a minute")
    p.add_argument("--out", default="catcore-results", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default: %(default)s)")
    p.add_argument("--only", metavar="A,B", help="run only these studies (comma-separated)")
    p.set_defaults(func=run)

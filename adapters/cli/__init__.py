"""The ``catcore`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds a parser whose ``func`` default takes the parsed
arguments and returns the exit status (0 success, 1 a law or claim failed, 2 bad input).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules of :mod:`adapters.cli` that contribute subcommands, in ``--help`` order.
SUBCOMMANDS: tuple[str, ...] = ("reproduce", "verify", "limits", "laws", "prove")


class UsageError(Exception):
    """Bad input from the user; reported on stderr with exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catcore",
        description="Executable category theory of learning dynamics "
        "(functor laws, homotopy classes, landscape persistence, pullback transfer).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"adapters.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"catcore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

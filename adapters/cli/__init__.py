"""The ``catcore`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds a parser whose ``func`` default takes the parsed
arguments and returns the exit status (0 success, 1 a law or claim failed, 2 bad input
or an unusable output folder or store, 3 an internal error (a bug of catcore or of the
user's code that its checks did not catch: one line names it and where it was raised;
``CATCORE_TRACEBACK=1`` prints the whole traceback), 130 interrupted by Ctrl-C: finished
work stays stored, and the same command resumes).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from adapters.extras import INSTALL, NETS, MissingExtra, missing_nets, require_nets
from adapters.runtime.store import StoreError

#: Modules of :mod:`adapters.cli` that contribute subcommands, in ``--help`` order.
SUBCOMMANDS: tuple[str, ...] = (
    "reproduce", "verify", "classes", "landscape", "limits", "laws", "prove",
)  # fmt: skip


class UsageError(Exception):
    """Bad input from the user; reported on stderr with exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catcore",
        description="Executable category theory of learning dynamics "
        "(functor laws, homotopy classes, landscape persistence, pullback transfer).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"adapters.cli.{name}")
        except ImportError:  # the command needs the nets extra; say so when it is run
            if not missing_nets():
                raise
            _needs_extra(sub, name)
            continue
        module.register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("catcore")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _needs_extra(sub: argparse._SubParsersAction, name: str) -> None:
    """A stand-in for a command whose dependencies are not installed: ``main`` answers it
    with the extra to install before parsing its options."""
    sub.add_parser(name, help=f"(needs {INSTALL})", add_help=False)
    STUBS.add(name)


#: Commands registered by :func:`_needs_extra` in this process.
STUBS: set[str] = set()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in STUBS:
        try:
            require_nets(f"catcore {argv[0]}")
        except MissingExtra as exc:
            print(f"catcore {argv[0]}: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return _run(args)
    except Exception as exc:  # noqa: BLE001 - anything else is an internal error, code 3
        return _internal_error(args.command, exc)


def _internal_error(command: str, exc: Exception) -> int:
    """Report an unexpected exception in one line (where it was raised) and return 3."""
    if os.environ.get("CATCORE_TRACEBACK"):
        traceback.print_exception(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {frame.filename}:{frame.lineno})" if frame else ""
    print(f"catcore {command}: internal error: {type(exc).__name__}: {exc}{where}; "
          "CATCORE_TRACEBACK=1 shows the traceback", file=sys.stderr)  # fmt: skip
    return 3


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"\ncatcore {args.command}: interrupted; what finished is kept (results in "
              "their store or output folder), and the same command resumes from there",
              file=sys.stderr)  # fmt: skip
        return 130
    except (UsageError, StoreError) as exc:
        print(f"catcore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # a core-only install running a torch command
        if exc.name not in NETS:
            raise
        print(
            f"catcore {args.command}: error: needs {INSTALL} ({exc.name} is missing)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

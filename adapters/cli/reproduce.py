"""``catcore reproduce``: run the paper's studies on the embedded digits data."""

from __future__ import annotations

import argparse
from typing import Any

from adapters.cli import UsageError, arguments


def run(args: argparse.Namespace) -> int:
    from adapters.studies.reproduce import PLANS, STUDIES, reproduce

    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    only = args.only.split(",") if args.only else None
    if only and (bad := [n for n in only if n not in STUDIES]):
        raise UsageError(f"unknown studies {bad}; choose from {', '.join(STUDIES)}")
    executor = build_executor(args.executor, args.workers, args.ray_address)
    try:
        with executor:
            reproduce(args.out, PLANS[size], seed=args.seed, only=only, executor=executor)
    except NotADirectoryError as exc:
        raise UsageError(str(exc)) from None
    return 0


def build_executor(name: str, workers: int | None, ray_address: str | None) -> Any:
    """The executor the flags ask for (``docs/cluster.md``); bad combinations and a missing
    Ray are a :class:`UsageError`."""
    from adapters.runtime.registry import make_executor

    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be 0 or more, got {workers}")
    if ray_address is not None and name != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if name == "local":
        return make_executor("local", workers=workers or 0)
    if ray_address is not None and workers:
        raise UsageError("--workers sets the CPUs of a local Ray instance; a cluster's CPUs are "
                         "set by `ray start --num-cpus` on each node")  # fmt: skip
    try:
        return make_executor("ray", address=ray_address, num_cpus=workers or None)
    except ImportError as exc:
        raise UsageError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="run the paper's studies end to end on digits",
                       description="Run the paper's studies on digits (full plan: about 11 min "
                                   "on 2 cores; --quick about 3 min).")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes: about 3 min on 2 cores")
    size.add_argument("--tiny", action="store_true", help="smoke-test sizes: about 25 s")
    p.add_argument("--out", type=arguments.folder, default="catcore-results",
                   help="output folder (default: %(default)s)")  # fmt: skip
    p.add_argument("--seed", type=arguments.seed, default=0,
                   help="master seed, 0..2^32-1 (default: %(default)s)")  # fmt: skip
    p.add_argument("--only", metavar="A,B", help="run only these studies (comma-separated)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where ensembles, all-pairs barriers and landscapes run "
                        "(default: %(default)s; see docs/cluster.md)")  # fmt: skip
    p.add_argument("--workers", type=int, metavar="N",
                   help="local: N worker processes (default 0: this process); "
                        "ray: CPUs of the local Ray instance (default: all)")  # fmt: skip
    p.add_argument("--ray-address", metavar="ADDR",
                   help="join this Ray cluster (HOST:6379, 'auto'); default: start a local one")
    p.set_defaults(func=run)

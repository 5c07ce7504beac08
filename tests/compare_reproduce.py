"""Compare the decisions of two ``catcore reproduce`` runs: partitions, fits and verdicts.

Timings, paths and counters of work reused from a store differ between runs and are
dropped; floats are compared to a relative tolerance (``--rtol``, default 1e-5: float32
evaluation differs between CPUs at about 1e-7). Used to check that a redesign of the
adapters left ``catcore reproduce --quick`` as it was:

    python tests/compare_reproduce.py --save tests/data/quick_decisions.json RUN_DIR   # before
    python tests/compare_reproduce.py tests/data/quick_decisions.json RUN_DIR          # after

Exit status 0 when the decisions agree, 1 with the differing paths listed otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: Keys whose values depend on the machine, the clock or the store, not on the decisions
#: (and the raw landscape samples, which the fits summarize).
VOLATILE = ("seconds", "time", "wall", "cpu", "evaluations", "reused", "computed", "path",
            "figure", "report", "executor", "laws", "landscapes", "runs")  # fmt: skip


def decisions(results: Any) -> Any:
    """``results`` without volatile entries, floats rounded."""
    if isinstance(results, dict):
        return {
            k: decisions(v)
            for k, v in results.items()
            if not any(word in k.lower() for word in VOLATILE)
        }
    if isinstance(results, list):
        return [decisions(v) for v in results]
    if isinstance(results, float):
        return float(f"{results:.9g}")
    return results


def differences(a: Any, b: Any, where: str = "", rtol: float = 0.0) -> list[str]:
    if type(a) is not type(b):
        return [f"{where}: {type(a).__name__} vs {type(b).__name__}"]
    if isinstance(a, dict):
        out = [f"{where}.{k}: only in one run" for k in set(a) ^ set(b)]
        for k in sorted(set(a) & set(b), key=str):
            out += differences(a[k], b[k], f"{where}.{k}", rtol)
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b))
                for d in differences(x, y, f"{where}[{i}]", rtol)]  # fmt: skip
    same = a == b or (isinstance(a, float) and a != a and b != b)  # nan == nan here
    if isinstance(a, float) and not same:
        same = abs(a - b) <= rtol * max(abs(a), abs(b))
    return [] if same else [f"{where}: {a!r} vs {b!r}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="saved decisions (JSON), or where to --save them")
    parser.add_argument("run", help="an output folder of catcore reproduce")
    parser.add_argument("--save", action="store_true", help="write the run's decisions")
    parser.add_argument("--rtol", type=float, default=1e-5, help="relative tolerance on floats")
    args = parser.parse_args(argv)
    mine = decisions(json.loads((Path(args.run) / "results.json").read_text())["studies"])
    if args.save:
        Path(args.reference).write_text(json.dumps(mine, indent=1, sort_keys=True) + "\n")
        return 0
    diff = differences(json.loads(Path(args.reference).read_text()), mine, rtol=args.rtol)
    print("\n".join(diff) if diff else "same decisions")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())

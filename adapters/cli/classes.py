"""``catcore classes``: homotopy classes of a user's own trained networks (``docs/homotopy.md``).

The checkpoints are points of Param for the user's model (``--model``); the loss is the
user's (``--loss``, default cross-entropy) on the user's data (``--data``, default 8x8
digits). Pairs are linked when the loss barrier along the straight segment is at most
``--eps``; the decisions are certified where the bound can see through the network (MLPs of
Linear and ReLU/Tanh), else sampled, and the output says which. Writes the barrier matrix
heatmap and the dendrogram with ``--out``. Exit status: 0, or 2 for bad input, 3 internal.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from adapters.cli import UsageError, arguments
from adapters.cli.user_inputs import (
    add_model_options,
    build_model,
    check_runs,
    landscape_loss,
    load_checkpoint,
    training_data,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "classes",
        help="homotopy classes of your trained networks (checkpoints of one model)",
        description="Homotopy classes of your checkpoints at loss-barrier threshold eps: "
        "pairs whose straight-segment barrier is at most eps are linked, classes are the "
        "connected components (certified where the bound applies, sampled otherwise).",
    )
    p.add_argument("checkpoints", nargs="*", metavar="CKPT", help="state dicts of one model")
    add_model_options(p)
    p.add_argument("--eps", type=float, default=0.1, help="barrier threshold (default 0.1)")
    p.add_argument("--align", action="store_true",
                   help="classes up to hidden-unit permutation (weight matching; MLPs)")
    p.add_argument("--exact", action="store_true",
                   help="every pair's barrier (the full matrix and dendrogram), not the pruned "
                   "search")  # fmt: skip
    p.add_argument("--out", type=arguments.folder, metavar="DIR",
                   help="write classes.json, barrier_matrix.png and dendrogram.png here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    from adapters.constructions.class_search import homotopy_classes
    from adapters.constructions.taylor import unsupported
    from adapters.nets.engine import Engine
    from adapters.nets.params import ParamSpace

    if args.model is None:
        raise UsageError("the following arguments are required: --model")
    if len(args.checkpoints) < 2:
        raise UsageError(f"need at least 2 checkpoints, got {len(args.checkpoints)}")
    if not args.eps > 0:
        raise UsageError(f"--eps must be positive, got {args.eps}")
    model = build_model(args.model)
    space = ParamSpace(model, buffers="include")
    points = []
    for ckpt in args.checkpoints:
        load_checkpoint(model, ckpt)
        points.append(space.vector(model))
    X, y, _ = training_data(args.data, model, args.samples)
    model.eval()
    loss = landscape_loss(args.loss, model, X)
    check_runs(model, X, y, loss)
    try:
        engine = Engine(model, X, y, loss, space=space)
        c = homotopy_classes(engine, points, args.eps, align=True if args.align else None,
                             exact=args.exact, progress=False)  # fmt: skip
    except (ValueError, TypeError) as exc:  # e.g. alignment of a model it cannot match
        raise UsageError(str(exc)) from None
    result = _result(args, c)
    result["uncertified_because"] = None if c.certified else unsupported(engine)
    if args.out:
        _write(result, Path(args.out))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(_text(result))
    return 0


def _result(args: argparse.Namespace, c: Any) -> dict[str, Any]:
    summary = c.to_dict()
    matrix = c.barrier_matrix()
    summary["barrier_matrix"] = [[None if np.isnan(x) else float(x) for x in row]
                                 for row in matrix]  # fmt: skip
    variant = "aligned" if args.align else "plain"
    return {
        "settings": {"eps": args.eps, "exact": args.exact, "align": args.align,
                     "model": args.model, "data": args.data or "digits",
                     "samples": args.samples},  # fmt: skip
        "networks": [{"name": Path(p).stem, "checkpoint": p} for p in args.checkpoints],
        variant: summary,
    }


def _text(result: dict[str, Any]) -> str:
    variant = "aligned" if "aligned" in result else "plain"
    v, names = result[variant], [n["name"] for n in result["networks"]]
    why = result.get("uncertified_because")
    how = "certified decisions" if v["certified"] else f"sampled decisions, not certified: {why}"
    lines = [f"{v['n_classes']} {'class' if v['n_classes'] == 1 else 'classes'} among "
             f"{len(names)} networks at eps = {result['settings']['eps']:g} ({how}; "
             f"{v['pairs_tested']} of {v['pairs_total']} pairs tested, "
             f"{v['evaluations']} loss evaluations)"]  # fmt: skip
    for k, members in enumerate(v["classes"]):
        lines.append(f"  class {k}: " + ", ".join(names[i] for i in members))
    if v["undecided"]:
        pairs = ", ".join(f"{names[i]}-{names[j]}" for i, j in v["undecided"])
        lines.append(f"  undecided (bounds straddle eps, not guessed): {pairs}")
    return "\n".join(lines)


def _write(result: dict[str, Any], out: Path) -> None:
    from adapters.studies.homotopy_plots import plot_barrier_matrix, plot_dendrogram

    out.mkdir(parents=True, exist_ok=True)
    (out / "classes.json").write_text(json.dumps(result, indent=1))
    plot_barrier_matrix(result, out / "barrier_matrix.png")
    variant = "aligned" if "aligned" in result else "plain"
    if result["settings"]["exact"]:
        plot_dendrogram(result, out / "dendrogram.png", variant=variant)

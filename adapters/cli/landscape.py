"""``catcore landscape``: sublevel persistence of the loss landscape around a user's own
checkpoint (Def 6.1 / 6.2, ``docs/persistence.md``).

The loss is the user's (``--loss``; default cross-entropy) on the user's data (``--data``;
default 8x8 digits) for the model the factory builds, loaded from ``CKPT``. Samples lie in
the filter-normalized ball of each ``--radius`` around the checkpoint: in the full space
(default; kNN flag complex), in a random ``--dim``-dimensional subspace (Delaunay
triangulation up to 3 dimensions), or on a ``--plane`` grid (cubical). Finite and
essential classes are counted apart. With ``--out`` every landscape is stored as soon as it
is computed (a rerun reuses it) and the diagrams are drawn. Exit status: 0, 2 for bad
input, 3 internal.
"""

from __future__ import annotations

import argparse
import json
import sys
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
from adapters.studies.persistence_study import DEFAULT_DIM


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "landscape",
        help="persistence of the loss landscape around your checkpoint",
        description="Sublevel-set persistence of the loss around a checkpoint of your model, "
        "at one or more sampling radii (finite and essential classes counted apart).",
    )
    p.add_argument("checkpoint", nargs="?", metavar="CKPT", help="state dict of the model")
    add_model_options(p)
    p.add_argument("--radius", type=float, nargs="+", default=[0.1],
                   help="relative (filter-normalized) sampling radii (default 0.1)")
    p.add_argument("--points", type=arguments.positive, default=2000,
                   help="landscape samples per radius (default 2000)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--dim", type=arguments.positive, default=DEFAULT_DIM,
                       help=f"sample a random DIM-dimensional subspace (default {DEFAULT_DIM})")
    where.add_argument("--full-space", action="store_true",
                       help="sample the full parameter space (kNN graph; costly, and close "
                       "to a random graph there)")  # fmt: skip
    where.add_argument("--plane", action="store_true", help="a plane grid (cubical complex)")
    p.add_argument("--k", type=arguments.positive, default=10, help="kNN graph degree (default 10)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="sampling seed")
    p.add_argument("--out", type=arguments.folder, metavar="DIR",
                   help="store landscapes (resumable), landscape.json and diagram PNGs here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from adapters.nets.engine import Engine
    from adapters.runtime.store import Store
    from adapters.studies.persistence_study import StudySettings, measure_landscapes

    if args.model is None or args.checkpoint is None:
        raise UsageError("the following arguments are required: CKPT, --model")
    if args.points < 4:
        raise UsageError(f"--points must be at least 4, got {args.points}")
    model = build_model(args.model)
    load_checkpoint(model, args.checkpoint)
    X, y, what = training_data(args.data, model, args.samples)
    model.eval()
    loss = landscape_loss(args.loss, model, X)
    check_runs(model, X, y, loss)
    try:
        settings = StudySettings(radii=tuple(args.radius), n_samples=args.points, k=args.k,
                                 dim=None if args.full_space or args.plane else args.dim,
                                 sampler="plane" if args.plane else "ball",
                                 seed=args.seed)  # fmt: skip
        engine = Engine(model, X, y, loss)
    except ValueError as exc:  # bad radii, a model with running statistics, ...
        raise UsageError(str(exc)) from None
    store = None
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        store = Store(Path(args.out) / "store.sqlite")
    try:
        found = measure_landscapes(engine, settings, store)
    except ValueError as exc:  # a non-finite loss in the ball: lower the radius
        raise UsageError(str(exc)) from None
    result = _result(args, settings, what, found)
    if args.out:
        _write(result, found, Path(args.out))
    print(json.dumps(result, indent=1) if args.json else _text(result))
    return 0


def _counts(dgms: list[np.ndarray]) -> list[dict[str, Any]]:
    from adapters.constructions.diagrams import total_persistence

    out = []
    for k, d in enumerate(dgms):
        finite = np.isfinite(d[:, 1])
        out.append({"dim": k, "finite": int(finite.sum()), "essential": int((~finite).sum()),
                    "total_persistence": float(total_persistence(d))})
    return out


def _result(args, settings, what, found) -> dict[str, Any]:
    complex_ = "cubical (plane grid)" if args.plane else settings.complex
    return {
        "checkpoint": args.checkpoint, "model": args.model, "data": what,
        "settings": {"radii": list(settings.radii), "points": args.points, "k": args.k,
                     "dim": settings.dim, "plane": args.plane, "seed": args.seed,
                     "complex": complex_, "samples": args.samples},
        "landscapes": [{"radius": r, "v_min": L.v_min, "v_max": L.v_max,
                        "v_center": L.v_center, "classes": _counts(L.diagrams),
                        "diagrams": [d.tolist() for d in L.diagrams]}
                       for r, L in found.items()],
    }  # fmt: skip


def _text(result: dict[str, Any]) -> str:
    s = result["settings"]
    lines = [f"landscape of {result['checkpoint']} on {result['data']}: {s['points']} samples "
             f"per radius, complex {s['complex']}"]  # fmt: skip
    for L in result["landscapes"]:
        parts = ", ".join(f"H{c['dim']} {c['finite']} finite (total {c['total_persistence']:.4g})"
                          f" + {c['essential']} essential" for c in L["classes"])  # fmt: skip
        lines.append(f"  radius {L['radius']:g}: loss {L['v_min']:.4g}..{L['v_max']:.4g} "
                     f"(centre {L['v_center']:.4g}); {parts}")  # fmt: skip
    return "\n".join(lines)


def _write(result: dict[str, Any], found: dict, out: Path) -> None:
    from adapters.studies.persistence_plots import plot_diagrams

    (out / "landscape.json").write_text(json.dumps(result, indent=1))
    for r, L in found.items():
        plot_diagrams(L.diagrams, title=f"{Path(result['checkpoint']).name}, radius {r:g}",
                      path=out / f"diagram_r{r:g}.png")  # fmt: skip
    print(f"wrote {out / 'landscape.json'} and {len(found)} diagram(s)", file=sys.stderr)

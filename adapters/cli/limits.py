"""``catcore limits``: does the learning functor preserve the multi-task pullback?

On your own multi-task model (``--model``: a factory returning a module with a ``trunk`` of
any type and named ``heads``, optionally ``reads``), linearized at its weights (or a
``--checkpoint``) on the first ``--probe`` inputs of ``--data`` (default: digits test
images); without ``--model``, the digits demo: two-task digits models (digit class and
parity) trained with a shared trunk. Each probe
(adapters.constructions.multitask.limit_preservation_probe) prints the verdict and the
defect (rank gap, dimensions, principal angles), as text or with --json as one JSON object
on stdout; progress goes to stderr.

Exit status: 0 when the computation succeeded, *whatever the verdict* (non-preservation
is a finding about the model, not a failure of the command; read ``verdict``, which is
``undetermined`` when a sketched linearization cannot vouch for its ranks); 2 for bad
input; 3 for an internal error. See ``docs/transfer.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from adapters.cli import UsageError, arguments, user_inputs
from adapters.studies.limits_study import VARIANTS, digits_limits

#: options of the digits demo only, with their defaults
DEMO = {"variant": "all", "hidden": "16,8", "epochs": 30, "init": False}


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "limits",
        help="limit-preservation probe for multi-task models (yours, or the digits demo)",
        description=__doc__.split("\n\n")[1],
    )
    user_inputs.add_model_options(p, loss=False)
    p.add_argument("--checkpoint", metavar="FILE", help="state dict to load into --model")
    p.add_argument("--batchnorm", choices=("eval", "batch"),
                   help="running statistics: as constants (eval) or those of the probe "
                   "batch (batch); required when the model has them")  # fmt: skip
    p.add_argument("--linearization", choices=("auto", "dense", "sketch", "exact"),
                   default="auto", help="Jacobians: dense, a Gaussian sketch (large trunks), "
                   "exact over Q (Linear/ReLU), or auto (dense while it fits)")  # fmt: skip
    p.add_argument("--columns", type=arguments.positive,
                   help="sketch width per block (default 2 x readout entries + 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--probe", type=arguments.positive, default=64,
                   help="probe inputs (default 64)")  # fmt: skip
    p.add_argument("--seed", type=arguments.seed, default=0, help="seed, 0..2^32-1")
    p.add_argument("--tol", type=float, default=1e-9, help="relative rank tolerance")
    demo = p.add_argument_group("digits demo (without --model)")
    demo.add_argument("--variant", choices=[*VARIANTS, "all"], default=DEMO["variant"],
                      help="where the heads read the trunk (default: all variants)")  # fmt: skip
    demo.add_argument("--hidden", default=DEMO["hidden"], help="trunk widths, comma separated")
    demo.add_argument("--epochs", type=arguments.positive, default=DEMO["epochs"])
    demo.add_argument("--init", action="store_true", help="also probe before training")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    if not 0 < args.tol < 1:
        raise UsageError(f"--tol must be in (0, 1), got {args.tol}")
    if args.model is None:
        for option in ("data", "checkpoint", "batchnorm", "columns"):
            if getattr(args, option) is not None:
                raise UsageError(f"--{option} applies to your own --model; give one")
        return _demo(args)
    changed = [f"--{k}" for k, v in DEMO.items() if getattr(args, k) != v]
    if changed:
        verb = "belongs" if len(changed) == 1 else "belong"
        raise UsageError(f"{', '.join(changed)} {verb} to the digits demo, not to --model")
    result = _users(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.model} on {result['data']} ({result['probe']} inputs, "
              f"{result['linearization']['method']} linearization):")  # fmt: skip
        print(f"  {_line(result)}")
        if result["uncertain_because"]:
            print(f"  undetermined because {result['uncertain_because']}")
    return 0


def _users(args: argparse.Namespace) -> dict[str, Any]:
    from adapters.constructions.multitask import limit_preservation_probe
    from adapters.constructions.multitask_model import as_multitask

    model = user_inputs.build_model(args.model)
    if args.checkpoint:
        user_inputs.load_checkpoint(model, args.checkpoint)
    try:
        model = as_multitask(model)
    except ValueError as exc:
        raise UsageError(f"--model {args.model!r}: {exc}") from None
    X, description = _probe_inputs(args, model)
    start = time.perf_counter()
    try:
        r = limit_preservation_probe(
            model, X, method=args.linearization, tol=args.tol, batchnorm=args.batchnorm,
            columns=args.columns, seed=args.seed, say=lambda s: print(s, file=sys.stderr),
        )  # fmt: skip
    except (TypeError, ValueError) as exc:  # policy missing, exact on other layers, ...
        raise UsageError(str(exc).replace("batchnorm=", "--batchnorm ")) from None
    return {"model": args.model, "checkpoint": args.checkpoint, "data": description,
            "probe": len(X), "batchnorm": args.batchnorm, "seed": args.seed,
            "seconds": time.perf_counter() - start, **r.to_dict()}  # fmt: skip


def _probe_inputs(args: argparse.Namespace, model: Any) -> tuple[Any, str]:
    """The first ``--probe`` inputs of ``--data`` (labels are not used), or digits test
    images in the layout the model accepts."""
    if args.data is not None:
        X, _ = user_inputs.load_data(args.data, args.probe)
        description = args.data
    else:
        from adapters.nets.data import digits

        shape = user_inputs.detect_input(model, logits=False)
        X = digits(flat=shape == (64,), dtype=user_inputs.model_dtype(model)).X_test
        description = f"digits test images {'x'.join(map(str, shape))}"
    if len(X) < args.probe:
        raise UsageError(f"--probe {args.probe} is more than the {len(X)} inputs of {description}")
    return X[: args.probe], description


def _demo(args: argparse.Namespace) -> int:
    hidden = _hidden(args.hidden)
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


def _hidden(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise UsageError(f"--hidden must be comma-separated integers, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise UsageError(f"--hidden widths must be positive, got {text!r}")
    return widths


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['verdict']}: rank gap {r['rank_gap']} (closed form {r['predicted_gap']}), "
        f"dim F(lim) = {r['image_of_limit']}, dim lim F = {r['limit_of_images']}, "
        f"dims {r['dims']}, max principal angle {r['max_principal_angle']:.2e}"
    )

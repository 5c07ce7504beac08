"""``catcore verify``: the functor laws of Thm 2.6 on a user's network, data and training
run (``docs/verify.md``).

The model comes from a factory (``--model``), optionally with a checkpoint; the data from
``--data`` (default: 8x8 digits, 64 features or ``1x8x8`` images, detected by trying
both); the loss from ``--loss`` (default: cross-entropy on the output). The morphism
verified is the user's recorded run (``--run``) or, without one, a short run trained here.
The verdict says whether ``L: Param -> Rep`` preserves identities and composition on it and
whether the network is a function of its parameters at all, naming the modules
responsible (:func:`adapters.categories.learning.verify_functor`). With ``--against``
(a second recorded run of the same network) it also measures Thm 5.3: the affine relation
of the representations along the two runs
(:func:`adapters.categories.twofunctor.affine_relation`), reported, not part of the exit
status. Exit status: 0 functorial, 1 not functorial, 2 bad input, 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from adapters.cli import UsageError, arguments
from adapters.cli.user_inputs import (
    add_model_options,
    build_model,
    check_runs,
    detect_input,
    load_checkpoint,
    load_data,
    load_loss,
    load_run,
    model_dtype,
)
from adapters.nets.metrics import cross_entropy

#: Samples of the data that define the loss (and train the run made here) by default.
TRAIN_SAMPLES = 512
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify the functor laws of the learning functor on your network",
        description="Check that L: Param -> Rep preserves identities and composition on a "
        "training run of your network (yours with --run, else a short one trained here), and "
        "that the network is a function of its parameters (exit 0: yes, 1: no, 2: bad input, "
        "3: internal error).",
    )
    add_model_options(p, samples=TRAIN_SAMPLES)
    p.add_argument("--checkpoint", metavar="FILE", help="state dict to load first")
    p.add_argument("--run", metavar="DIR_OR_GLOB",
                   help="checkpoints of your training run, in training order: the morphism "
                   "verified (default: train a short run here)")  # fmt: skip
    p.add_argument("--against", metavar="DIR_OR_GLOB",
                   help="a second recorded run of the network: also measure Thm 5.3, the "
                   "affine relation of the representations along the two runs")  # fmt: skip
    p.add_argument("--align", choices=("arclength", "time"), default="arclength",
                   help="how positions of the two runs are matched (default arclength)")
    p.add_argument("--positions", type=arguments.positive, default=17,
                   help="positions along the runs at which --against fits (default 17)")
    p.add_argument("--layer", metavar="NAME",
                   help="layer to read: a module name, NAME:in, NAME[0], "
                   "NAME.last_hidden_state (default: penultimate)")  # fmt: skip
    p.add_argument(
        "--train-mode",
        action="store_true",
        help="verify with the model in train mode (Dropout/BatchNorm active)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--steps", type=arguments.positive, default=40,
                   help="optimizer steps of the run trained here (default 40)")  # fmt: skip
    p.add_argument("--probe", type=int, default=128,
                   help="probe samples whose representations are compared (default 128; "
                   "digits: from the test split)")  # fmt: skip
    p.add_argument("--seed", type=arguments.seed, default=0, help="seed of the run")
    p.add_argument("--grid", type=int, default=33, help="times per path at which laws compare")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float64",
                   help="precision of the evaluations (default float64)")  # fmt: skip
    p.set_defaults(func=run)


def inputs(args: argparse.Namespace, model: nn.Module) -> tuple[Tensor, Tensor, Tensor, str]:
    """``(X, y, probe, description)``: the loss's data, the probe set, and a name for it."""
    if args.data is None:
        from adapters.nets.data import digits

        shape = detect_input(model)
        data = digits(seed=args.seed, flat=shape == (64,), dtype=model_dtype(model))
        X, y, held = data.X_train[: args.samples], data.y_train[: args.samples], data.X_test
        what = f"digits {'x'.join(map(str, shape))}"
    else:
        X, y = load_data(args.data, max(args.samples, args.probe))
        held, what = X, args.data
    if args.probe > len(held):
        raise UsageError(f"--probe {args.probe} is more than the {len(held)} samples of "
                         f"{what}; choose --probe <= {len(held)}")  # fmt: skip
    return X[: args.samples], y[: args.samples], held[: args.probe], what


def run_points(args: argparse.Namespace, model: nn.Module, X: Tensor, y: Tensor, loss: Any):
    """``(points, steps, description)`` of the run verified: the user's checkpoints
    (``--run``) or a run of ``--steps`` SGD steps trained here, recorded at 5 points (the
    start and 4 more: enough for composable pieces, and 5 copies of ``theta`` at most)."""
    from adapters.nets.training import train

    if args.run:
        points, steps = load_run(model, args.run)
        return points, steps, f"{args.run} ({len(points)} checkpoints)"
    r = train(model, (X, y), steps=args.steps, lr=0.05, batch_size=32, seed=args.seed,
              record_every=max(1, args.steps // 4), loss_fn=loss)  # fmt: skip
    return r.trajectory.points(), r.trajectory.steps, f"trained here ({args.steps} SGD steps)"


def run(args: argparse.Namespace) -> int:
    from adapters.categories.learning import LearningFunctor, verify_functor
    from adapters.categories.param import Param

    if args.model is None:
        raise UsageError("the following arguments are required: --model")
    if args.probe < 4 or args.grid < 2:
        raise UsageError(f"need --probe >= 4 and --grid >= 2, got {args.probe}, {args.grid}")
    if args.against and not args.run:
        raise UsageError("--against relates two recorded runs: give the first with --run")
    clock = time.perf_counter()
    model = build_model(args.model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    X, y, probe, what = inputs(args, model)
    loss = cross_entropy if args.loss is None else load_loss(args.loss)
    check_runs(model, X, y, loss)
    points, steps, source = run_points(args, model, X, y, loss)
    model.train(args.train_mode)
    prepared = time.perf_counter()
    try:
        P = Param(model, X, y, loss, buffers="include", grid_size=args.grid,
                  dtype=DTYPES[args.dtype])  # fmt: skip
        path = P.trajectory(points, steps)
        del points  # the path holds its own float64 copy
        L = LearningFunctor(P, probe=probe, layer=args.layer)
    except ValueError as exc:  # unknown layer, no Linear to find the penultimate, ...
        raise UsageError(str(exc)) from None
    verdict = verify_functor(L, [path])
    times = np.union1d(np.linspace(0.0, 1.0, args.grid), path.breaks)  # the checkpoints too
    structure = L.cod.structure(L.path(path), times=times)
    relation = two_functor(args, model, P, L, path) if args.against else None
    done = time.perf_counter()
    if args.json:
        out = verdict.to_json()
        out.update(
            model=args.model,
            data=what,
            run=source,
            layer=L.layer,
            input="x".join(map(str, X.shape[1:])),
            input_dtype=str(X.dtype).removeprefix("torch."),
            train_mode=bool(args.train_mode),
            probe=len(probe),
            samples=len(X),
            grid=args.grid,
            seed=args.seed,
            dtype=args.dtype,
            parameters=P.space.n_params,
            coordinates=P.space.n,
            structure=structure,
            start_loss=float(P.loss(path.dom)),
            end_loss=float(P.loss(path.cod)),
            seconds={"load_and_train": prepared - clock, "verify": done - prepared},
        )
        if relation is not None:
            out["twofunctor"] = relation
        print(json.dumps(out, indent=1))
    else:
        print(f"catcore verify {args.model} on {what}, run {source}, layer {L.layer!r}")
        print(verdict)
        print(structure_line(structure))
        if relation is not None:
            print(twofunctor_line(relation))
    return 0 if verdict.functorial else 1


def two_functor(args: argparse.Namespace, model: nn.Module, P: Any, L: Any, path: Any) -> dict:
    """Thm 5.3 between ``--run`` and ``--against``: the affine relation of the
    representations at ``--positions`` matched positions (``docs/verify.md``, "Thm 5.3").
    Both runs are polygonal, so arc length is exact from their checkpoints alone."""
    from adapters.categories.twofunctor import affine_relation

    points, steps = load_run(model, args.against)
    other = P.trajectory(points, steps)
    del points
    try:
        r = affine_relation(L, path, other, samples=args.positions, align=args.align, fine=2)
    except ValueError as exc:  # a probe set too small for the layer's width
        raise UsageError(f"{exc} (raise --probe, bring --data with more samples, or read a "
                         "narrower --layer)") from None  # fmt: skip
    return {"against": args.against, "align": args.align, "positions": r.s.tolist(),
            "residuals": r.residuals.tolist(), "max_residual": r.max_residual,
            "median_residual": float(np.median(r.residuals)), "variation": r.variation,
            "width": int(r.A.shape[2])}  # fmt: skip


def twofunctor_line(r: dict[str, Any]) -> str:
    """The Thm 5.3 measurement in one sentence."""
    return (f"Thm 5.3 against {r['against']} ({r['align']}, {len(r['positions'])} positions): "
            f"relative residual of the affine fit at most {r['max_residual']:.3g} (median "
            f"{r['median_residual']:.3g}; 0 = exactly affine, 1 = no better than a constant), "
            f"variation of [A|b] {r['variation']:.3g}")


def structure_line(s: dict[str, Any]) -> str:
    """Def 2.4 along the run, in one sentence (:meth:`adapters.categories.rep.Rep.structure`)."""
    if s["k_star"] is None:
        head = "Def 2.4: no pair of probe samples moves apart along the run (every scale k holds)"
    else:
        head = (f"Def 2.4: structure preserved at every scale k > {s['k_star']:.4g} "
                f"({s['k_star_relative']:.3g} x the median starting distance)")  # fmt: skip
    at = f"; at k = {s['k']:.4g} (the median), {s['violating_pairs']} pairs violate"
    first = s["violations"][:3]
    if first:
        at += " (first: " + ", ".join(f"{v['i']}-{v['j']} at t={v['t']:.2f}" for v in first) + ")"
    jump = "" if s["jump"] is None else f"; largest step {s['jump']:.3g} x the median step"
    return head + at + jump

"""``catcore verify``: the functor laws of Thm 2.6 on a user's network (``docs/adapters.md``,
"catcore verify").

Imports a factory ``PKG.MODULE:FACTORY`` (or ``path/to/file.py:FACTORY``) returning an
``nn.Module`` for 8x8 digits (64 features or ``1x8x8`` images, detected by trying both),
optionally loads a state dict, trains two short consecutive segments on digits, and
verifies the laws on them with :func:`adapters.categories.learning.verify_functor`. Exit status: 0
when the laws hold and the network is a function of its parameters, 1 when not, 2 on bad
input.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import os
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from adapters.cli import UsageError, arguments
from adapters.nets.params import ParamSpace

#: Samples of the digits train split that define the loss; probe samples come from the test split.
TRAIN_SAMPLES = 512


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify the functor laws of the learning functor on your network",
        description="Train two short consecutive segments of your network on digits and check "
        "that L: Param -> Rep preserves identities and composition on them, and that the "
        "network is a function of its parameters (exit 0: yes, 1: no, 2: bad input).",
    )
    p.add_argument(
        "--model",  # required, checked in run() so that an unknown option is named first
        metavar="PKG.MODULE:FACTORY",
        help="factory returning an nn.Module for 8x8 digits (64 features or 1x8x8)",
    )
    p.add_argument("--checkpoint", metavar="FILE", help="state dict to load before training")
    p.add_argument("--layer", metavar="NAME", help="layer to read (default: penultimate)")
    p.add_argument(
        "--train-mode",
        action="store_true",
        help="verify with the model in train mode (Dropout/BatchNorm active)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--steps", type=int, default=20, help="optimizer steps per segment")
    p.add_argument("--probe", type=int, default=128, help="probe samples (from the test split)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="seed of the runs")
    p.add_argument("--grid", type=int, default=33, help="times per path at which laws compare")
    p.set_defaults(func=run)


def load_factory(spec: str) -> Any:
    """The callable named by ``MODULE:NAME`` (dotted module, or a ``.py`` file path)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--model must look like PKG.MODULE:FACTORY, got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise UsageError(f"no such file {module_name!r} (from --model {spec!r})")
            name = f"_catcore_verify_{path.stem}"
            loaded = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loaded)
            sys.modules[name] = module  # dataclasses and pickling look modules up there
            loaded.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except Exception as exc:  # the user's module failed to import: bad input
        raise UsageError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise UsageError(f"module {module_name!r} has no attribute {attr!r} (unknown factory)")
    if not callable(factory):
        raise UsageError(f"{spec!r} is a {type(factory).__name__}, not a callable factory")
    return factory


def build_model(spec: str) -> nn.Module:
    """Call the factory and check that it returns an ``nn.Module``."""
    factory = load_factory(spec)
    try:
        model = factory()
    except Exception as exc:
        raise UsageError(f"factory {spec!r} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"factory {spec!r} returned {type(model).__name__}, not an nn.Module")
    if not any(True for _ in model.parameters()):
        raise UsageError(f"the model from {spec!r} has no parameters")
    return model


def load_checkpoint(model: nn.Module, file: str) -> None:
    """Load a state dict (or a dict holding one under ``state_dict``/``model_state_dict``,
    or a recorded checkpoint with a flat ``theta``) into ``model``, strictly."""
    path = Path(file)
    if path.is_dir():
        raise UsageError(f"checkpoint {file!r} is a folder: give the file of one state dict")
    if not path.is_file():
        raise UsageError(f"checkpoint {file!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" not in str(exc) or not zipfile.is_zipfile(path):
            raise UsageError(f"{file!r} is not a torch checkpoint (torch.save) file") from None
        raise UsageError(f"checkpoint {file!r} holds objects other than tensors; save its "
                         "state_dict() instead") from None  # fmt: skip
    except Exception as exc:
        raise UsageError(f"cannot read checkpoint {file!r}: {type(exc).__name__}: {exc}") from None
    if isinstance(state, dict) and "theta" in state and isinstance(state["theta"], torch.Tensor):
        try:
            ParamSpace(model, buffers="include").load(model, state["theta"].to(_dtype(model)))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"checkpoint {file!r} does not fit the model: {exc}") from None
        return
    for key in ("state_dict", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise UsageError(f"checkpoint {file!r} holds a {type(state).__name__}, not a state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UsageError(f"checkpoint {file!r} does not fit the model: {exc}") from None


def _dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def detect_input(model: nn.Module) -> tuple[int, ...]:
    """``(64,)`` or ``(1, 8, 8)``: the first digits layout the model accepts, giving
    ``(N, 10)`` logits."""
    probe = copy.deepcopy(model).eval()
    errors = []
    for shape in ((64,), (1, 8, 8)):
        try:
            with torch.no_grad():
                out = probe(torch.zeros(2, *shape, dtype=_dtype(model)))
        except Exception as exc:
            errors.append(f"{'x'.join(map(str, shape))}: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise UsageError(
                f"the model maps a batch of 2 digits {shape} to {got}; expected (2, 10) logits"
            )
        return shape
    raise UsageError("the model accepts neither 64 features nor 1x8x8 images: " + "; ".join(errors))


def run(args: argparse.Namespace) -> int:
    from adapters.categories.learning import LearningFunctor, verify_functor
    from adapters.categories.param import Param
    from adapters.nets.data import digits
    from adapters.nets.training import train

    if args.model is None:
        raise UsageError("the following arguments are required: --model")
    if args.steps < 1 or args.probe < 4 or args.grid < 2:
        raise UsageError(
            f"need --steps >= 1, --probe >= 4 and --grid >= 2, got {args.steps}, {args.probe}, "
            f"{args.grid}"
        )
    model = build_model(args.model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    shape = detect_input(model)
    data = digits(seed=args.seed, flat=shape == (64,), dtype=_dtype(model))
    X, y = data.X_train[:TRAIN_SAMPLES], data.y_train[:TRAIN_SAMPLES]
    probe = data.X_test[: args.probe]
    every = max(1, args.steps // 5)
    runs = []
    for k in range(2):
        r = train(model, (X, y), steps=args.steps, lr=0.05, batch_size=32,
                  seed=args.seed + k, record_every=every)  # fmt: skip
        runs.append(r.trajectory)
    model.train(args.train_mode)
    try:
        P = Param(model, X, y, buffers="include", grid_size=args.grid)
        segments = [P.trajectory(t) for t in runs]
        L = LearningFunctor(P, probe=probe, layer=args.layer)
    except ValueError as exc:  # unknown layer, no Linear to find the penultimate, ...
        raise UsageError(str(exc)) from None
    verdict = verify_functor(L, segments)
    if args.json:
        out = verdict.to_json()
        out.update(
            model=args.model,
            layer=L.layer,
            input="x".join(map(str, shape)),
            train_mode=bool(args.train_mode),
            steps_per_segment=args.steps,
            start_loss=float(P.loss(segments[0].dom)),
            end_loss=float(P.loss(segments[-1].cod)),
        )
        print(json.dumps(out, indent=1))
    else:
        print(f"catcore verify {args.model} (layer {L.layer!r}, input {shape})")
        print(verdict)
    return 0 if verdict.functorial else 1

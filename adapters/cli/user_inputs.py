"""What users bring to a command: their model factory, checkpoint, data, loss and
recorded training run (``docs/verify.md``, "Your own network"). Every problem is a
:class:`~adapters.cli.UsageError` that names the option and what to change.

- ``--model MOD:FACTORY``: a callable returning an ``nn.Module`` (``MOD`` a dotted module
  or a ``.py`` file).
- ``--checkpoint FILE``: one state dict, also under ``state_dict``/``model_state_dict``, or
  a catcore checkpoint with a flat ``theta``.
- ``--data MOD:FACTORY``: returns ``(X, y)`` tensors, a ``Dataset`` of ``(x, y)`` pairs or
  a ``DataLoader`` of ``(x, y)`` batches (dict batches with ``input_ids``/``labels`` too).
  ``X`` may be integer token ids; it is never cast.
- ``--loss MOD:FN``: ``fn(output, y)`` returning a scalar, where ``output`` is the tensor
  the model's output stands for (:func:`adapters.nets.model_io.as_output`).
- ``--run DIR_OR_GLOB``: checkpoints of one training run, in training order (the last
  integer in each file name orders them and is the step), or a folder catcore recorded.
"""

from __future__ import annotations

import copy
import glob
import importlib
import importlib.util
import os
import pickle
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from adapters.cli import UsageError, arguments
from adapters.nets.model_io import as_output
from adapters.nets.params import ParamSpace


def load_factory(spec: str, option: str = "--model") -> Any:
    """The callable named by ``MODULE:NAME`` (dotted module, or a ``.py`` file path), given
    as ``option`` on the command line."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{option} must look like PKG.MODULE:NAME, got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise UsageError(f"no such file {module_name!r} (from {option} {spec!r})")
            folder = str(path.resolve().parent)  # its sibling modules import, as in a script
            if folder not in sys.path:
                sys.path.insert(0, folder)
            name = f"_catcore_user_{path.stem}"
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
        raise UsageError(
            f"module {module_name!r} has no attribute {attr!r} (unknown name in {option})"
        )
    if not callable(factory):
        raise UsageError(f"{spec!r} is a {type(factory).__name__}, not a callable ({option})")
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
            ParamSpace(model, buffers="include").load(model, state["theta"].to(model_dtype(model)))
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
        hint = _prefix_hint(set(model.state_dict()), set(state))
        raise UsageError(f"checkpoint {file!r} does not fit the model: {exc}{hint}") from None


def _prefix_hint(wanted: set[str], found: set[str]) -> str:
    """A hint when the checkpoint's keys are the model's with a prefix added or removed
    (``module.`` from DataParallel, ``model.`` from a Lightning module)."""
    for have, need, verb in ((found, wanted, "carry"), (wanted, found, "lack")):
        heads = {k.split(".", 1)[0] + "." for k in have if "." in k}
        for head in heads:
            if {k[len(head):] for k in have if k.startswith(head)} >= need and need:
                return (f" (hint: the checkpoint's keys {verb} the prefix {head!r}; strip "
                        "or add it when saving, or load it into the matching module)")  # fmt: skip
    return ""


def model_dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


#: keys of dict batches that hold the inputs and the labels (Hugging Face conventions first)
INPUT_KEYS = ("input_ids", "pixel_values", "inputs", "x", "X")
LABEL_KEYS = ("labels", "label", "targets", "y")


def load_data(spec: str, limit: int) -> tuple[Tensor, Tensor]:
    """``(X, y)`` from the ``--data`` factory, at most ``limit`` samples (module docstring)."""
    factory = load_factory(spec, "--data")
    try:
        data = factory()
    except Exception as exc:
        raise UsageError(f"data factory {spec!r} raised {type(exc).__name__}: {exc}") from None
    if isinstance(data, torch.utils.data.DataLoader):
        X, y = _from_batches(data, limit, spec)
    elif isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], Tensor):
        X, y = data
    elif isinstance(data, torch.utils.data.Dataset):
        X, y = _from_batches(([data[i]] for i in range(len(data))), limit, spec, stack=True)
    else:
        raise UsageError(f"data factory {spec!r} returned {type(data).__name__}; return (X, y) "
                         "tensors, a Dataset of (x, y) pairs or a DataLoader")  # fmt: skip
    y = torch.as_tensor(y)
    if len(X) != len(y) or len(X) == 0:
        raise UsageError(f"--data {spec!r} gives {len(X)} inputs and {len(y)} labels")
    return X[:limit], y[:limit]


def _pair(batch: Any, spec: str) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        x = next((batch[k] for k in INPUT_KEYS if k in batch), None)
        y = next((batch[k] for k in LABEL_KEYS if k in batch), None)
        if x is not None and y is not None:
            return x, y
        raise UsageError(f"--data {spec!r}: a batch has keys {sorted(batch)}; need one of "
                         f"{INPUT_KEYS} and one of {LABEL_KEYS}")  # fmt: skip
    raise UsageError(f"--data {spec!r}: a sample is a {type(batch).__name__}, not an (x, y) pair")


def _from_batches(batches: Any, limit: int, spec: str, stack: bool = False) -> tuple:
    xs, ys, n = [], [], 0
    for batch in batches:
        items = batch if stack else [batch]
        for item in items:
            x, y = _pair(item, spec)
            x, y = torch.as_tensor(x), torch.as_tensor(y)
            xs.append(x.unsqueeze(0) if stack else x)
            ys.append(y.unsqueeze(0) if stack else y)
            n += len(xs[-1])
        if n >= limit:
            break
    if not xs:
        raise UsageError(f"--data {spec!r} is empty")
    try:
        return torch.cat(xs), torch.cat(ys)
    except RuntimeError as exc:
        raise UsageError(f"--data {spec!r}: samples of different shapes ({exc}); pad them "
                         "to one length") from None  # fmt: skip


def load_loss(spec: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The ``--loss`` callable ``fn(output, y) -> scalar``."""
    return load_factory(spec, "--loss")


def _order(path: str) -> tuple:
    """Natural order of file names: the integers in them compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", Path(path).name))


def run_files(spec: str) -> list[str]:
    """The checkpoint files of ``--run`` (a folder or a glob), in training order."""
    if os.path.isdir(spec):
        files = [str(p) for p in Path(spec).iterdir() if p.suffix in (".pt", ".pth", ".bin")]
    else:
        files = glob.glob(spec)
    files = sorted((f for f in files if os.path.isfile(f)), key=_order)
    if len(files) < 2:
        raise UsageError(f"--run {spec!r} names {len(files)} checkpoint file(s); a training "
                         "run needs at least 2 (its start and its end)")  # fmt: skip
    return files


def load_run(model: nn.Module, spec: str) -> tuple[Tensor, list[float]]:
    """The points of ``ParamSpace(model, 'include')`` that ``--run`` records, ``(K, n)``,
    and their steps (the last integer in each file name, else ``0..K-1``)."""
    from adapters.nets.trajectory import INDEX, Trajectory

    if os.path.isdir(spec) and (Path(spec) / INDEX).is_file():
        traj = Trajectory.open(spec)
        return traj.points(), [float(s) for s in traj.steps]
    files = run_files(spec)
    space = ParamSpace(model, buffers="include")
    home = space.vector(model)
    points = []
    for f in files:
        load_checkpoint(model, f)
        points.append(space.vector(model))
    space.load(model, home)
    numbers = [re.findall(r"\d+", Path(f).stem) for f in files]
    steps = [float(n[-1]) for n in numbers if n]
    if len(steps) != len(files) or any(b <= a for a, b in zip(steps, steps[1:])):
        steps = [float(i) for i in range(len(files))]
    return torch.stack(points), steps


def detect_input(model: nn.Module, logits: bool = True) -> tuple[int, ...]:
    """``(64,)`` or ``(1, 8, 8)``: the first digits layout the model accepts, giving
    ``(N, 10)`` logits (any output with ``logits=False``)."""
    probe = copy.deepcopy(model).eval()
    errors = []
    for shape in ((64,), (1, 8, 8)):
        try:
            with torch.no_grad():
                out = as_output(probe(torch.zeros(2, *shape, dtype=model_dtype(model))))
        except Exception as exc:
            errors.append(f"{'x'.join(map(str, shape))}: {type(exc).__name__}: {exc}")
            continue
        if not logits:
            return shape
        if not isinstance(out, Tensor) or tuple(out.shape) != (2, 10):
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise UsageError(
                f"the model maps a batch of 2 digits {shape} to {got}; expected (2, 10) logits "
                "(or give your own data with --data)"
            )
        return shape
    raise UsageError("the model accepts neither 64 features nor 1x8x8 images: " + "; ".join(errors))


def check_runs(model: nn.Module, X: Tensor, y: Tensor, loss: Any) -> None:
    """The model runs on two samples and the loss is a finite scalar there, or a
    :class:`UsageError` that says which of them failed."""
    probe = copy.deepcopy(model).eval()
    try:
        with torch.no_grad():
            out = as_output(probe(X[:2]))
    except Exception as exc:
        raise UsageError(f"the model fails on 2 samples of the data (input {tuple(X.shape[1:])}, "
                         f"{X.dtype}): {type(exc).__name__}: {exc}") from None  # fmt: skip
    try:
        value = loss(out, y[:2])
    except Exception as exc:
        raise UsageError(f"the loss fails on the model's output {tuple(out.shape)} and the "
                         f"labels {tuple(y[:2].shape)}: {type(exc).__name__}: {exc}") from None
    if not isinstance(value, Tensor) or value.numel() != 1:
        raise UsageError(f"the loss must return a scalar tensor, got {value!r:.80}")


def training_data(spec: str | None, model: nn.Module, samples: int) -> tuple[Tensor, Tensor, str]:
    """``(X, y, description)``: the first ``samples`` of ``--data``, or of the digits
    training split in the layout the model accepts (:func:`detect_input`)."""
    if spec is not None:
        X, y = load_data(spec, samples)
        return X, y, spec
    from adapters.nets.data import digits

    shape = detect_input(model)
    data = digits(flat=shape == (64,), dtype=model_dtype(model))
    return data.X_train[:samples], data.y_train[:samples], f"digits {'x'.join(map(str, shape))}"


def landscape_loss(spec: str | None, model: nn.Module, X: Tensor) -> Callable[[Any, Any], Tensor]:
    """The ``--loss`` callable, or by default plain softmax cross-entropy when the model's
    output is ``(N, C)`` (the loss the certified barrier bound knows), else
    :func:`adapters.nets.metrics.cross_entropy` (sequences ``(N, T, C)`` too)."""
    if spec is not None:
        return load_loss(spec)
    import torch.nn.functional as F

    from adapters.nets.metrics import cross_entropy

    with torch.no_grad():
        flat = as_output(copy.deepcopy(model).eval()(X[:2])).ndim == 2
    return F.cross_entropy if flat else cross_entropy


def add_model_options(parser: Any, samples: int = 1024, loss: bool = True) -> None:
    """The options of a command on the user's own model: ``--model``, ``--data`` and,
    with ``loss``, ``--loss`` and ``--samples`` (``docs/verify.md``, "What you bring").
    ``--model`` is not required by the parser: each command checks it, so that an unknown
    option is named before a missing one."""
    parser.add_argument("--model", metavar="MOD:FACTORY",
                        help="factory returning your nn.Module (MOD: a dotted module or a "
                        ".py file)")  # fmt: skip
    parser.add_argument("--data", metavar="MOD:FACTORY",
                        help="factory returning (X, y) tensors, a Dataset or a DataLoader; X "
                        "may be token ids (default: 8x8 digits)")  # fmt: skip
    if not loss:
        return
    parser.add_argument("--loss", metavar="MOD:FN",
                        help="loss fn(output, y) -> scalar (default: cross-entropy)")
    parser.add_argument("--samples", type=arguments.positive, default=samples,
                        help=f"samples of the data that define the loss (default {samples})")

"""What goes into a user's network and what is read out of it (``docs/adapters.md``, "Models").

- **Inputs** (:func:`as_input`): floating-point inputs are cast to the evaluation dtype;
  integer inputs (token ids, indices) keep their dtype and only move to the device.
- **Outputs** (:func:`as_output`): the tensor a forward pass stands for: a tensor itself;
  the ``logits`` of an object that has them (a Hugging Face ``ModelOutput``); the first
  element of a tuple or list (``nn.LSTM``, ``nn.MultiheadAttention``), recursively. A
  plain ``dict`` (the heads of a multi-task model) is returned as it is.
- **Layers** (:func:`parse_layer`): ``MODULE`` reads the output of a submodule (``""`` is
  the whole model), ``MODULE:in`` its first input; fields and indices reach into a
  structured output: ``lstm[0]``, ``encoder.last_hidden_state``, ``encoder.layer.1[0]``.
  ``MODULE`` is the longest dotted prefix that names a submodule; what follows are fields.
  A layer's value is reduced to a tensor by :func:`as_output` after its fields are taken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

_INDEX = re.compile(r"\[(-?\d+)\]")


def as_input(X: Tensor, dtype: torch.dtype, device: torch.device | str | None = None) -> Tensor:
    """``X`` on ``device``, cast to ``dtype`` when it is floating point (never token ids)."""
    if not isinstance(X, Tensor):
        raise TypeError(f"inputs must be a Tensor, got {type(X).__name__}")
    if X.is_floating_point():
        return X.to(device=device, dtype=dtype)
    return X.to(device=device)


def as_output(out: Any) -> Any:
    """The tensor a model's output stands for (module docstring); a ``dict`` passes."""
    while not isinstance(out, Tensor):
        if type(out) is dict:
            return out
        logits = getattr(out, "logits", None)
        if isinstance(logits, Tensor):
            return logits
        if isinstance(out, (tuple, list)) and out:
            out = out[0]
        elif isinstance(out, Mapping) and out:  # a ModelOutput without logits
            out = next(iter(out.values()))
        else:
            raise TypeError(
                f"cannot read a tensor from a model output of type {type(out).__name__}: "
                "return a tensor, a tuple whose first element is one, or an object with .logits"
            )
    return out


@dataclass(frozen=True)
class Layer:
    """A parsed layer specification: ``module`` (qualified name), ``take_input`` (read its
    first input instead of its output), ``fields`` (names and indices into the output)."""

    module: str
    take_input: bool = False
    fields: tuple[str | int, ...] = ()

    def read(self, value: Any) -> Tensor:
        """The layer's tensor from the module's output (or input) ``value``."""
        for f in self.fields:
            try:
                value = value[f] if isinstance(f, int) or isinstance(value, Mapping) else (
                    getattr(value, f)
                )  # fmt: skip
            except (AttributeError, IndexError, KeyError, TypeError):
                raise ValueError(
                    f"layer {self!s}: the output of module {self.module or '<root>'!r} "
                    f"({type(value).__name__}) has no field {f!r}"
                ) from None
        out = as_output(value)
        if not isinstance(out, Tensor):
            raise ValueError(
                f"layer {self!s} is a {type(out).__name__}; add a field that reaches a tensor"
            )
        return out

    def __str__(self) -> str:
        text = self.module
        for f in self.fields:
            text += f"[{f}]" if isinstance(f, int) else f".{f}" if text else f
        return repr(text + (":in" if self.take_input else ""))


def parse_layer(model: nn.Module, layer: str) -> Layer:
    """The :class:`Layer` that ``layer`` names in ``model`` (grammar in the module docstring)."""
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a string, got {type(layer).__name__}")
    spec, _, tail = layer.partition(":")
    if tail not in ("", "in"):
        raise ValueError(f"layer {layer!r}: the only suffix allowed is ':in'")
    parts: list[str | int] = []
    for word in spec.split(".") if spec else []:
        head, *indices = _INDEX.split(word)
        if head:
            parts.append(head)
        parts += [int(i) for i in indices if i]
    names = {n for n, _ in model.named_modules()}
    cut = 0
    for i in range(1, len(parts) + 1):
        if all(isinstance(p, str) for p in parts[:i]) and ".".join(parts[:i]) in names:
            cut = i
    module, fields = ".".join(parts[:cut]), tuple(parts[cut:])  # type: ignore[arg-type]
    if tail == "in" and fields:
        raise ValueError(f"layer {layer!r}: ':in' reads a module's input, which has no fields")
    if fields and isinstance(fields[0], str) and not cut and fields[0] not in _ROOT_FIELDS:
        known = sorted(n for n in names if n)
        raise ValueError(
            f"no submodule {fields[0]!r} in {type(model).__name__}; have {known[:40]}"
            + (" ..." if len(known) > 40 else "")
        )
    return Layer(module, tail == "in", fields)


#: Fields of a whole model's output that a layer may name without a module
#: (Hugging Face ``ModelOutput`` names).
_ROOT_FIELDS = ("last_hidden_state", "hidden_states", "pooler_output", "logits", "attentions")

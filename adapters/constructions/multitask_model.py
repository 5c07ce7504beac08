"""The multi-task model of the limit-preservation probe: a shared trunk and one head per
task (``docs/transfer.md``, "Limit preservation"), and its summed loss.

A user's own model enters through :func:`as_multitask`: any ``nn.Module`` with a ``trunk``
(of any module type) and named ``heads``, each head reading the trunk's output or any layer
inside it (the layer grammar of :func:`adapters.nets.model_io.parse_layer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

from adapters.nets.model_io import Layer, as_output, parse_layer

SHARED = "shared"


TRUNK = "trunk"


class MultiTaskModel(nn.Module):
    """A trunk (any ``nn.Module``) and one head per task.

    ``reads[task]`` names the layer of the trunk whose value the task's head reads: ``""``
    (the default) is the trunk's output, otherwise a qualified submodule name with optional
    fields and indices (``"1"``, ``"encoder.layer.0[0]"``, ``"block:in"``; see
    :func:`~adapters.nets.model_io.parse_layer`). The shared representation is always the
    trunk's output (:func:`~adapters.nets.model_io.as_output` of it: a Hugging Face model's
    ``last_hidden_state``). ``forward(x)`` returns ``{task: logits}``;
    ``forward(x, readouts=True)`` returns ``{"shared": trunk output, "out:<task>": logits}``.
    """

    def __init__(
        self,
        trunk: nn.Module,
        heads: Mapping[str, nn.Module],
        reads: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(trunk, nn.Module):
            raise TypeError(f"trunk must be an nn.Module, got {type(trunk).__name__}")
        if len(heads) < 1:
            raise ValueError("a multi-task model needs at least one head")
        self.trunk = trunk
        self.heads = nn.ModuleDict(dict(heads))
        self.reads = {t: "" for t in heads} | dict(reads or {})
        unknown = sorted(set(self.reads) - set(heads))
        if unknown:
            raise ValueError(f"bad reads: tasks {unknown} have no head; heads are {list(heads)}")
        self._layers: dict[str, Layer] = {}
        for task, spec in self.reads.items():
            if spec:
                try:
                    self._layers[task] = parse_layer(trunk, spec)
                except ValueError as exc:
                    raise ValueError(f"bad reads {{{task!r}: {spec!r}}}: {exc}") from None

    @property
    def tasks(self) -> list[str]:
        return list(self.heads)

    def forward(self, x: Tensor, readouts: bool = False) -> dict[str, Tensor]:
        taps, handles = self._tap()
        try:
            shared = as_output(self.trunk(x))
        finally:
            for h in handles:
                h.remove()
        if not isinstance(shared, Tensor):
            raise TypeError(f"the trunk's output is a {type(shared).__name__}, not a tensor")
        outs = {t: head(taps[t] if t in taps else shared) for t, head in self.heads.items()}
        if not readouts:
            return outs
        return {SHARED: shared, **{f"out:{t}": o for t, o in outs.items()}}

    def _tap(self) -> tuple[dict[str, Tensor], list[Any]]:
        """Hooks that store each head's layer value in ``taps`` during one trunk call."""
        taps: dict[str, Tensor] = {}
        handles = []
        for task, layer in self._layers.items():
            module = self.trunk.get_submodule(layer.module)

            def keep(_m, inputs, output, task=task, layer=layer) -> None:
                taps[task] = layer.read(inputs[0] if layer.take_input else output)

            handles.append(module.register_forward_hook(keep))
        return taps, handles


def as_multitask(model: nn.Module) -> MultiTaskModel:
    """``model`` as a :class:`MultiTaskModel`: itself, or a module with a ``trunk``
    (``nn.Module``), ``heads`` (an ``nn.ModuleDict`` or a mapping of modules) and optionally
    ``reads`` (task -> layer of the trunk), sharing its submodules. Every parameter must
    belong to the trunk or to a head (a parameter outside both would silently drop out of
    the diagram); a :class:`ValueError` names the ones that do not.
    """
    if isinstance(model, MultiTaskModel):
        return model
    trunk, heads = getattr(model, "trunk", None), getattr(model, "heads", None)
    if not isinstance(trunk, nn.Module) or not isinstance(heads, (nn.ModuleDict, Mapping)):
        raise ValueError(
            f"a {type(model).__name__} is not a multi-task model: give it a `trunk` "
            "(nn.Module) and named `heads` (nn.ModuleDict), optionally `reads` (task -> "
            "layer of the trunk the head reads; default its output)"
        )
    if not heads:
        raise ValueError(f"the {type(model).__name__} has no heads")
    wrapped = MultiTaskModel(trunk, heads, getattr(model, "reads", None))
    inside = {id(p) for p in wrapped.parameters()}
    outside = [n for n, p in model.named_parameters() if id(p) not in inside]
    if outside:
        raise ValueError(f"parameters outside the trunk and the heads: {outside[:8]}")
    return wrapped


def multitask_mlp(
    in_features: int = 64,
    hidden: Sequence[int] = (32, 16),
    tasks: Mapping[str, int] | None = None,
    read: str = "",
    seed: int = 0,
) -> MultiTaskModel:
    """Trunk ``Linear -> ReLU`` per hidden width; a ``Linear`` head per task reading the
    trunk child ``read`` (``""``: the trunk output). Initialized under ``seed`` (the global
    torch random state is left as it was)."""
    tasks = dict(tasks or {"digit": 10, "parity": 2})
    widths = [in_features, *hidden]
    width = {"": widths[-1]}
    width.update({str(2 * i + k): widths[i + 1] for i in range(len(hidden)) for k in (0, 1)})
    if read not in width:
        raise ValueError(f"read must be '' or a trunk child in {sorted(width)[1:]}, got {read!r}")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        trunk = nn.Sequential(*layers)
        heads = {t: nn.Linear(width[read], c) for t, c in tasks.items()}
    return MultiTaskModel(trunk, heads, {t: read for t in tasks})


def multitask_loss(outputs: Mapping[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
    """Sum over tasks of the mean cross-entropy."""
    return sum(F_.cross_entropy(outputs[t], targets[t]) for t in targets)

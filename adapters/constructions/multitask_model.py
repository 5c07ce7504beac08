"""The multi-task model of the limit-preservation probe: a shared trunk and one head per
task (``docs/transfer.md``, "Limit preservation"), and its summed loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

SHARED = "shared"


TRUNK = "trunk"


class MultiTaskModel(nn.Module):
    """A trunk (``nn.Sequential``) and one head per task.

    ``reads[task]`` names the trunk child whose output the task's head reads (default
    ``""``: the trunk's output). The shared representation is always the trunk's output.
    ``forward(x)`` returns ``{task: logits}``; ``forward(x, readouts=True)`` returns
    ``{"shared": trunk output, "out:<task>": logits}``.
    """

    def __init__(
        self,
        trunk: nn.Sequential,
        heads: Mapping[str, nn.Module],
        reads: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(trunk, nn.Sequential):
            raise TypeError(f"trunk must be an nn.Sequential, got {type(trunk).__name__}")
        if len(heads) < 1:
            raise ValueError("a multi-task model needs at least one head")
        self.trunk = trunk
        self.heads = nn.ModuleDict(dict(heads))
        self.reads = {t: "" for t in heads} | dict(reads or {})
        children = set(trunk._modules)
        bad = {t: r for t, r in self.reads.items() if t not in heads or (r and r not in children)}
        if bad:
            raise ValueError(
                f"bad reads {bad}: tasks are {list(heads)}, trunk children {sorted(children)}"
            )

    @property
    def tasks(self) -> list[str]:
        return list(self.heads)

    def forward(self, x: Tensor, readouts: bool = False) -> dict[str, Tensor]:
        taps: dict[str, Tensor] = {}
        for name, layer in self.trunk.named_children():
            x = layer(x)
            taps[name] = x
        taps[""] = x
        outs = {t: head(taps[self.reads[t]]) for t, head in self.heads.items()}
        if not readouts:
            return outs
        return {SHARED: x, **{f"out:{t}": o for t, o in outs.items()}}


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

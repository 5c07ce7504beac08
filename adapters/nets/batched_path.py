"""The batched-matmul path of the engine: which models it runs (pure MLPs, :func:`mlp_plan`)
and the cross-entropy it reduces with (``docs/adapters.md``, "Evaluation engine")."""

from __future__ import annotations

from torch import Tensor, nn

#: elementwise modules the batched-matmul path may apply to a ``(P, N, d)`` tensor as is
_ELEMENTWISE = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.CELU,
    nn.SELU,
    nn.Softplus,
    nn.Mish,
    nn.Hardtanh,
    nn.Softsign,
    nn.Tanhshrink,
    nn.Identity,
)


def batched_cross_entropy(outputs: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of each point's ``(N, C)`` logits against ``y``: ``(P,)``.

    Equal to ``F.cross_entropy(outputs[p], y)`` for each ``p``; reduces along the class axis
    in whichever memory order ``outputs`` has (the batched-matmul path yields class-major
    logits, for which this is several times faster than ``F.cross_entropy``).
    """
    P, N, C = outputs.shape
    index = y.view(1, N, 1).expand(P, N, 1)
    m = outputs.amax(dim=2, keepdim=True)
    lse = (outputs - m).exp_().sum(dim=2).log_().add_(m.squeeze(2))
    return (lse - outputs.gather(2, index).squeeze(2)).mean(dim=1)


PlanStep = tuple[str, "nn.Module | None", str]


def mlp_plan(model: nn.Module) -> list[PlanStep] | None:
    """The flat list of steps ``(name, layer, kind)`` of a pure MLP, or ``None`` if
    ``model`` is not one. ``kind`` is ``"op"`` for a layer, ``"enter"``/``"exit"`` (with
    ``layer=None``) around a nested ``Sequential``, so that both its input and its output
    can be read.

    Pure MLP: an ``nn.Sequential`` (possibly nested) of ``nn.Linear``, elementwise
    activations, ``Dropout`` that is inactive (eval mode or ``p == 0``) and a leading
    ``nn.Flatten``; with at least one ``Linear``.
    """
    if not isinstance(model, nn.Sequential):
        return None
    plan: list[PlanStep] = []

    def has_linear() -> bool:
        return any(isinstance(m, nn.Linear) for _, m, _ in plan)

    def walk(seq: nn.Sequential, prefix: str) -> bool:
        for key, m in seq._modules.items():
            name = f"{prefix}{key}"
            if isinstance(m, nn.Sequential):
                plan.append((name, None, "enter"))
                if not walk(m, name + "."):
                    return False
                plan.append((name, None, "exit"))
            elif isinstance(m, (nn.Linear, *_ELEMENTWISE)):
                plan.append((name, m, "op"))
            elif isinstance(m, nn.Dropout) and (not m.training or m.p == 0):
                plan.append((name, None, "op"))
            elif isinstance(m, nn.Flatten) and not has_linear():
                plan.append((name, m, "op"))
            else:
                return False
        return True

    if not walk(model, "") or not has_linear():
        return None
    return plan

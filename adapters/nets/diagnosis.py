"""Why a network is not a function of its parameters (``docs/adapters.md``, "The learning
functor and its verification").

Thm 2.6 needs ``phi_theta(x)`` to depend on ``theta`` and ``x`` only. Three things break
that, and each is found two ways:

- **by inspection** (:func:`inspect_modules`): active ``Dropout``/``RReLU`` (random in
  train mode), ``BatchNorm`` in train mode or without running statistics (normalizes
  with the statistics of the current batch);
- **empirically** (:func:`localize`), with forward hooks on every submodule: a module
  whose inputs are identical in two forward passes at the same ``theta`` but whose
  outputs differ is *stochastic* (or reads state that changes between calls); a module
  whose inputs for the first half of the probe set agree between a full-batch and a
  half-batch pass but whose outputs do not *couples the samples of a batch*; a forward
  pass that changes a buffer *mutates state outside theta*. Only the innermost flagged
  modules are blamed (their containers are flagged as a consequence).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

FIX_EVAL = "call model.eval() before verifying (Dropout then passes its input through)"
FIX_BN = (
    "call model.eval() so that it normalizes with its running statistics, and make those "
    "statistics part of the point (ParamSpace buffers='include') or re-estimate them at each "
    "point (buffers='recompute')"
)
FIX_NO_STATS = (
    "build it with track_running_stats=True and call model.eval(), or use a per-sample "
    "normalization (LayerNorm, GroupNorm)"
)
FIX_RANDOM = (
    "make its forward pass deterministic in eval mode, or move the state it reads into its "
    "parameters or registered buffers"
)
FIX_BATCH = "make it act on each sample separately (in eval mode), or use a per-sample layer"
FIX_MUTATION = (
    "call model.eval() (BatchNorm then stops updating its statistics) or keep the state out of "
    "the forward pass"
)


@dataclass(frozen=True)
class Culprit:
    """A module responsible for a failure of "the output is a function of theta".

    ``module`` is its qualified name (``"<root>"`` for the model itself), ``kind`` its
    class, ``problem`` what it does, ``evidence`` how it was found (``"inspection"``,
    ``"repeat"``, ``"batch"``, ``"buffers"``), ``breaks`` whether it breaks the functor
    (a mutated buffer that the output does not read is only reported).
    """

    module: str
    kind: str
    problem: str
    evidence: str
    fix: str
    breaks: bool = True

    def __str__(self) -> str:
        where = f"module {self.module!r} ({self.kind})"
        return f"{where}: {self.problem} [{self.evidence}]. Fix: {self.fix}."


def _name(name: str) -> str:
    return name or "<root>"


def inspect_modules(model: nn.Module) -> list[Culprit]:
    """Modules that make the output random or batch dependent in the model's current mode."""
    out = []
    for name, m in model.named_modules():
        kind = type(m).__name__
        if isinstance(m, _DropoutNd) and m.training and m.p > 0:
            problem = f"active dropout (p={m.p:g}) draws a new random mask at every forward pass"
            out.append(Culprit(_name(name), kind, problem, "inspection", FIX_EVAL))
        elif isinstance(m, nn.RReLU) and m.training:
            problem = "RReLU in train mode draws random negative slopes at every forward pass"
            out.append(Culprit(_name(name), kind, problem, "inspection", FIX_EVAL))
        elif isinstance(m, _BatchNorm) and m.training:
            problem = (
                "BatchNorm in train mode normalizes with the statistics of the current batch "
                "(a sample's output depends on the other samples) and overwrites its running "
                "statistics at every forward pass"
            )
            out.append(Culprit(_name(name), kind, problem, "inspection", FIX_BN))
        elif isinstance(m, _BatchNorm) and not m.track_running_stats:
            problem = "BatchNorm without running statistics uses batch statistics even in eval mode"
            out.append(Culprit(_name(name), kind, problem, "inspection", FIX_NO_STATS))
    return out


class _Recorder:
    """Forward hooks storing (input, output) of every submodule call, in call order."""

    def __init__(self, model: nn.Module) -> None:
        self.calls: dict[str, list[list[Tensor | None]]] = {}
        self.handles = []
        for name, m in model.named_modules():
            self.handles.append(m.register_forward_pre_hook(self._pre(name)))
            self.handles.append(m.register_forward_hook(self._post(name)))

    def _pre(self, name: str):
        def hook(_m: nn.Module, args: tuple) -> None:
            x = args[0] if args and isinstance(args[0], Tensor) else None
            self.calls.setdefault(name, []).append(
                [None if x is None else x.detach().clone(), None]
            )

        return hook

    def _post(self, name: str):
        def hook(_m: nn.Module, _args: tuple, out: object) -> None:
            if isinstance(out, Tensor):
                self.calls[name][-1][1] = out.detach().clone()

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _run(model: nn.Module, X: Tensor) -> dict[str, list[list[Tensor | None]]]:
    rec = _Recorder(model)
    try:
        with torch.no_grad():
            model(X)
    finally:
        rec.remove()
    return rec.calls


def _differ(a: Tensor | None, b: Tensor | None, rtol: float) -> bool | None:
    """``None`` when not comparable, else whether ``a`` and ``b`` differ beyond ``rtol``."""
    if a is None or b is None:
        return None
    if a.shape != b.shape:
        return True
    scale = 1.0 + float(torch.maximum(a.abs().max(), b.abs().max())) if a.numel() else 1.0
    return bool((a - b).abs().max() > rtol * scale) if a.numel() else False


def _flag(first: dict, second: dict, rows: int | None, rtol: float) -> set[str]:
    """Modules whose inputs agree (on the first ``rows`` samples) but outputs do not."""
    flagged = set()
    for name, calls in first.items():
        for c1, c2 in zip(calls, second.get(name, [])):
            (i1, o1), (i2, o2) = c1, c2
            if rows is not None:
                if any(
                    t is not None and (t.ndim == 0 or t.shape[0] < rows) for t in (i1, o1, i2, o2)
                ):
                    continue
                i1, o1, i2, o2 = (None if t is None else t[:rows] for t in (i1, o1, i2, o2))
            if _differ(i1, i2, rtol) is False and _differ(o1, o2, rtol):
                flagged.add(name)
                break
    return flagged


def _inside(child: str, parent: str) -> bool:
    """Whether module ``child`` lies strictly inside module ``parent``."""
    return child != parent and (parent == "" or child.startswith(parent + "."))


def _innermost(names: set[str]) -> list[str]:
    return sorted(n for n in names if not any(_inside(m, n) for m in names))


def _buffers(model: nn.Module) -> dict[str, Tensor]:
    return {n: b.detach().clone() for n, b in model.named_buffers()}


def localize(model: nn.Module, X: Tensor, rtol: float = 1e-9) -> list[Culprit]:
    """Empirical culprits (see module docstring), on a copy of ``model`` (never mutated).

    ``X`` should have at least 4 samples for the batch test (skipped otherwise); ``rtol``
    is relative to ``1 + max |value|`` (use about ``1e-5`` in float32).
    """
    work = copy.deepcopy(model)
    kinds = {name: type(m).__name__ for name, m in work.named_modules()}
    before = _buffers(work)
    a = _run(work, X)
    changed = sorted(
        n
        for n, b in _buffers(work).items()
        if b.shape != before[n].shape or not torch.equal(b, before[n])
    )
    out: list[Culprit] = []
    if changed:
        owners: dict[str, list[str]] = {}
        for n in changed:
            owner, _, leaf = n.rpartition(".")
            owners.setdefault(owner, []).append(leaf)
        for owner, leaves in sorted(owners.items()):
            problem = (
                "its forward pass writes the buffers "
                + ", ".join(leaves)
                + " (state outside theta)"
            )
            out.append(Culprit(_name(owner), kinds[owner], problem, "buffers", FIX_MUTATION, False))
    work.load_state_dict({**work.state_dict(), **before})
    random = _innermost(_flag(a, _run(work, X), None, rtol))
    for name in random:
        problem = "same input, different output at the same theta (randomness or hidden state)"
        out.append(Culprit(_name(name), kinds[name], problem, "repeat", FIX_RANDOM))
    if X.shape[0] >= 4:
        work.load_state_dict({**work.state_dict(), **before})
        half = X.shape[0] // 2
        b = _run(work, X[:half])
        noisy = {n for n in _flag(a, b, half, rtol) if not any(_inside(r, n) for r in random)}
        coupled = _innermost(noisy - set(random))
        for name in coupled:
            problem = "a sample's output depends on the other samples of its batch"
            out.append(Culprit(_name(name), kinds[name], problem, "batch", FIX_BATCH))
    return out


def merge(inspected: list[Culprit], found: list[Culprit]) -> list[Culprit]:
    """Culprits by inspection, then empirical ones for modules inspection did not name;
    an empirical confirmation is recorded in ``evidence`` (``"inspection+repeat"``)."""
    by_name = {c.module: c for c in inspected}
    extra = []
    for c in found:
        if c.module in by_name and c.breaks:
            old = by_name[c.module]
            if c.evidence not in old.evidence:
                by_name[c.module] = Culprit(
                    old.module, old.kind, old.problem, f"{old.evidence}+{c.evidence}", old.fix
                )
        elif c.module not in by_name:
            extra.append(c)
    return list(by_name.values()) + extra

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
  pass that changes a buffer *mutates state outside theta*, and a module whose output
  then moves in a second pass from the written state (but not from the restored one)
  *reads* it, which breaks the functor. Only the innermost flagged modules are blamed
  (their containers are flagged as a consequence). Inputs and outputs are compared as
  all the tensors they hold (positional and keyword arguments, tuples, ``ModelOutput``
  fields), so modules whose output is a tuple (``nn.LSTM``, ``nn.MultiheadAttention``,
  attention blocks) are tested like any other, and randomness in a functional call
  (``F.dropout``, a drop-path mask) is pinned on the module whose ``forward`` makes it.
  Each module's first call is also replayed alone with the same arguments (and the
  buffers it had), which finds randomness that upstream randomness would hide from a
  second pass of the whole model (attention dropout behind an embedding dropout).
  :func:`grouped` writes one sentence per diagnosis however many modules share it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    "if it is random only in train mode (dropout inside it, a drop-path mask), call "
    "model.eval(); otherwise make its forward pass deterministic, or move the state it reads "
    "into its parameters or registered buffers"
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
        return grouped([self])[0]


def names_of(modules: list[str], shown: int = 6) -> str:
    """``'a', 'b' and 3 more``: a list of module names that stays short."""
    text = ", ".join(repr(n) for n in modules[:shown])
    return text + (f" and {len(modules) - shown} more" if len(modules) > shown else "")


def grouped(culprits: list[Culprit]) -> list[str]:
    """One sentence per diagnosis: modules of one class with the same problem and fix are
    named together, with the kinds of evidence found (a network with 20 BatchNorms gets one
    sentence, not 20)."""
    groups: dict[tuple[str, str, str], list[Culprit]] = {}
    for c in culprits:
        groups.setdefault((c.kind, c.problem, c.fix), []).append(c)
    lines = []
    for (kind, problem, fix), members in groups.items():
        modules = [c.module for c in members]
        evidence = ", ".join(dict.fromkeys(c.evidence for c in members))
        where = (
            f"module {modules[0]!r} ({kind})"
            if len(modules) == 1
            else f"{len(modules)} {kind} modules ({names_of(modules)})"
        )
        lines.append(f"{where}: {problem} [{evidence}]. Fix: {fix}.")
    return lines


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


def tensors_in(value: object) -> list[Tensor]:
    """The tensors of a module's inputs or outputs, in order: tensors themselves, and those
    inside tuples, lists and mappings (a Hugging Face ``ModelOutput``), recursively."""
    if isinstance(value, Tensor):
        return [value.detach().clone()]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


Call = tuple[list[Tensor], list[Tensor]]


class _Recorder:
    """Forward hooks storing (inputs, outputs) of every submodule call, in call order; the
    inputs are all tensors of the positional and keyword arguments. With ``keep``, the
    arguments of each module's first call and its buffers then are kept too, so that the
    call can be replayed (:func:`_replay`)."""

    def __init__(self, model: nn.Module, keep: bool = False) -> None:
        self.calls: dict[str, list[Call]] = {}
        self.first: dict[str, tuple[Any, dict[str, Tensor]]] = {}
        self.keep = keep
        self.handles = []
        for name, m in model.named_modules():
            self.handles.append(m.register_forward_pre_hook(self._pre(name), with_kwargs=True))
            self.handles.append(m.register_forward_hook(self._post(name)))

    def _pre(self, name: str):
        def hook(m: nn.Module, args: tuple, kwargs: dict) -> None:
            self.calls.setdefault(name, []).append((tensors_in((args, kwargs)), []))
            if self.keep and name not in self.first:
                self.first[name] = (_copied((args, kwargs)), _buffers(m))

        return hook

    def _post(self, name: str):
        def hook(_m: nn.Module, _args: tuple, out: object) -> None:
            self.calls[name][-1][1].extend(tensors_in(out))

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _copied(value: Any) -> Any:
    """A deep copy of a call's arguments (a cache object the call appends to stays as it
    was), or the arguments themselves when they cannot be copied."""
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an uncopyable argument is replayed as it is
        return value


def _run(model: nn.Module, X: Tensor, keep: bool = False) -> _Recorder:
    rec = _Recorder(model, keep)
    try:
        with torch.no_grad():
            model(X)
    finally:
        rec.remove()
    return rec


def _replay(model: nn.Module, rec: _Recorder, n: int, rtol: float) -> set[str]:
    """Modules whose first call, replayed alone with the same arguments and the buffers it
    had, gives another output: random (or reading Python state). Unlike a second pass of
    the whole model, this tests a module even when randomness upstream changes its input
    (attention dropout behind an embedding dropout). A module that cannot be called alone
    is left to the whole-model passes."""
    modules = dict(model.named_modules())
    flagged = set()
    for name, ((args, kwargs), buffers) in rec.first.items():
        m = modules[name]
        _restore(m, buffers)
        try:
            with torch.no_grad():
                again = tensors_in(m(*_copied(args), **_copied(kwargs)))
        except Exception:  # noqa: BLE001 - not callable alone: not tested this way
            continue
        pairs = _pairs(rec.calls[name][0][1], again, None, n, False)
        if pairs is None or any(_differ(a, b, rtol) for a, b in pairs):
            flagged.add(name)
    return flagged


def _differ(a: Tensor, b: Tensor, rtol: float) -> bool:
    """Whether ``a`` and ``b`` differ beyond ``rtol`` relative to ``1 + max |value|``."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return True
    if not a.numel():
        return False
    if not a.is_floating_point():
        return not torch.equal(a, b)
    scale = 1.0 + float(torch.maximum(a.abs().max(), b.abs().max()))
    return bool((a - b).abs().max() > rtol * scale)


def _pairs(first: list[Tensor], second: list[Tensor], rows: int | None, n: int, strict: bool):
    """Comparable pairs of tensors from two passes: all of them (``rows=None``: the same
    batch twice), else batch-major tensors cut to their first ``rows`` of ``n`` samples and
    the others whole when their shapes agree. A tensor that fits neither makes the passes
    incomparable (``None``) when ``strict``, and is left out otherwise."""
    if len(first) != len(second):
        return None
    if rows is None:
        return list(zip(first, second))
    out = []
    for a, b in zip(first, second):
        if a.ndim and b.ndim and a.shape[0] == n and b.shape[0] == rows:
            out.append((a[:rows], b))
        elif a.shape == b.shape:
            out.append((a, b))
        elif strict:
            return None
    return out


def _flag(first: dict, second: dict, rows: int | None, n: int, rtol: float) -> set[str]:
    """Modules whose inputs agree (on the first ``rows`` of ``n`` samples) but outputs do not."""
    flagged = set()
    for name, calls in first.items():
        for (i1, o1), (i2, o2) in zip(calls, second.get(name, [])):
            inputs, outputs = _pairs(i1, i2, rows, n, True), _pairs(o1, o2, rows, n, False)
            if inputs is None or any(_differ(a, b, rtol) for a, b in inputs):
                continue
            if outputs is None or any(_differ(a, b, rtol) for a, b in outputs):
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


def _restore(model: nn.Module, saved: dict[str, Tensor]) -> None:
    """Put the buffers back as ``saved`` holds them, the non-persistent ones included
    (which ``load_state_dict`` refuses)."""
    for name, value in saved.items():
        owner, _, leaf = name.rpartition(".")
        model.get_submodule(owner)._buffers[leaf] = value.clone()


def localize(model: nn.Module, X: Tensor, rtol: float = 1e-9) -> list[Culprit]:
    """Empirical culprits (see module docstring), on a copy of ``model`` (never mutated).

    ``X`` should have at least 4 samples for the batch test (skipped otherwise); ``rtol``
    is relative to ``1 + max |value|`` (use about ``1e-5`` in float32).
    """
    work = copy.deepcopy(model)
    kinds = {name: type(m).__name__ for name, m in work.named_modules()}
    before = _buffers(work)
    first = _run(work, X, keep=True)
    a = first.calls
    changed = sorted(
        n
        for n, b in _buffers(work).items()
        if b.shape != before[n].shape or not torch.equal(b, before[n])
    )
    n = X.shape[0]
    # a second pass from the written state; modules whose output moves there but not in a
    # pass from the restored state read that state, the others are random
    moved = _flag(a, _run(work, X).calls, None, n, rtol) if changed else set()
    _restore(work, before)
    repeated = _flag(a, _run(work, X).calls, None, n, rtol)
    random = _innermost(repeated | _replay(work, first, n, rtol))
    reads = set(_innermost(moved)) - set(random)
    out = _state_culprits(changed, reads, kinds) if changed else []
    for name in random:
        problem = "same input, different output at the same theta (randomness or hidden state)"
        out.append(Culprit(_name(name), kinds[name], problem, "repeat", FIX_RANDOM))
    if X.shape[0] >= 4:
        _restore(work, before)
        half = n // 2
        b = _run(work, X[:half]).calls
        noisy = {m for m in _flag(a, b, half, n, rtol) if not any(_inside(r, m) for r in random)}
        coupled = _innermost(noisy - set(random))
        for name in coupled:
            problem = "a sample's output depends on the other samples of its batch"
            out.append(Culprit(_name(name), kinds[name], problem, "batch", FIX_BATCH))
    return out


def _state_culprits(changed: list[str], reads: set[str], kinds: dict[str, str]) -> list[Culprit]:
    """Owners of the written buffers ``changed``; an owner among the modules that ``reads``
    them breaks the functor, as does a reader that owns none of them."""
    owners: dict[str, list[str]] = {}
    for n in changed:
        owner, _, leaf = n.rpartition(".")
        owners.setdefault(owner, []).append(leaf)
    out = []
    for owner, leaves in sorted(owners.items()):
        read = owner in reads
        problem = f"its forward pass writes the buffers {', '.join(leaves)} (state outside theta)"
        if read:
            problem += " and reads them: a second pass at the same theta gives another output"
        out.append(Culprit(_name(owner), kinds[owner], problem, "buffers", FIX_MUTATION, read))
    for name in sorted(reads - set(owners)):
        problem = "reads buffers that the forward pass writes: a second pass at the same theta "
        problem += "gives another output (state outside theta)"
        out.append(Culprit(_name(name), kinds[name], problem, "buffers", FIX_MUTATION))
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

"""Transfer learning as a pullback (Def 7.1/7.2; ``docs/transfer.md``).

**Dom.** Objects are domains (:class:`Domain`: a name, an input shape and probe samples);
a domain morphism ``f: D_T -> D_S`` (:class:`DomainMap`) is a map of inputs, given
(a pixel permutation, the identity) or learned (a linear layer). Composition is
composition of maps; two morphisms are equal when they agree on the probe samples of
their domain (within :class:`~catcore.equality.Tolerance`).

**Transfer.** Given a source network ``head_S . phi_S`` and ``f: D_T -> D_S``, the
pullback-transfer model is ``head_T . phi_S . f`` (:class:`PullbackModel`): the target
representation is ``phi_T = f* phi_S = phi_S . f``, the encoder ``phi_S`` is frozen
(``requires_grad_(False)`` *and* ``eval()``, so BatchNorm statistics cannot drift), and
only the new head (and ``f`` when it is learned) trains.

**The pullback squares**, computed by :func:`catcore.pullback`:

- :func:`fibre` -- parameter space, in FinSet over a finite set of candidate target models:
  ``P = Theta_T x_{Theta_frozen} {theta_S}``, the target models whose frozen part is
  bit-identical to the source's (the fibre of the restriction over the source point);
- :func:`tangent_fibre` -- its linearization, in Vect_R: the pullback of the coordinate
  restriction ``r: R^n -> R^{n_frozen}`` along ``0: R^0 -> R^{n_frozen}``, whose apex is
  the space of trainable directions (dimension = number of trained parameters);
- :func:`representation_pullback` -- Def 7.2 itself, in FinSet on probe samples: the graph
  of ``phi_T`` is the pullback of the graph of ``phi_S`` along ``f``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.nets.metrics import accuracy_of
from adapters.nets.params import ParamSpace
from adapters.runtime.store import digest, tensor_digest
from catcore.category import Category, Morphism
from catcore.equality import Tolerance
from catcore.errors import MorphismError
from catcore.instances.finset import FinSet
from catcore.instances.vect import NumericVectCategory, Space, VectR
from catcore.limits import Pullback, pullback

# -- the category of domains -------------------------------------------------------------


class Domain:
    """A data domain: ``name``, the shape of one input, and ``probe`` samples ``(m, *shape)``.

    Two domains are the same object when name and shape agree; the probe samples are what
    domain morphisms out of this domain are compared on.
    """

    def __init__(self, name: str, shape: Sequence[int], probe: Tensor) -> None:
        shape = tuple(int(s) for s in shape)
        if not isinstance(probe, Tensor) or tuple(probe.shape[1:]) != shape:
            got = tuple(probe.shape) if isinstance(probe, Tensor) else type(probe).__name__
            raise ValueError(f"probe of domain {name!r} must be (m, *{shape}), got {got}")
        self.name, self.shape, self.probe = name, shape, probe

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Domain) and (self.name, self.shape) == (other.name, other.shape)

    def __hash__(self) -> int:
        return hash((self.name, self.shape))

    def __repr__(self) -> str:
        return f"Domain({self.name!r}, {self.shape})"


class DomainMap(Morphism):
    """A domain morphism ``dom -> cod`` computed by the module ``fn``.

    ``learned``: whether ``fn``'s parameters train during transfer. ``array()`` is ``fn``
    on ``dom.probe`` (float64), the data :class:`~catcore.equality.Tolerance` compares.
    """

    def __init__(self, dom: Domain, cod: Domain, fn: nn.Module, learned: bool = False) -> None:
        if not isinstance(fn, nn.Module):
            raise TypeError(f"a domain morphism needs an nn.Module, got {type(fn).__name__}")
        self.category, self._dom, self._cod, self.fn, self.learned = Dom, dom, cod, fn, learned
        with torch.no_grad():
            out = fn(dom.probe[:1])
        if tuple(out.shape[1:]) != cod.shape:
            raise MorphismError(
                f"{type(fn).__name__} maps {dom} to shape {tuple(out.shape[1:])}, not {cod.shape}"
            )

    @property
    def dom(self) -> Domain:
        return self._dom

    @property
    def cod(self) -> Domain:
        return self._cod

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def array(self) -> np.ndarray:
        with torch.no_grad():
            return self.fn(self.dom.probe).detach().to(torch.float64).numpy()

    def __repr__(self) -> str:
        kind = "learned" if self.learned else "fixed"
        return f"DomainMap({self.dom.name} -> {self.cod.name}, {kind} {type(self.fn).__name__})"


class DomCategory(Category):
    """Dom (Def 7.1): domains and domain morphisms; ``f >> g`` runs ``f`` then ``g``."""

    name = "Dom"
    equality = Tolerance(rtol=1e-6, atol=1e-6)

    def morphism(
        self, dom: Domain, cod: Domain, fn: nn.Module, learned: bool = False
    ) -> DomainMap:
        return DomainMap(dom, cod, fn, learned)

    def identity(self, obj: Domain) -> DomainMap:
        return DomainMap(obj, obj, nn.Identity())

    def _compose(self, f: DomainMap, g: DomainMap) -> DomainMap:
        return DomainMap(f.dom, g.cod, nn.Sequential(f.fn, g.fn), f.learned or g.learned)


Dom = DomCategory()


class Permute(nn.Module):
    """``x -> x[..., index]`` on flat inputs: a fixed permutation of the features."""

    def __init__(self, index: Sequence[int]) -> None:
        super().__init__()
        index = torch.as_tensor(index, dtype=torch.long)
        if sorted(index.tolist()) != list(range(len(index))):
            raise ValueError(f"not a permutation of 0..{len(index) - 1}: {index.tolist()}")
        self.register_buffer("index", index)

    def forward(self, x: Tensor) -> Tensor:
        return x[..., self.index]


def random_permutation(n: int, seed: int = 0) -> list[int]:
    """A permutation of ``range(n)`` drawn with numpy's generator seeded by ``seed``."""
    return np.random.default_rng(seed).permutation(n).tolist()


def unpermute(dom: Domain, cod: Domain, perm: Sequence[int]) -> DomainMap:
    """The known domain morphism of a permuted domain: ``dom`` holds ``x[..., perm]`` for
    ``x`` in ``cod``; this map sends it back (``x_perm[..., argsort(perm)] = x``)."""
    return DomainMap(dom, cod, Permute(np.argsort(np.asarray(perm)).tolist()))


def learned_linear(dom: Domain, cod: Domain) -> DomainMap:
    """A learned domain morphism: ``nn.Linear`` on flat inputs, initialized at the identity."""
    if len(dom.shape) != 1 or len(cod.shape) != 1:
        raise ValueError(f"learned_linear needs flat domains, got {dom.shape} -> {cod.shape}")
    lin = nn.Linear(dom.shape[0], cod.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.eye(cod.shape[0], dom.shape[0]))
        lin.bias.zero_()
    return DomainMap(dom, cod, lin, learned=True)


# -- the pullback-transfer model ---------------------------------------------------------


def split_encoder(model: nn.Module) -> tuple[nn.Sequential, nn.Linear]:
    """``(encoder, head)`` of an ``nn.Sequential`` ending in ``nn.Linear``: the encoder is
    everything before the last layer, so its output is the penultimate representation."""
    if not isinstance(model, nn.Sequential) or not isinstance(model[-1], nn.Linear):
        raise ValueError(
            f"split_encoder needs an nn.Sequential ending in nn.Linear, got {type(model).__name__}"
        )
    return model[:-1], model[-1]


class PullbackModel(nn.Module):
    """``x -> head(encoder(f(x)))`` with the encoder (and ``f`` unless ``learn_f``) frozen.

    Frozen means ``requires_grad_(False)`` and eval mode; :meth:`train` keeps frozen parts
    in eval mode. With ``freeze=False`` nothing is frozen (fine-tuning, from scratch): the
    three conditions of the transfer study share this one architecture, so their state
    dicts have the same keys. ``representation(x) = encoder(f(x)) = (f* phi_S)(x)``.
    """

    def __init__(
        self,
        f: nn.Module,
        encoder: nn.Module,
        head: nn.Module,
        *,
        learn_f: bool = False,
        freeze: bool = True,
    ) -> None:
        super().__init__()
        self.f, self.encoder, self.head = f, encoder, head
        self.frozen: tuple[str, ...] = (
            ("encoder",) if learn_f else ("f", "encoder")
        ) if freeze else ()
        for name in self.frozen:
            getattr(self, name).requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> PullbackModel:
        super().train(mode)
        for name in self.frozen:
            getattr(self, name).eval()
        return self

    def representation(self, x: Tensor) -> Tensor:
        return self.encoder(self.f(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.representation(x))

    def frozen_keys(self) -> list[str]:
        """State-dict keys (parameters and buffers) of the frozen parts."""
        return [k for k in self.state_dict() if k.split(".", 1)[0] in self.frozen]


def new_head(in_features: int, out_features: int, seed: int) -> nn.Linear:
    """A freshly initialized ``nn.Linear`` (default init) drawn under ``seed``; the global
    torch random state is left as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Linear(in_features, out_features)


def pullback_transfer(
    source: nn.Module, f: DomainMap, n_classes: int, seed: int = 0, *, freeze: bool = True
) -> PullbackModel:
    """The target model ``head_T . phi_S . f`` built from a trained ``source`` network.

    ``phi_S`` is a copy of the source encoder (:func:`split_encoder`); ``head_T`` is a new
    ``nn.Linear`` with ``n_classes`` outputs. ``freeze=False`` gives full fine-tuning of the
    same model.
    """
    encoder, old_head = split_encoder(source)
    head = new_head(old_head.in_features, n_classes, seed)
    return PullbackModel(
        copy.deepcopy(f.fn), copy.deepcopy(encoder), head, learn_f=f.learned, freeze=freeze
    )


def trained_fraction(model: nn.Module) -> float:
    """Trainable parameters (``requires_grad``) over all parameters."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / total


# -- training ------------------------------------------------------------------------------


@dataclass
class FitLog:
    """What :func:`fit` did: wall ``seconds``, optimizer ``steps``, loss per epoch."""

    seconds: float
    steps: int
    losses: list[float] = field(default_factory=list)


def _take(y: Tensor | Mapping[str, Tensor], idx: Tensor) -> Tensor | dict[str, Tensor]:
    return {k: v[idx] for k, v in y.items()} if isinstance(y, Mapping) else y[idx]


def fit(
    model: nn.Module,
    X: Tensor,
    y: Tensor | Mapping[str, Tensor],
    *,
    epochs: int = 30,
    lr: float = 1e-2,
    batch_size: int = 64,
    seed: int = 0,
    loss_fn: Callable[[Any, Any], Tensor] = F.cross_entropy,
) -> FitLog:
    """Adam on the parameters that require grad, shuffled minibatches drawn under ``seed``.

    ``y`` may be a tensor or a dict of tensors (multi-task); ``loss_fn(model(xb), yb)``.
    The model is put in train mode while fitting and left in eval mode.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs}, {batch_size}")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    log = FitLog(0.0, 0)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order, total = torch.randperm(X.shape[0], generator=gen), 0.0
        for i in range(0, X.shape[0], batch_size):
            idx = order[i : i + batch_size]
            loss = loss_fn(model(X[idx]), _take(y, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            log.steps += 1
            total += float(loss.detach()) * len(idx)
        log.losses.append(total / X.shape[0])
    model.eval()
    log.seconds = time.perf_counter() - start
    return log


@torch.no_grad()
def accuracy(model: nn.Module, X: Tensor, y: Tensor) -> float:
    """Fraction of ``argmax model(X) == y`` (model in eval mode)."""
    was = model.training
    model.eval()
    acc = float(accuracy_of(model(X), y))
    model.train(was)
    return acc


# -- the pullback squares ----------------------------------------------------------------


def state_key(state: Mapping[str, Tensor], keys: Sequence[str]) -> str:
    """A digest of the names, shapes, dtypes and values of ``state[k]`` for ``k`` in
    ``keys``: equal keys mean bit-identical tensors (up to hash collisions)."""
    return digest(
        [[k, list(state[k].shape), tensor_digest(state[k])] for k in sorted(keys)]
    )


def fibre(
    candidates: Mapping[Hashable, Mapping[str, Tensor]],
    frozen: Sequence[str],
    source: Mapping[str, Tensor],
) -> Pullback:
    """The fibre over the source point, as a FinSet pullback (``docs/transfer.md``).

    ``candidates`` names finitely many target models by their state dicts (``Theta_T``);
    ``r: Theta_T -> Theta_frozen`` sends each to its frozen part (the state entries
    ``frozen``, as :func:`state_key`), and ``s: {"source"} -> Theta_frozen`` picks the frozen
    part of ``source``. The apex of ``pullback(r, s)`` holds ``(name, "source")`` for exactly
    the candidates whose frozen part is bit-identical to the source's.
    """
    missing = [k for k in frozen if k not in source]
    if missing:
        raise KeyError(f"source state has no entries {missing[:5]}")
    keys = {name: state_key(sd, frozen) for name, sd in candidates.items()}
    src = state_key(source, frozen)
    points = FinSet.object([*keys.values(), src])
    r = FinSet.morphism(list(keys), points, keys)
    s = FinSet.morphism(["source"], points, {"source": src})
    return pullback(r, s)


def fibre_members(pb: Pullback) -> list[Hashable]:
    """Names of the candidates in the fibre (first components of the apex elements)."""
    return [element[0] for element in pb.apex]


def tangent_fibre(
    space: ParamSpace, frozen: Callable[[str], bool], category: NumericVectCategory = VectR
) -> Pullback:
    """The linearized fibre in Vect_R: pullback of the restriction ``r: R^n -> R^{n_frozen}``
    (keeping the coordinates of the blocks named ``b`` with ``frozen(b)``) along the zero
    map ``R^0 -> R^{n_frozen}`` (the tangent of the source point). Its apex has dimension
    ``n - n_frozen``: the directions pullback transfer trains. Cost: one SVD of a
    ``2 n_frozen x (n + n_frozen)`` matrix, so use it on small models.
    """
    cols = []
    offset = 0
    for name, numel in zip(space.names, space.numels):
        if frozen(name):
            cols.extend(range(offset, offset + numel))
        offset += numel
    r = np.zeros((len(cols), space.n))
    r[np.arange(len(cols)), cols] = 1.0
    restriction = category.morphism(r, Space(space.n), Space(len(cols)))
    point = category.morphism(np.zeros((len(cols), 0)), Space(0), Space(len(cols)))
    return pullback(restriction, point)


@dataclass(frozen=True)
class GraphPullback:
    """The Def 7.2 square on probe samples, with the representation values of its points.

    ``pullback`` is ``D_T x_{D_S} Graph(phi_S)`` in FinSet (elements ``(t, (x_key, z_key))``);
    ``values[z_key]`` is the representation vector ``phi_S(x)``.
    """

    pullback: Pullback
    values: Mapping[str, np.ndarray]

    def representation(self) -> dict[Hashable, np.ndarray]:
        """``t -> phi_S(f(x_t))`` read off the pullback's leg into the graph."""
        leg = self.pullback.legs[1]
        return {t_g[0]: self.values[leg(t_g)[1]] for t_g in self.pullback.apex}


@torch.no_grad()
def representation_pullback(
    f: DomainMap, encoder: nn.Module, X_T: Tensor, X_S: Tensor | None = None
) -> GraphPullback:
    """``Graph(phi_S . f) = D_T x_{D_S} Graph(phi_S)`` on finite samples (Def 7.2).

    ``D_T``: the indices of ``X_T``. ``D_S``: the source inputs ``f(X_T)`` together with
    ``X_S`` (keyed by their bytes). ``Graph(phi_S)``: pairs ``(x, phi_S(x))`` over ``D_S``
    with its projection to ``D_S``. The pullback of ``f`` and that projection is computed by
    :func:`catcore.pullback` in FinSet; its leg to ``D_T`` is a bijection and its leg to the
    graph reads off ``phi_S(f(x_t))`` (:meth:`GraphPullback.representation`).
    """
    was = encoder.training
    encoder.eval()
    try:
        fx = f(X_T)
        source = fx if X_S is None else torch.cat([fx, X_S])
        z = encoder(source)
    finally:
        encoder.train(was)
    x_keys = [tensor_digest(r) for r in source]
    z_keys = [tensor_digest(r) for r in z]
    values = {zk: z[i].to(torch.float64).numpy() for i, zk in enumerate(z_keys)}
    graph = dict(zip(x_keys, z_keys))
    D_S = FinSet.object(x_keys)
    G = FinSet.object(graph.items())
    proj = FinSet.morphism(G, D_S, {g: g[0] for g in G})
    f_fin = FinSet.morphism(range(len(X_T)), D_S, dict(enumerate(x_keys[: len(X_T)])))
    return GraphPullback(pullback(f_fin, proj), values)


__all__ = [
    "Dom",
    "DomCategory",
    "Domain",
    "DomainMap",
    "FitLog",
    "GraphPullback",
    "Permute",
    "PullbackModel",
    "accuracy",
    "fibre",
    "fibre_members",
    "fit",
    "learned_linear",
    "new_head",
    "pullback_transfer",
    "random_permutation",
    "representation_pullback",
    "split_encoder",
    "state_key",
    "tangent_fibre",
    "trained_fraction",
    "unpermute",
]

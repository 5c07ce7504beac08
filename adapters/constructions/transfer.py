"""Transfer learning as a pullback (Def 7.1/7.2; ``docs/transfer.md``).

**Transfer.** Given a source network ``head_S . phi_S`` and a domain morphism
``f: D_T -> D_S`` of :data:`~adapters.constructions.dom.Dom`, :func:`pullback_transfer`
computes the pullback of ``f`` along the projection ``Graph(phi_S) -> D_S`` with
:func:`catcore.pullback` (Dom's pullbacks, :mod:`adapters.constructions.dom`) and builds the
target model ``head_T . rho . p2`` from it (:class:`PullbackModel`): its frozen part is the
leg ``p2: t -> (f(t), phi_S(f(t)))`` into the graph, so the target representation is
``phi_T = f* phi_S = phi_S . f``. The encoder ``phi_S`` is frozen (``requires_grad_(False)``
*and* ``eval()``, so BatchNorm statistics cannot drift), and only the new head (and ``f``
when it is learned) trains.

**The other squares**, also computed by :func:`catcore.pullback`:

- :func:`fibre` -- parameter space, in FinSet over a finite set of candidate target models:
  ``P = Theta_T x_{Theta_frozen} {theta_S}``, the target models whose frozen part is
  bit-identical to the source's (the fibre of the restriction over the source point);
- :func:`tangent_fibre` -- its linearization, in Vect_R: the pullback of the coordinate
  restriction ``r: R^n -> R^{n_frozen}`` along ``0: R^0 -> R^{n_frozen}``, whose apex is
  the space of trainable directions (dimension = number of trained parameters);
- :func:`representation_pullback` -- Def 7.2 on finite samples, in FinSet: the graph
  of ``phi_T`` is the pullback of the graph of ``phi_S`` along ``f``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from adapters.constructions.dom import DomainMap, Graph, graph, representation_domain
from adapters.nets.params import ParamSpace
from adapters.runtime.store import digest, tensor_digest
from catcore.instances.finset import FinSet
from catcore.instances.vect import NumericVectCategory, Space, VectR
from catcore.limits import Pullback, pullback

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


def transfer_square(source: nn.Module, f: DomainMap) -> tuple[Pullback, Graph]:
    """The square of Def 7.2 for a trained ``source`` network and ``f: D_T -> D_S``: the
    pullback (by :func:`catcore.pullback` in Dom) of a copy of ``f`` along the projection
    ``Graph(phi_S) -> D_S``, where ``phi_S`` is a copy of the source encoder
    (:func:`split_encoder`), and that graph."""
    encoder, _ = split_encoder(source)
    encoder = copy.deepcopy(encoder)
    phi = DomainMap(f.cod, representation_domain(encoder, f.cod), encoder)
    G = graph(phi)
    f_copy = DomainMap(f.dom, f.cod, copy.deepcopy(f.fn), f.learned)
    return pullback(f_copy, G.projection), G


def pullback_transfer(
    source: nn.Module, f: DomainMap, n_classes: int, seed: int = 0, *, freeze: bool = True
) -> PullbackModel:
    """The target model ``head_T . rho . p2`` built from the square of
    :func:`transfer_square`: ``f`` and the frozen encoder are the modules of the pullback's
    leg ``p2`` into ``Graph(phi_S)`` (``rho . p2 = phi_S . f``); ``head_T`` is a new
    ``nn.Linear`` with ``n_classes`` outputs. ``model.square`` is the pullback.
    ``freeze=False`` gives full fine-tuning of the same model.
    """
    square, G = transfer_square(source, f)
    f_module, section = square.legs[1].fn
    head = new_head(split_encoder(source)[1].in_features, n_classes, seed)
    model = PullbackModel(f_module, section.phi, head, learn_f=f.learned, freeze=freeze)
    model.square = square
    return model


def trained_fraction(model: nn.Module) -> float:
    """Trainable parameters (``requires_grad``) over all parameters."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / total


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
    "GraphPullback",
    "PullbackModel",
    "fibre",
    "fibre_members",
    "new_head",
    "pullback_transfer",
    "representation_pullback",
    "split_encoder",
    "state_key",
    "tangent_fibre",
    "trained_fraction",
    "transfer_square",
]

"""Dom, the category of data domains (Def 7.1; ``docs/transfer.md``, sections 1 and 2),
and its pullbacks along graph projections, the square of Def 7.2.

Objects are domains (:class:`Domain`: a name, an input shape and probe samples); a domain
morphism ``f: D_T -> D_S`` (:class:`DomainMap`) is a map of inputs, given (a pixel
permutation, the identity) or learned (a linear layer). Composition is composition of maps;
two morphisms are equal when they agree on the probe samples of their domain (within
:class:`~catcore.equality.Tolerance`).

**Graphs.** For a representation ``phi: D_S -> Z`` (a :class:`DomainMap` into a
representation domain), :func:`graph` builds the domain ``Graph(phi)`` of pairs
``(x, phi(x))`` (flattened and concatenated) with its projection ``p: Graph(phi) -> D_S``,
its value map ``rho: Graph(phi) -> Z`` and the section ``x -> (x, phi(x))``. A map into
``Graph(phi)`` is an arrow of Dom only when its values lie on the graph (checked on the
probe samples by :meth:`DomCategory.arrow_problem`).

**Pullbacks.** ``Dom.limit`` computes the pullback of ``f: D_T -> D_S`` along a graph
projection ``p: Graph(phi) -> D_S``: the apex is ``D_T x_{D_S} Graph(phi)``, isomorphic to
``D_T`` (its leg to ``D_T`` is the identity map of inputs) and its leg into the graph is
``t -> (f(t), phi(f(t)))``; the mediating morphism of a cone ``(q1, q2)`` is ``q1``. So
``rho . p2 = phi . f = f* phi``: the transferred representation is read off the square
(:func:`adapters.constructions.transfer.pullback_transfer` builds its model from it).
Other cospans are refused with a :class:`~catcore.errors.LimitError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from catcore.category import Category, Morphism
from catcore.equality import Tolerance
from catcore.errors import LimitError, MorphismError
from catcore.limits import Cone, Limit


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
    """Dom (Def 7.1): domains and domain morphisms; ``f >> g`` runs ``f`` then ``g``.
    Pullbacks along graph projections (module docstring)."""

    name = "Dom"
    equality = Tolerance(rtol=1e-6, atol=1e-6)

    def arrow_problem(self, f: object) -> str | None:
        """A map into a :class:`GraphDomain` must land on the graph (on the probe)."""
        problem = super().arrow_problem(f)
        if problem is None and isinstance(f.cod, GraphDomain):  # type: ignore[attr-defined]
            off = f.cod.distance(f.array())  # type: ignore[attr-defined]
            if off > 1e-6:
                return f"{f!r} leaves {f.cod!r} by {off:.3g} on the probe samples"
        return problem

    def limit(self, diagram: object) -> Limit:
        """The pullback of ``f: D_T -> D_S`` along a graph projection (module docstring)."""
        arrows = {e[:2]: g for e, g in getattr(diagram, "arrows", {}).items()}
        f, p = arrows.get(("A", "C")), arrows.get(("B", "C"))
        if f is None or p is None or len(arrows) != 2 or not _is_projection(p):
            raise LimitError(
                "Dom computes pullbacks of f: D_T -> D_S along a graph projection "
                "Graph(phi) -> D_S (the square of Def 7.2); got another diagram"
            )
        G: GraphDomain = p.dom
        apex = Domain(f"{f.dom.name} x_{f.cod.name} {G.name}", f.dom.shape, f.dom.probe)
        to_target = DomainMap(apex, f.dom, nn.Identity())
        to_graph = DomainMap(apex, G, nn.Sequential(f.fn, G.section.fn), f.learned)
        legs = {"A": to_target, "B": to_graph, "C": to_target >> f}

        def mediate(cone: Cone) -> DomainMap:
            q1 = cone.legs["A"]
            return DomainMap(cone.apex, apex, q1.fn, q1.learned)

        return Limit(diagram, Cone(apex, legs), mediate)  # type: ignore[arg-type]

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


# -- graphs of representations -------------------------------------------------------------


class GraphDomain(Domain):
    """``Graph(phi)``: the pairs ``(x, phi(x))`` for ``x`` in ``phi.dom``, each stored as
    ``x`` flattened followed by ``phi(x)``; ``distance(points)`` is how far points are from
    the graph (the largest ``|z - phi(x)|``)."""

    def __init__(self, phi: DomainMap) -> None:
        if len(phi.cod.shape) != 1:
            raise ValueError(f"a graph needs a flat representation domain, got {phi.cod.shape}")
        self.phi = phi
        self.k = math.prod(phi.dom.shape)
        section = _Section(phi.fn, phi.dom.shape)
        with torch.no_grad():
            probe = section(phi.dom.probe)
        super().__init__(f"Graph({phi.dom.name} -> {phi.cod.name})", (self.k + phi.cod.shape[0],),
                         probe)  # fmt: skip
        self.section = DomainMap(phi.dom, self, section)
        self.projection = DomainMap(self, phi.dom, _Slice(0, self.k, phi.dom.shape))
        self.value = DomainMap(self, phi.cod, _Slice(self.k, None, phi.cod.shape))

    def distance(self, points: np.ndarray) -> float:
        pts = torch.as_tensor(points, dtype=torch.float64)
        x = pts[:, : self.k].reshape(-1, *self.phi.dom.shape).to(self.phi.dom.probe.dtype)
        with torch.no_grad():
            z = self.phi.fn(x).to(torch.float64)
        return float((pts[:, self.k :] - z).abs().max()) if len(pts) else 0.0


@dataclass(frozen=True)
class Graph:
    """The graph of ``phi`` with its projection ``p`` to ``phi.dom``, its value map
    ``rho`` to ``phi.cod`` and the section ``x -> (x, phi(x))`` (all :class:`DomainMap`)."""

    domain: GraphDomain

    @property
    def projection(self) -> DomainMap:
        return self.domain.projection

    @property
    def value(self) -> DomainMap:
        return self.domain.value

    @property
    def section(self) -> DomainMap:
        return self.domain.section


def graph(phi: DomainMap) -> Graph:
    """``Graph(phi)`` for a representation ``phi: D_S -> Z`` (module docstring)."""
    return Graph(GraphDomain(phi))


def representation_domain(encoder: nn.Module, source: Domain, name: str = "Z") -> Domain:
    """The domain of the representations ``encoder(x)`` of ``source``'s inputs (flat),
    with ``encoder`` applied to ``source.probe`` as its probe."""
    was = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            z = encoder(source.probe)
    finally:
        encoder.train(was)
    return Domain(name, tuple(z.shape[1:]), z)


def _is_projection(p: DomainMap) -> bool:
    return isinstance(p.dom, GraphDomain) and p.fn is p.dom.projection.fn


class _Section(nn.Module):
    """``x -> (flat x, phi(x))``."""

    def __init__(self, phi: nn.Module, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.phi, self.shape = phi, shape

    def forward(self, x: Tensor) -> Tensor:
        z = self.phi(x)
        return torch.cat([x.reshape(len(x), -1).to(z.dtype), z], dim=1)


class _Slice(nn.Module):
    """Columns ``start:stop`` of flat pairs, reshaped to ``shape``."""

    def __init__(self, start: int, stop: int | None, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.start, self.stop, self.shape = start, stop, shape

    def forward(self, g: Tensor) -> Tensor:
        return g[:, self.start : self.stop].reshape(len(g), *self.shape)


__all__ = [
    "Dom",
    "DomCategory",
    "Domain",
    "DomainMap",
    "Graph",
    "GraphDomain",
    "Permute",
    "graph",
    "learned_linear",
    "random_permutation",
    "representation_domain",
    "unpermute",
]

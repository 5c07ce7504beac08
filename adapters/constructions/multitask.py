"""Limit preservation for multi-task models (Def 4.1; open question 1; ``docs/transfer.md``).

**The diagram.** A shared-trunk model has parameter blocks ``trunk`` and ``head:<task>``.
Sets of blocks, ordered by reverse inclusion, form a thin category (a catcore
:class:`~catcore.instances.poset.Poset`): the arrow ``S -> T`` for ``S ⊇ T`` is the
restriction ``Theta_S -> Theta_T`` of parameter spaces. The multi-task parameter space is
the (wide) pullback of the per-task spaces ``Theta_{trunk, head:t}`` over the shared
``Theta_{trunk}``; in the poset it is the meet, the union of the blocks. It is also the
pullback of the parameter spaces themselves because the per-task block sets meet exactly
in ``{trunk}``.

**The linearized learning functor** at a parameter point ``theta*`` on probe inputs ``X``:
a block set ``S`` has the readouts that depend on ``S`` alone -- ``shared`` (the trunk's
output, the shared representation) once ``trunk`` is in ``S``, and ``out:t`` (task ``t``'s
logits) once ``trunk`` and ``head:t`` are -- and ``F(S)`` is the image of the Jacobian
``J_S`` of those readouts with respect to ``theta_S``: the first-order reachable changes of
the representation, a subspace of dimension ``rank J_S``. ``F(S -> T)`` is the map that
forgets the readouts of ``S`` not in ``T``, written in bases of the two images.

**The probe** (:func:`limit_preservation_probe`) hands ``F`` and the diagram to
:func:`catcore.preservation`: the comparison map ``F(lim D) -> lim(F . D)`` from the image
of the limit to the limit of the images, its rank gap and the principal angles, plus the
gap given by the closed form of ``docs/transfer.md`` (from Jacobian ranks alone, without
taking a limit). Jacobians come from :func:`torch.func.jacrev` in float64
(:func:`linearize`, numeric Vect), from a Gaussian sketch for large trunks
(:func:`~adapters.constructions.jacobian_sketch.linearize_sketched`, with its error bound)
or, for networks of ``Linear``/``ReLU``/``Identity`` layers, from exact forward-mode
differentiation over the rationals (:func:`linearize_exact`, Vect over Q): the float
weights and inputs are read as the rationals they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import sympy
from torch import Tensor, nn

from adapters.constructions import jacobian_sketch
from adapters.constructions.linearization import (
    BatchNormPolicy,
    Linearization,
    block_of,
    linearize,
    linearize_exact,
    readout_entries,
)
from adapters.constructions.multitask_model import SHARED, TRUNK, MultiTaskModel, as_multitask
from catcore.errors import NotAConeError
from catcore.functor import Functor
from catcore.instances.poset import Leq, Poset
from catcore.instances.vect import LinearMap, NumericVectCategory, Space, VectQ, VectR
from catcore.limits import Diagram, Limit, Preservation, preservation

# -- the model ---------------------------------------------------------------------------


def parameter_pullback(model: MultiTaskModel, category: NumericVectCategory = VectR) -> Limit:
    """The multi-task parameter space as a limit in Vect: the wide pullback of the per-task
    spaces ``Theta_{trunk, head:t} = R^{n_trunk + n_t}`` over ``Theta_trunk = R^{n_trunk}``
    along the restrictions ``[I 0]``. Its apex has dimension ``n_trunk + sum_t n_t``, the
    parameter count of the shared-trunk model. Cost: one SVD of a matrix with
    ``k n_trunk`` rows for ``k`` tasks, so use it on small models.
    """
    counts = {b: 0 for b in (TRUNK, *(f"head:{t}" for t in model.tasks))}
    for name, p in model.named_parameters():
        counts[block_of(name)] += p.numel()
    n = counts[TRUNK]
    objects = {SHARED: Space(n)}
    arrows = {}
    for t in model.tasks:
        dim = n + counts[f"head:{t}"]
        objects[t] = Space(dim)
        restriction = np.hstack([np.eye(n), np.zeros((n, dim - n))])
        arrows[(t, SHARED)] = category.morphism(restriction, Space(dim), Space(n))
    return category.limit(Diagram.of(category, objects, arrows))


# -- the linearized functor ----------------------------------------------------------------


def block_poset(blocks: Sequence[str]) -> Poset:
    """Subsets of ``blocks`` ordered by reverse inclusion: an arrow ``S -> T`` iff ``S ⊇ T``."""
    g = nx.DiGraph()
    subsets = [
        frozenset(c) for k in range(len(blocks) + 1) for c in itertools.combinations(blocks, k)
    ]
    g.add_nodes_from(subsets)
    g.add_edges_from((S, S - {b}) for S in subsets for b in S)
    return Poset(g, name="Blocks")


class _Images:
    """Bases of the images ``im J_S`` and the induced maps, numeric or exact."""

    def __init__(self, lin: Linearization, tol: float) -> None:
        self.lin, self.tol = lin, tol
        self.bases: dict[frozenset[str], Any] = {}
        self.margins: dict[frozenset[str], dict[str, float | None]] = {}
        self.scale = 1.0
        if not lin.exact:  # the full Jacobian sets the scale of the rank tolerance
            everything = frozenset(lin.blocks)
            self.scale = 0.0
            self.basis(everything)
            self.scale = self.scale or 1.0

    @property
    def cut(self) -> float:
        """The singular value below which a direction is dropped."""
        return self.tol * self.scale

    def basis(self, S: frozenset[str]) -> Any:
        if S not in self.bases:
            J = self.lin.of(S)
            self.bases[S] = self._exact_basis(J) if self.lin.exact else self._numeric_basis(S, J)
        return self.bases[S]

    @staticmethod
    def _exact_basis(J: sympy.Matrix) -> sympy.Matrix:
        cols = J.columnspace() if J.rows and J.cols else []
        return sympy.Matrix.hstack(*cols) if cols else sympy.zeros(J.rows, 0)

    def _numeric_basis(self, S: frozenset[str], J: np.ndarray) -> np.ndarray:
        if min(J.shape) == 0:
            self.margins[S] = {"smallest_kept": None, "largest_dropped": None}
            return np.zeros((J.shape[0], 0))
        u, s, _ = np.linalg.svd(J, full_matrices=False)
        self.scale = self.scale or float(s[0]) or 1.0
        keep = s > self.tol * self.scale
        self.margins[S] = {
            "smallest_kept": float(s[keep][-1]) if keep.any() else None,
            "largest_dropped": float(s[~keep][0]) if (~keep).any() else None,
        }
        return u[:, keep]

    def forget(self, S: frozenset[str], T: frozenset[str]) -> Any:
        """Coordinates of the readouts of ``T`` inside the readout vector of ``S``."""
        rows_S = self.lin.readouts_of(S)
        idx, offset = [], 0
        for r in rows_S:
            if self.lin.deps[r] <= T:
                idx.extend(range(offset, offset + self.lin.rows[r]))
            offset += self.lin.rows[r]
        return idx

    def induced(self, S: frozenset[str], T: frozenset[str]) -> Any:
        US, UT = self.basis(S), self.basis(T)
        idx = self.forget(S, T)
        if self.lin.exact:
            PU = US.extract(idx, list(range(US.cols))) if idx else sympy.zeros(0, US.cols)
            if UT.cols == 0:
                return sympy.zeros(0, US.cols)
            X = (UT.T * UT).inv() * UT.T * PU
            if UT * X != PU:
                raise ArithmeticError(f"readouts of {set(T)} leave the image of J_T: not natural")
            return X
        return UT.T @ US[idx, :]


def linearized_functor(
    lin: Linearization, target: Any = None, tol: float = 1e-9
) -> tuple[Functor, Poset, _Images]:
    """``(F, poset, images)``: the linearized learning functor ``Blocks -> Vect``.

    ``target``: :data:`~catcore.instances.vect.VectQ` for an exact linearization, a
    :class:`~catcore.instances.vect.NumericVectCategory` otherwise (default: one with rank
    tolerance ``tol`` and comparisons at ``rtol=1e-6, atol=1e-8``). Numeric images keep the
    singular directions above ``tol`` times the largest singular value of the full Jacobian.
    """
    if target is None:
        target = VectQ if lin.exact else NumericVectCategory(tol=tol, rtol=1e-6, atol=1e-8)
    if lin.exact != (target is VectQ):
        raise ValueError("use VectQ with an exact linearization and numeric Vect otherwise")
    poset = block_poset(lin.blocks)
    images = _Images(lin, tol)

    def ob(S: frozenset[str]) -> Space:
        return Space(int(images.basis(S).shape[1]))

    def ar(arrow: Leq) -> LinearMap:
        S, T = arrow.dom, arrow.cod
        return target.morphism(images.induced(S, T), ob(S), ob(T))

    return Functor(poset, target, ob, ar, name="dL"), poset, images


# -- the probe -------------------------------------------------------------------------------


def predicted_gap(lin: Linearization, images: _Images | None = None, tol: float = 1e-9) -> int:
    """The closed form of ``docs/transfer.md``, from Jacobian ranks alone (no limit taken):
    ``gap = sum_t rank J_{trunk, head:t} - (k - 1) rank J_trunk - rank J_all`` for ``k`` tasks.

    It equals ``sum_t rank gamma_t - rank[gamma_1; ...; gamma_k]``, where ``gamma_t`` is
    task ``t``'s output change along trunk directions invisible in the shared
    representation, modulo what its own head can produce.
    """
    images = images or _Images(lin, tol)
    tasks = [r.split(":", 1)[1] for r in lin.readouts if r.startswith("out:")]
    rank = {S: int(images.basis(S).shape[1]) for S in _objects(tasks).values()}
    everything = frozenset(lin.blocks)
    rank[everything] = int(images.basis(everything).shape[1])
    shared = frozenset({TRUNK})
    per_task = sum(rank[frozenset({TRUNK, f"head:{t}"})] for t in tasks)
    return per_task - (len(tasks) - 1) * rank[shared] - rank[everything]


def _objects(tasks: Sequence[str]) -> dict[str, frozenset[str]]:
    """The objects of the multi-task diagram: ``shared`` and one per task."""
    return {SHARED: frozenset({TRUNK}), **{t: frozenset({TRUNK, f"head:{t}"}) for t in tasks}}


Method = Literal["auto", "dense", "sketch", "exact"]

#: ``method="auto"`` takes the dense Jacobian up to this many entries, the sketch above
DENSE_ENTRIES = 2**25


@dataclass
class ProbeResult:
    """Outcome of :func:`limit_preservation_probe`; :meth:`to_dict` is JSON-serializable.

    ``preserved``: whether the comparison map is an isomorphism. ``rank_gap``:
    ``dim lim(F.D) - rank(comparison)`` (0 iff preserved, since the map is injective).
    ``dims``: ``dim F(S)`` for each object of the diagram. ``predicted_gap``: the closed
    form. ``defect``: catcore's defect data (singular values of the comparison map,
    principal angles between the image cone and the limit inside the product).
    ``certain`` is ``False`` when a sketched linearization cannot vouch for its ranks
    (``uncertain_because`` says why); the ``verdict`` is then ``"undetermined"`` and the
    JSON's ``preserved`` is ``null`` (the attribute keeps what the computed ranks say).
    ``linearization``: the method and, for a sketch, its widths and error bound.
    """

    preserved: bool
    rank_gap: int
    predicted_gap: int
    dims: dict[str, int]
    image_of_limit: int
    limit_of_images: int
    defect: dict[str, Any]
    exact: bool
    probe_size: int
    parameters: dict[str, int]
    margins: dict[str, Any] = field(default_factory=dict)
    linearization: dict[str, Any] = field(default_factory=dict)
    uncertain_because: str | None = None
    preservation: Preservation | None = field(default=None, repr=False)

    @property
    def certain(self) -> bool:
        return self.uncertain_because is None

    @property
    def verdict(self) -> str:
        if not self.certain:
            return "undetermined"
        return "preserved" if self.preserved else "not preserved"

    def to_dict(self) -> dict[str, Any]:
        angles = [float(a) for a in self.defect.get("principal_angles", [])]
        sv = [float(x) for x in self.defect.get("singular_values", [])]
        return {
            "verdict": self.verdict,
            "preserved": self.preserved if self.certain else None,  # never a guess
            "certain": self.certain,
            "uncertain_because": self.uncertain_because,
            "rank_gap": self.rank_gap,
            "predicted_gap": self.predicted_gap,
            "image_of_limit": self.image_of_limit,
            "limit_of_images": self.limit_of_images,
            "dims": self.dims,
            "comparison_rank": int(self.defect["rank"]),
            "comparison_singular_values": {"min": min(sv), "max": max(sv)} if sv else None,
            "max_principal_angle": max(angles) if angles else 0.0,
            "exact": self.exact,
            "probe_size": self.probe_size,
            "parameters": self.parameters,
            "linearization": self.linearization,
            "rank_margins": self.margins,
        }


def linearize_model(
    model: MultiTaskModel,
    X: Tensor,
    *,
    point: Tensor | None = None,
    method: Method = "auto",
    batchnorm: BatchNormPolicy | None = None,
    columns: int | None = None,
    seed: int = 0,
    say: Any = None,
) -> Linearization:
    """The model's :class:`Linearization` by ``method``: ``"dense"`` (jacrev), ``"sketch"``
    (:func:`~adapters.constructions.jacobian_sketch.linearize_sketched`), ``"exact"`` (over
    Q) or ``"auto"`` (dense up to :data:`DENSE_ENTRIES` Jacobian entries, else sketch)."""
    if method == "exact":
        if point is not None:
            raise ValueError("the exact method linearizes at the model's own weights; load "
                             "point first")  # fmt: skip
        return linearize_exact(model, X)
    if method == "auto":
        entries = readout_entries(model, X, batchnorm) * sum(p.numel() for p in model.parameters())
        method = "dense" if entries <= DENSE_ENTRIES else "sketch"
    if method == "dense":
        return linearize(model, X, point, batchnorm=batchnorm)
    if method == "sketch":
        return jacobian_sketch.linearize_sketched(
            model, X, point, batchnorm=batchnorm, columns=columns, seed=seed, say=say
        )
    raise ValueError(f"method must be auto, dense, sketch or exact, got {method!r}")


def limit_preservation_probe(
    model: MultiTaskModel | nn.Module,
    X: Tensor,
    *,
    point: Tensor | None = None,
    method: Method = "auto",
    tol: float = 1e-9,
    batchnorm: BatchNormPolicy | None = None,
    columns: int | None = None,
    seed: int = 0,
    say: Any = None,
) -> ProbeResult:
    """Does the linearized learning functor preserve the multi-task pullback at this point?

    Builds the wide pullback diagram ``{trunk, head:t} -> {trunk}`` (one arrow per task) in
    the block poset, linearizes the model on the probe inputs ``X`` (:func:`linearize_model`;
    numeric ranks at relative tolerance ``tol``) and runs :func:`catcore.preservation` on the
    resulting functor (``docs/transfer.md``). ``model``: a :class:`MultiTaskModel` or a
    module :func:`~adapters.constructions.multitask_model.as_multitask` accepts.
    ``batchnorm``: the policy for running statistics (required when the model has them).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a MultiTaskModel, got {type(model).__name__}")
    model = as_multitask(model)
    lin = linearize_model(model, X, point=point, method=method, batchnorm=batchnorm,
                          columns=columns, seed=seed, say=say)  # fmt: skip
    F, poset, images = linearized_functor(lin, tol=tol)
    shared = frozenset({TRUNK})
    objects = _objects(model.tasks)
    arrows = {(t, SHARED): poset.arrow(objects[t], shared) for t in model.tasks}
    diagram = Diagram.of(poset, objects, arrows)
    try:
        p = preservation(F, diagram)
    except NotAConeError as exc:
        raise ValueError(f"at tol={tol:g} the rank cut splits the spectrum so that the "
                         "truncated images no longer form a cone (the functor's squares fail "
                         f"to commute): lower tol ({str(exc)[:120]} ...)") from None
    dims = {n: F.ob(S).dim for n, S in objects.items()}
    margins = {"+".join(sorted(S)): m for S, m in images.margins.items()}
    factor, doubt = _sketch_doubt(lin, images)
    record = {"method": lin.method, "tol": tol, "readout_entries": sum(lin.rows.values())}
    if lin.method == "sketch":
        record |= {"sketched_blocks": dict(lin.sketch), "seed": seed, "distortion": factor,
                   "failure_probability": jacobian_sketch.FAILURE_PROBABILITY}  # fmt: skip
    return ProbeResult(
        preserved=bool(p.preserved),
        rank_gap=int(p.defect["rank_gap"]),
        predicted_gap=predicted_gap(lin, images),
        dims=dims,
        image_of_limit=p.comparison.dom.dim,
        limit_of_images=p.comparison.cod.dim,
        defect=p.defect,
        exact=lin.exact,
        probe_size=int(X.shape[0]),
        parameters=dict(lin.parameters),
        margins=margins,
        linearization=record,
        uncertain_because=doubt,
        preservation=p,
    )


def _sketch_doubt(lin: Linearization, images: _Images) -> tuple[float | None, str | None]:
    """The sketch's distortion factor and, when its rank decisions are not vouched for,
    why (``docs/transfer.md``, "Large trunks")."""
    if not lin.sketch:
        return (1.0 if lin.method == "sketch" else None), None
    factors = {}
    for block, k in lin.sketch.items():
        rows = sum(lin.rows[r] for r in lin.readouts if block in lin.deps[r])
        factors[block] = jacobian_sketch.distortion(min(rows, lin.parameters[block]), k)
    if any(f is None for f in factors.values()):
        narrow = [b for b, f in factors.items() if f is None]
        return None, (f"the sketch of {narrow} is too narrow for its error bound "
                      f"({lin.sketch[narrow[0]]} columns); raise columns")  # fmt: skip
    factor = max(factors.values())
    cut = images.cut
    for S, m in images.margins.items():
        kept, dropped = m["smallest_kept"], m["largest_dropped"]
        if (kept is not None and kept < factor * cut) or (
            dropped is not None and dropped > cut / factor
        ):
            return factor, (f"a singular value of the sketch of {'+'.join(sorted(S))} lies "
                            f"within the distortion factor {factor:.3g} of the rank cut")
    return factor, None

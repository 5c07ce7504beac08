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
(:func:`linearize`, numeric Vect) or, for networks of ``Linear``/``ReLU``/``Identity``
layers, from exact forward-mode differentiation over the rationals (:func:`linearize_exact`,
Vect over Q): the float weights and inputs are read as the rationals they are.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np
import sympy
import torch
import torch.nn.functional as F_
from torch import Tensor, nn
from torch.func import functional_call, jacrev

from adapters.nets.params import ParamSpace
from catcore.functor import Functor
from catcore.instances.poset import Leq, Poset
from catcore.instances.vect import LinearMap, NumericVectCategory, Space, VectQ, VectR
from catcore.limits import Diagram, Limit, Preservation, preservation

SHARED = "shared"
TRUNK = "trunk"

# -- the model ---------------------------------------------------------------------------


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


# -- linearization -----------------------------------------------------------------------


def block_of(param_name: str) -> str:
    """``trunk`` for trunk parameters, ``head:<task>`` for ``heads.<task>.*``."""
    first, rest = param_name.split(".", 1)
    if first == "trunk":
        return TRUNK
    if first == "heads":
        return "head:" + rest.split(".", 1)[0]
    raise ValueError(f"parameter {param_name!r} belongs to neither the trunk nor a head")


@dataclass(frozen=True)
class Linearization:
    """Jacobian blocks of a multi-task model's readouts at one parameter point.

    ``jac[(readout, block)]`` is ``(rows of the readout) x (parameters of the block)``,
    float64 (numeric) or Fraction objects (exact); missing pairs are zero. ``deps[r]`` is
    the set of blocks readout ``r`` depends on; ``rows``/``cols`` give the sizes.
    """

    readouts: tuple[str, ...]
    blocks: tuple[str, ...]
    deps: Mapping[str, frozenset[str]]
    rows: Mapping[str, int]
    cols: Mapping[str, int]
    jac: Mapping[tuple[str, str], np.ndarray]
    exact: bool

    def readouts_of(self, S: frozenset[str]) -> list[str]:
        """Readouts that depend on blocks of ``S`` only."""
        return [r for r in self.readouts if self.deps[r] <= S]

    def matrix(self, rows: Sequence[str], blocks: Sequence[str]) -> Any:
        """The block matrix ``[jac[r, b]]`` (numpy float64, or sympy with Rational entries)."""
        dtype = object if self.exact else np.float64
        zero = Fraction(0) if self.exact else 0.0
        parts = [
            [self.jac.get((r, b), np.full((self.rows[r], self.cols[b]), zero, dtype=dtype))
             for b in blocks]
            for r in rows
        ]  # fmt: skip
        total_r = sum(self.rows[r] for r in rows)
        total_c = sum(self.cols[b] for b in blocks)
        m = np.block(parts) if rows and blocks else np.zeros((total_r, total_c), dtype=dtype)
        m = m.reshape(total_r, total_c)
        return _to_sympy(m) if self.exact else m

    def of(self, S: frozenset[str]) -> Any:
        """``J_S``: readouts of ``S`` against the blocks of ``S`` (in the fixed orders)."""
        return self.matrix(self.readouts_of(S), [b for b in self.blocks if b in S])


def _to_sympy(m: np.ndarray) -> sympy.Matrix:
    rows, cols = m.shape
    return sympy.Matrix(rows, cols, [sympy.Rational(x.numerator, x.denominator) for x in m.flat])


def _deps(model: MultiTaskModel) -> dict[str, frozenset[str]]:
    deps = {SHARED: frozenset({TRUNK})}
    deps.update({f"out:{t}": frozenset({TRUNK, f"head:{t}"}) for t in model.tasks})
    return deps


def _blocks(model: MultiTaskModel) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, _ in model.named_parameters():
        out.setdefault(block_of(name), []).append(name)
    return out


def linearize(model: MultiTaskModel, X: Tensor, point: Tensor | None = None) -> Linearization:
    """Jacobians of every readout with respect to every parameter block, by
    :func:`torch.func.jacrev` in float64, at the model's parameters or at ``point`` (a flat
    vector in :class:`~adapters.nets.params.ParamSpace` order). ``X``: probe inputs ``(N, ...)``.
    The model is evaluated in eval mode; it must hold no running statistics.
    """
    work = copy.deepcopy(model).to(torch.float64).eval()
    space = ParamSpace(work)
    params = space.unflatten(space.vector() if point is None else point.to(torch.float64))
    X64 = X.to(torch.float64)

    def readouts(p: dict[str, Tensor]) -> dict[str, Tensor]:
        return functional_call(work, p, (X64,), {"readouts": True})

    with torch.no_grad():
        shapes = {k: v.shape for k, v in readouts(params).items()}
    jac = jacrev(readouts)(dict(params))
    blocks = _blocks(work)
    out: dict[tuple[str, str], np.ndarray] = {}
    for r, per_param in jac.items():
        n_rows = int(np.prod(shapes[r]))
        for b, names in blocks.items():
            mats = [per_param[n].reshape(n_rows, -1) for n in names]
            m = torch.cat(mats, dim=1).detach().numpy()
            if np.any(m):
                out[(r, b)] = m
    return _linearization(model, shapes, blocks, params, out, exact=False)


def _linearization(model, shapes, blocks, params, jac, exact: bool) -> Linearization:
    deps = _deps(model)
    readouts = (SHARED, *(f"out:{t}" for t in model.tasks))
    return Linearization(
        readouts=readouts,
        blocks=(TRUNK, *(f"head:{t}" for t in model.tasks)),
        deps=deps,
        rows={r: int(np.prod(shapes[r])) for r in readouts},
        cols={b: sum(params[n].numel() for n in names) for b, names in blocks.items()},
        jac=jac,
        exact=exact,
    )


# -- exact forward-mode differentiation over Q -----------------------------------------


def _fractions(t: Tensor) -> np.ndarray:
    """A float tensor as an object array of the rationals its entries are (exact)."""
    flat = [Fraction(float(v)) for v in t.detach().to(torch.float64).reshape(-1).tolist()]
    return np.array(flat, dtype=object).reshape(tuple(t.shape))


def _exact_layer(layer: nn.Module, prefix: str, v, T, offsets: Mapping[str, int]):
    """Value ``v`` (N, d) and tangents ``T`` (n, N, d) through one layer, exactly."""
    if isinstance(layer, nn.Linear):
        W = _fractions(layer.weight)
        v_new = v @ W.T
        T_new = T @ W.T
        out_f, in_f = W.shape
        w0 = offsets[prefix + "weight"]
        for i, j in itertools.product(range(out_f), range(in_f)):
            T_new[w0 + i * in_f + j, :, i] += v[:, j]
        if layer.bias is not None:
            v_new = v_new + _fractions(layer.bias)
            b0 = offsets[prefix + "bias"]
            for i in range(out_f):
                T_new[b0 + i, :, i] += 1
        return v_new, T_new
    if isinstance(layer, nn.ReLU):
        mask = np.vectorize(lambda z: z > 0, otypes=[bool])(v)
        return np.where(mask, v, Fraction(0)), np.where(mask[None], T, Fraction(0))
    if isinstance(layer, nn.Identity):
        return v, T
    if isinstance(layer, nn.Sequential):
        for name, sub in layer.named_children():
            v, T = _exact_layer(sub, f"{prefix}{name}.", v, T, offsets)
        return v, T
    supported = "Linear, ReLU, Identity and Sequential"
    raise TypeError(f"exact linearization supports {supported}, got {type(layer).__name__}")


def linearize_exact(model: MultiTaskModel, X: Tensor) -> Linearization:
    """Exact Jacobians over Q by forward-mode differentiation (no torch autograd).

    For trunks and heads built from ``nn.Linear``, ``nn.ReLU`` (derivative 0 at 0, as in
    torch) and ``nn.Identity``. Every float weight and input is read as the rational it is;
    with small dyadic weights the numbers are the hand-derivable ones. Small models only:
    the cost grows with (parameters x probe size x width).
    """
    params = dict(model.named_parameters())
    offsets, n = {}, 0
    for name, p in params.items():
        offsets[name], n = n, n + p.numel()
    v = _fractions(X.reshape(X.shape[0], -1))
    T = np.full((n, *v.shape), Fraction(0), dtype=object)
    taps = {}
    for name, layer in model.trunk.named_children():
        v, T = _exact_layer(layer, f"trunk.{name}.", v, T, offsets)
        taps[name] = (v, T)
    taps[""] = (v, T)
    values = {SHARED: (v, T)}
    for t, head in model.heads.items():
        values[f"out:{t}"] = _exact_layer(head, f"heads.{t}.", *taps[model.reads[t]], offsets)
    blocks = _blocks(model)
    shapes = {r: val.shape for r, (val, _) in values.items()}
    jac: dict[tuple[str, str], np.ndarray] = {}
    for r, (_, tang) in values.items():
        flat = tang.reshape(n, -1).T  # rows: readout entries (row-major), cols: parameters
        for b, names in blocks.items():
            cols = [i for nm in names for i in range(offsets[nm], offsets[nm] + params[nm].numel())]
            m = flat[:, cols]
            if any(x != 0 for x in m.flat):
                jac[(r, b)] = m
    return _linearization(model, shapes, blocks, params, jac, exact=True)


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


@dataclass
class ProbeResult:
    """Outcome of :func:`limit_preservation_probe`; :meth:`to_dict` is JSON-serializable.

    ``preserved``: whether the comparison map is an isomorphism. ``rank_gap``:
    ``dim lim(F.D) - rank(comparison)`` (0 iff preserved, since the map is injective).
    ``dims``: ``dim F(S)`` for each object of the diagram. ``predicted_gap``: the closed
    form. ``defect``: catcore's defect data (singular values of the comparison map,
    principal angles between the image cone and the limit inside the product).
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
    preservation: Preservation | None = field(default=None, repr=False)

    @property
    def verdict(self) -> str:
        return "preserved" if self.preserved else "not preserved"

    def to_dict(self) -> dict[str, Any]:
        angles = [float(a) for a in self.defect.get("principal_angles", [])]
        sv = [float(x) for x in self.defect.get("singular_values", [])]
        return {
            "verdict": self.verdict,
            "preserved": self.preserved,
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
            "rank_margins": self.margins,
        }


def limit_preservation_probe(
    model: MultiTaskModel,
    X: Tensor,
    *,
    point: Tensor | None = None,
    exact: bool = False,
    tol: float = 1e-9,
) -> ProbeResult:
    """Does the linearized learning functor preserve the multi-task pullback at this point?

    Builds the wide pullback diagram ``{trunk, head:t} -> {trunk}`` (one arrow per task) in
    the block poset, linearizes the model on the probe inputs ``X`` (exactly over Q with
    ``exact=True``, else in float64 with relative rank tolerance ``tol``) and runs
    :func:`catcore.preservation` on the resulting functor (``docs/transfer.md``).
    """
    if not isinstance(model, MultiTaskModel):
        raise TypeError(f"model must be a MultiTaskModel, got {type(model).__name__}")
    if exact and point is not None:
        raise ValueError("exact=True linearizes at the model's own weights; load point first")
    lin = linearize_exact(model, X) if exact else linearize(model, X, point)
    F, poset, images = linearized_functor(lin, tol=tol)
    shared = frozenset({TRUNK})
    objects = _objects(model.tasks)
    arrows = {(t, SHARED): poset.arrow(objects[t], shared) for t in model.tasks}
    diagram = Diagram.of(poset, objects, arrows)
    p = preservation(F, diagram)
    dims = {n: F.ob(S).dim for n, S in objects.items()}
    margins = {"+".join(sorted(S)): m for S, m in images.margins.items()}
    return ProbeResult(
        preserved=bool(p.preserved),
        rank_gap=int(p.defect["rank_gap"]),
        predicted_gap=predicted_gap(lin, images),
        dims=dims,
        image_of_limit=p.comparison.dom.dim,
        limit_of_images=p.comparison.cod.dim,
        defect=p.defect,
        exact=exact,
        probe_size=int(X.shape[0]),
        parameters=dict(lin.cols),
        margins=margins,
        preservation=p,
    )

"""The learning functor ``L: Param -> Rep`` (Thm 2.6) and its verification on real networks
(``docs/adapters.md``, "The learning functor and its verification").

``L(theta) = phi_theta``, the representation of the probe set at ``theta`` (default: the
penultimate layer); ``L(gamma)(t) = phi_{gamma(t)}``, with the duration of ``gamma``.
:func:`verify_functor` runs catcore's :func:`~catcore.suites.functor_laws` on paths from
real training runs, measures the defects, and checks empirically that ``phi_theta(x)`` is
a function of ``(theta, x)`` at all; when it is not, the verdict names the modules
responsible (:mod:`adapters.nets.diagnosis`) and how to fix them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import Tensor

from adapters.categories.param import Param, to_numpy
from adapters.categories.rep import Rep
from adapters.nets.diagnosis import Culprit, grouped, inspect_modules, localize, merge, names_of
from adapters.nets.model_io import as_input, parse_layer
from catcore.equality import Tolerance, as_array
from catcore.functor import Functor
from catcore.instances.paths import Path
from catcore.laws import Report, RuleSet, check_examples
from catcore.suites import functor_laws

#: Bytes of float64 parameter points that :meth:`LearningFunctor.phi_along` holds at once.
SAMPLE_BYTES = 64 * 2**20


class LearningFunctor(Functor):
    """``L: Param -> Rep`` reading ``layer`` (default: the penultimate) on ``probe``
    (default: the data of ``param``); Rep's tolerance is ``atol``/``rtol``.

    >>> import torch
    >>> from adapters.nets.models import mlp
    >>> torch.manual_seed(0) and None
    >>> P = Param(mlp(4, (8,), 3), torch.randn(20, 4), torch.randint(0, 3, (20,)))
    >>> L = LearningFunctor(P)
    >>> L.cod.shape, L.layer
    ((20, 8), '1')
    >>> a = P.of()
    >>> bool(L.cod.equality(L(P.identity(a)), L.cod.identity(L(a))))
    True
    """

    def __init__(
        self,
        param: Param,
        probe: Tensor | None = None,
        layer: str | None = None,
        *,
        atol: float = 1e-5,
        rtol: float = 1e-6,
    ) -> None:
        engine = param.engine
        probe = engine.X if probe is None else as_input(probe, engine.dtype, engine.device)
        layer = engine.layer if layer is None else layer
        parse_layer(engine.model, layer)
        object.__setattr__(self, "param", param)
        object.__setattr__(self, "engine", engine)
        object.__setattr__(self, "probe", probe)
        object.__setattr__(self, "layer", layer)
        phi = self.phi(param.of())
        rep = Rep(*phi.shape, layer=layer, atol=atol, rtol=rtol, grid_size=len(param.grid))
        super().__init__(param, rep, self.representation, self.path, name="L")

    def phi(self, points: Any) -> np.ndarray:
        """Representations at one point (``(N, d)``) or at ``(P, n)`` points (``(P, N, d)``)."""
        r = self.engine.representations(self.param.tensor(points), layer=self.layer, X=self.probe)
        return to_numpy(r)

    def phi_along(self, gamma: Path, t: np.ndarray) -> np.ndarray:
        """``phi`` at the points ``gamma(t)``, ``(len(t), N, d)``, sampled a few at a time:
        at most :data:`SAMPLE_BYTES` of parameter points exist at once, whatever the grid
        (a ``(grid, n)`` array of an 11M-parameter network would take 2.9 GB at grid 33)."""
        per = max(1, SAMPLE_BYTES // (8 * self.param.dim))
        t = np.asarray(t, dtype=float)
        parts = [self.phi(gamma.sample(t[i : i + per])) for i in range(0, len(t), per)]
        return np.concatenate(parts) if parts else np.empty((0, *self.cod.shape))

    def representation(self, theta: Any) -> np.ndarray:
        """``L(theta)``: the object of Rep holding ``phi_theta`` on the probe set."""
        return self.cod.representation(self.phi(self.param.point(theta)))

    def path(self, gamma: Path) -> Path:
        """``L(gamma)``: ``t -> phi_{gamma(t)}`` over the duration of ``gamma``."""
        rep = self.cod

        def fn(t: np.ndarray) -> np.ndarray:
            return self.phi_along(gamma, t).reshape(len(t), rep.dim)

        kind = f"L({getattr(gamma, 'kind', 'path')})"
        image = rep._make(fn, gamma.duration, getattr(gamma, "breaks", ()), kind=kind)
        image.source = gamma
        return image

    def __repr__(self) -> str:
        return f"LearningFunctor(L: {self.dom} -> {self.cod}, layer={self.layer!r})"


# -- verification ----------------------------------------------------------------------------
class _Measured:
    """An equality that records ``max |lhs - rhs|`` of every comparison it makes."""

    def __init__(self, inner: Tolerance) -> None:
        self.inner, self.defects = inner, []
        self._last: tuple = (None, None, None, None)

    def _arrays(self, a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
        if self._last[0] is a and self._last[1] is b:
            return self._last[2], self._last[3]
        x, y = as_array(a), as_array(b)
        self._last = (a, b, x, y)
        return x, y

    def __call__(self, a: Any, b: Any) -> bool:
        x, y = self._arrays(a, b)
        self.defects.append(float(np.max(np.abs(x - y))) if x.shape == y.shape else np.inf)
        return self.inner(x, y)

    def explain(self, a: Any, b: Any) -> str:
        return self.inner.explain(*self._arrays(a, b))


def _unchecked_concat(f: Path, g: Path, grid: np.ndarray) -> np.ndarray:
    """The array of ``f ; g`` computed without the junction check (for a defect number when
    ``f.cod`` and ``g.dom`` do not even meet)."""
    T1, total = f.duration, f.duration + g.duration
    t = grid * total
    first = t <= T1
    out = np.empty((len(t), f.category.dim))
    if first.any():
        out[first] = f.sample(t[first])
    if not first.all():
        out[~first] = g.sample(t[~first] - T1)
    return np.concatenate([[total], out.ravel()])


@dataclass
class Verdict:
    """Outcome of :func:`verify_functor`.

    ``functorial``: the laws hold within tolerance *and* ``phi_theta`` is a per-sample,
    deterministic function of ``theta``. Defects are max absolute differences:
    ``identity_defect`` (``L(id) - id``), ``composition_defect`` (``L(f;g) - L f;L g``),
    ``repeat_defect`` (the same point evaluated twice), ``batch_defect`` (the probe set
    evaluated whole and in two halves). ``diagnosis``: sentences for a person;
    ``culprits``: the modules responsible, as data; ``report``: catcore's law report.
    """

    functorial: bool
    identity_defect: float
    composition_defect: float
    repeat_defect: float
    batch_defect: float
    tolerance: float
    diagnosis: list[str]
    culprits: list[Culprit] = field(default_factory=list)
    report: Report | None = None
    objects: int = 0
    pairs: int = 0

    @property
    def responsible(self) -> list[str]:
        """Qualified names of the modules that break the functor (from ``culprits``)."""
        return [c.module for c in self.culprits if c.breaks]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (numbers as floats, culprits as dicts)."""
        return {
            "functorial": bool(self.functorial),
            "identity_defect": float(self.identity_defect),
            "composition_defect": float(self.composition_defect),
            "repeat_defect": float(self.repeat_defect),
            "batch_defect": float(self.batch_defect),
            "tolerance": float(self.tolerance),
            "objects": self.objects,
            "composable_pairs": self.pairs,
            "diagnosis": list(self.diagnosis),
            "responsible": self.responsible,
            "culprits": [c.__dict__.copy() for c in self.culprits],
            "law_failures": [
                {"law": f.law, "reason": _short(f.reason)}
                for f in (self.report.failures if self.report else [])
            ],
        }

    def __str__(self) -> str:
        head = "functorial" if self.functorial else "NOT functorial"
        lines = [
            f"{head}: identity defect {self.identity_defect:.3g}, composition defect "
            f"{self.composition_defect:.3g}, re-evaluation defect {self.repeat_defect:.3g}, "
            f"batch-split defect {self.batch_defect:.3g} (tolerance {self.tolerance:g})"
        ]
        return "\n".join(lines + [f"- {d}" for d in self.diagnosis])


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def law_examples(param: Param, paths: Sequence[Path]) -> dict[str, list]:
    """Objects and composable pairs for the functor laws from consecutive ``paths``.

    Objects: every endpoint. Pairs: consecutive segments; every split of the whole run
    into a prefix and a suffix; a straight segment followed by a segment; a segment
    followed by a Bezier curve to the end with the run's start as control point; identities on
    either side; the whole run followed by the straight way back.
    """
    if not paths:
        raise ValueError("verify_functor needs at least one path")
    paths = list(paths)
    for i, (p, q) in enumerate(zip(paths[:-1], paths[1:])):
        if not param.same_object(p.cod, q.dom):
            raise ValueError(f"paths {i} and {i + 1} are not consecutive (end != start)")
    if len(paths) == 1 and paths[0].duration > 0:
        paths = param.segments(paths[0], [paths[0].duration / 2])
    whole = param.compose(*paths)
    start, end = whole.dom, whole.cod
    pairs = list(zip(paths[:-1], paths[1:]))
    pairs += [
        (param.compose(*paths[:i]), param.compose(*paths[i:]))
        for i in range(1, len(paths))
        if i > 1 or len(paths) - i > 1
    ]
    first, last = paths[0], paths[-1]
    if first.duration > 0 and len(paths) > 1:
        pairs.append((param.linear(first.dom, first.cod), paths[1]))
    if not param.same_object(first.cod, end):
        pairs.append((first, param.bezier(np.stack([first.cod, start, end]))))
    pairs += [(param.identity(start), first), (last, param.identity(end))]
    if not param.same_object(start, end):
        pairs.append((whole, param.linear(end, start)))
    objects = [start] + [p.cod for p in paths]
    return {"object": objects, "chain2": pairs}


def _laws(L: LearningFunctor, examples: dict) -> tuple[Report, dict[str, float]]:
    rules = functor_laws(L)
    merged = Report(rules.name)
    defects: dict[str, float] = {}
    for law in rules.all_laws():
        measure = _Measured(L.cod.equality)
        single = RuleSet(rules.name, (law,))
        report = check_examples(single, examples, eq=measure)
        values = list(measure.defects)
        for f in report.failures:
            if f.lhs is None and law.needs == "chain2":  # a side could not even be built
                g, h = f.example
                lhs = as_array(L(g >> h))
                values.append(
                    float(np.max(np.abs(lhs - _unchecked_concat(L(g), L(h), L.cod.grid))))
                )
        defects[law.name] = max(values, default=0.0)
        merged.failures += report.failures
        merged.checked.update(report.checked)
        merged.vacuous.update(report.vacuous)
        merged.missing += report.missing
    return merged, defects


def _determinism(L: LearningFunctor, points: list[np.ndarray]) -> tuple[float, float, float]:
    """(repeat defect, batch-split defect, scale) at ``points``."""
    repeat = batch = scale = 0.0
    N = L.probe.shape[0]
    for theta in points:
        a, b = L.phi(theta), L.phi(theta)
        repeat = max(repeat, float(np.max(np.abs(a - b))))
        scale = max(scale, float(np.max(np.abs(a))))
        if N >= 4:  # two halves of at least 2 samples (BatchNorm needs 2 in train mode)
            h = N // 2
            t = L.param.tensor(theta)
            for rows in (slice(0, h), slice(h, N)):
                part = L.engine.representations(t, layer=L.layer, X=L.probe[rows])
                batch = max(
                    batch, float(np.max(np.abs(to_numpy(part).reshape(a[rows].shape) - a[rows])))
                )
    return repeat, batch, scale


def verify_functor(L: LearningFunctor, paths: Sequence[Path], probes: int = 3) -> Verdict:
    """Check Thm 2.6 for ``L`` on consecutive ``paths`` (e.g. segments of a training run).

    Runs catcore's functor laws on :func:`law_examples`, re-evaluates ``probes`` points
    twice and on two halves of the probe set, inspects the modules and localizes the
    culprits empirically. Tolerance: Rep's ``atol + rtol * max |phi|``.
    """
    param = L.param
    examples = law_examples(param, paths)
    report, defects = _laws(L, examples)
    objects = examples["object"]
    chosen = [objects[i] for i in np.unique(np.linspace(0, len(objects) - 1, probes).astype(int))]
    repeat, batch, scale = _determinism(L, chosen)
    eq = L.cod.equality
    tol = eq.atol + eq.rtol * scale
    ident = defects.get("functor preserves identity", 0.0)
    comp = defects.get("functor preserves composition", 0.0)

    model = L.engine.model
    rtol = 1e-9 if L.engine.dtype.itemsize == 8 else 1e-5
    at_point = param.space.load(copy.deepcopy(model), param.tensor(objects[-1]))
    culprits = merge(inspect_modules(model), localize(at_point, L.probe[:64], rtol))
    blamed = [c for c in culprits if c.breaks]
    ok = report.ok and repeat <= tol and batch <= tol and not blamed
    diagnosis = _diagnose(ok, ident, comp, repeat, batch, tol, report, culprits, examples)
    moved = _mode_changes(param.model, model)
    if moved:
        diagnosis.append(
            "the model's train/eval mode changed after Param was built (modules "
            + ", ".join(repr(n) for n in moved[:5])
            + "); Param evaluates the copy it made then: build it after setting the mode."
        )
    return Verdict(
        ok, ident, comp, repeat, batch, tol, diagnosis, culprits, report,
        len(objects), len(examples["chain2"]),
    )  # fmt: skip


def _mode_changes(model: Any, copy_: Any) -> list[str]:
    """Modules whose train/eval flag differs between the model and Param's copy of it."""
    flags = {n: m.training for n, m in copy_.named_modules()}
    modules = model.named_modules()
    return [n or "<root>" for n, m in modules if flags.get(n, m.training) != m.training]


def _diagnose(
    ok: bool,
    ident: float,
    comp: float,
    repeat: float,
    batch: float,
    tol: float,
    report: Report,
    culprits: list[Culprit],
    examples: dict,
) -> list[str]:
    n_obj, n_pair = len(examples["object"]), len(examples["chain2"])
    if ok:
        lines = [
            f"L preserves identities (max defect {ident:.2g}) and composition (max defect "
            f"{comp:.2g}) on {n_obj} points and {n_pair} composable pairs of paths, within "
            f"{tol:.2g}; phi_theta is a deterministic per-sample function of theta "
            f"(re-evaluation defect {repeat:.2g}, batch-split defect {batch:.2g})."
        ]
        return lines + [f"note: {line}" for line in grouped(culprits)]
    lines = []
    if ident > tol:
        lines.append(f"L(id_theta) differs from id_(L theta) by {ident:.3g} > {tol:.2g}.")
    if comp > tol:
        lines.append(f"L(f;g) differs from L(f);L(g) by {comp:.3g} > {tol:.2g}.")
    unmet = [f for f in report.failures if f.lhs is None]
    if unmet:
        lines.append(
            f"{len(unmet)} of the composable pairs of paths have images that do not even meet "
            "(L(f) does not end where L(g) starts although f ends where g starts): "
            + unmet[0].reason.split(": first arrow")[0]
            + "."
        )
    if repeat > tol:
        lines.append(
            f"the network is not a function of its parameters: evaluating the same theta twice "
            f"changes the representation by {repeat:.3g}."
        )
    if batch > tol:
        lines.append(
            f"the network is not a function of its parameters and the input alone: a sample's "
            f"representation changes by {batch:.3g} when the rest of its batch changes."
        )
    blamed = [c.module for c in culprits if c.breaks]
    if blamed:
        lines.append(f"responsible: {names_of(blamed)}.")
    lines += grouped(culprits)
    if not blamed and (repeat > tol or batch > tol):
        lines.append(
            "no module could be blamed: look for randomness or state outside theta in custom "
            "forward code."
        )
    return lines

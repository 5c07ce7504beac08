"""The persistence-generalization study: does total persistence predict the gap?

The paper reports ``Gap = -0.034 * Pers + 0.12`` with ``R^2 = 0.82`` on 50 CIFAR-10
ResNet-18s, without the sampling radius. :func:`persistence_study` measures, for every
network of an ensemble and every radius, the landscape around the network
(:mod:`adapters.nets.sampling`), its persistence diagrams
(:mod:`adapters.constructions.persistence`) and
several named summaries ("variants"), then fits ``gap = a * pers + b`` per variant and
radius with a bootstrap confidence interval and a permutation-test p-value
(:func:`adapters.studies.linear_fit.fit_linear`). Variants:

- ``"h0"``: total persistence of the finite H0 pairs (the paper's Pers, as we read it);
- ``"h0_capped"``: the same with the essential H0 class(es) capped at the sampled maximum;
- ``"h1"``: total persistence of the finite H1 pairs;
- ``"h0_h1"``: ``"h0" + "h1"``;
- ``"h0_relative"``: ``"h0"`` divided by the sampled range ``max - min`` (unchanged when
  the loss is scaled: separates the shape of the landscape from its loss level);
- ``"range"``: sampled maximum minus the loss at the centre (a plain sharpness proxy) and
  ``"loss"``: the loss at the centre itself; two baselines that any topological summary
  should beat before it is credited with the prediction.

A landscape is cached per network, radius and settings in an :class:`adapters.runtime.store.Store`
(``cache=``) so an interrupted study resumes where it stopped; summaries are recomputed
from the cached diagrams. See ``docs/persistence.md``, section "The study".
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from adapters.constructions.diagrams import total_persistence
from adapters.constructions.persistence import grid_persistence, landscape_persistence
from adapters.nets.sampling import Bias, ball_samples, evaluate, plane_grid
from adapters.runtime.executor import Executor, LocalExecutor, WorkItem, built, run_items
from adapters.runtime.store import Store, digest
from adapters.studies.linear_fit import Fit, fit_linear

#: the paper's fit (CIFAR-10, 50 ResNet-18s)
PAPER = {"a": -0.034, "b": 0.12, "r2": 0.82, "n": 50, "setting": "CIFAR-10, ResNet-18"}
VARIANTS = ("h0", "h0_capped", "h1", "h0_h1", "h0_relative", "range", "loss")


@dataclass(frozen=True)
class StudyNetwork:
    """One trained network and its generalization gap (measured by the caller, e.g.
    train accuracy minus test accuracy). ``recipe = (fn, args)``: a module-level function
    and JSON arguments that build this network's engine (the one ``engine_factory``
    gives) in a worker process; needed only to run the study on an executor."""

    name: str
    model: nn.Module
    gap: float
    recipe: tuple[Callable[..., Any], Sequence[Any]] | None = field(default=None, repr=False)


#: Ball samples live in a random subspace of this dimension by default (``dim=None``: the
#: full parameter space). In the full space the kNN graph is close to a random graph (the
#: 10th neighbour is 0.974 of the median distance away) and costs more than the losses;
#: in 8 dimensions it is geometric (0.51) and the landscape costs about its evaluations
#: (``docs/persistence.md``, "Cost").
DEFAULT_DIM = 8


@dataclass(frozen=True)
class StudySettings:
    """How each landscape is sampled and summarized.

    ``sampler="ball"``: ``n_samples`` points in a ball (``dim=None``: full space; ``dim=m``:
    a random ``m``-dimensional subspace), persistence on the Delaunay triangulation of the
    subspace coordinates when ``m <= 3``, else on the kNN graph with ``k``;
    ``sampler="plane"``: a ``round(sqrt(n_samples))``-square plane grid, cubical
    persistence with ``connectivity``. Radii are relative (filter-normalized).
    """

    radii: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)
    n_samples: int = 5000
    k: int = 10
    dim: int | None = DEFAULT_DIM
    sampler: Literal["ball", "plane"] = "ball"
    connectivity: int = 4
    maxdim: int = 1
    seed: int = 0
    bias: Bias = "zero"
    p: float = 1.0

    def __post_init__(self) -> None:
        if not self.radii or any(not (r > 0 and math.isfinite(r)) for r in self.radii):
            raise ValueError(f"radii must be positive finite numbers, got {self.radii!r}")
        if self.sampler not in ("ball", "plane"):
            raise ValueError(f"sampler must be 'ball' or 'plane', got {self.sampler!r}")
        if self.n_samples < 4:
            raise ValueError(f"n_samples must be at least 4, got {self.n_samples}")

    def landscape_key(self) -> dict:
        """The settings that determine one landscape (all but ``radii`` and ``p``, and the
        complex when it is not the kNN graph earlier versions used)."""
        d = asdict(self)
        d.pop("radii")
        d.pop("p")
        if self.complex != "knn":
            d["complex"] = self.complex
        return d

    @property
    def complex(self) -> str:
        """The complex a ball sample is filtered on: the Delaunay triangulation of its
        coordinates in a subspace of at most 3 dimensions, else the kNN flag complex."""
        low = self.sampler == "ball" and self.dim is not None and self.dim <= 3
        return "delaunay" if low else "knn"


@dataclass(frozen=True)
class Landscape:
    """One network's sampled landscape at one radius: diagrams and value range."""

    diagrams: list[np.ndarray]
    v_min: float
    v_max: float
    v_center: float
    n_samples: int

    def summary(self, variant: str, p: float = 1.0) -> float:
        """The named scalar summary of this landscape (module docstring)."""
        h0 = total_persistence(self.diagrams[0], p)
        h1 = total_persistence(self.diagrams[1], p) if len(self.diagrams) > 1 else 0.0
        if variant == "h0":
            return h0
        if variant == "h0_capped":
            return total_persistence(self.diagrams[0], p, essential="cap", cap=self.v_max)
        if variant == "h1":
            return h1
        if variant == "h0_h1":
            return h0 + h1
        if variant == "h0_relative":
            spread = self.v_max - self.v_min
            return h0 / spread if spread > 0 else 0.0
        if variant == "range":
            return self.v_max - self.v_center
        if variant == "loss":
            return self.v_center
        raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")

    def to_json(self) -> dict:
        return {
            "diagrams": [d.tolist() for d in self.diagrams],
            "v_min": self.v_min, "v_max": self.v_max, "v_center": self.v_center,
            "n_samples": self.n_samples,
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: dict) -> Landscape:
        dgms = [np.asarray(x, dtype=np.float64).reshape(-1, 2) for x in d["diagrams"]]
        return cls(dgms, d["v_min"], d["v_max"], d["v_center"], d["n_samples"])


@dataclass
class StudyResult:
    """Per-network gaps and landscapes, per-(variant, radius) summaries and fits."""

    settings: StudySettings
    names: list[str]
    gaps: np.ndarray
    landscapes: dict[tuple[str, float], Landscape]
    pers: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)
    fits: dict[tuple[str, float], Fit] = field(default_factory=dict)

    def r2_by_radius(self, variant: str) -> list[tuple[float, float]]:
        """``(radius, R^2)`` for one variant, in the order of the settings' radii."""
        return [(r, self.fits[(variant, r)].r2) for r in self.settings.radii]

    def degeneracy(self) -> list[str]:
        """Plain statements of what is degenerate (empty finite H0 diagrams, constant
        summaries), one per finding; empty when nothing is."""
        notes = []
        for r in self.settings.radii:
            finite = [np.isfinite(self.landscapes[(n, r)].diagrams[0][:, 1]).any()
                      for n in self.names]  # fmt: skip
            all_empty = not any(finite)
            if all_empty:
                notes.append(f"radius {r:g}: the finite H0 diagram is empty for every network "
                             "(one basin); total H0 persistence is 0 throughout")  # fmt: skip
            for v in VARIANTS:
                f = self.fits[(v, r)]
                if f.degenerate and not (v == "h0" and all_empty):
                    notes.append(f"radius {r:g}, {v}: {f.degenerate}")
        return notes

    def class_counts(self) -> list[dict]:
        """Per radius and dimension, the median numbers of finite and of essential classes
        per landscape: essential classes have no finite persistence and are left out of
        every total (``docs/persistence.md``, "Essential classes"), so they are counted
        here instead of vanishing."""
        out = []
        for r in self.settings.radii:
            for dim in range(len(self.landscapes[(self.names[0], r)].diagrams)):
                dgms = [self.landscapes[(n, r)].diagrams[dim] for n in self.names]
                inf = [int(np.isinf(d[:, 1]).sum()) for d in dgms]
                out.append({"radius": r, "dim": dim,
                            "finite": float(np.median([len(d) - k for d, k in zip(dgms, inf)])),
                            "essential": float(np.median(inf))})  # fmt: skip
        return out

    def to_json(self) -> dict:
        """A JSON-ready dict from which :meth:`from_json` rebuilds this result exactly."""
        return {
            "settings": asdict(self.settings),
            "names": list(self.names),
            "gaps": self.gaps.tolist(),
            "landscapes": [{"name": n, "radius": r, **land.to_json()}
                           for (n, r), land in self.landscapes.items()],  # fmt: skip
            "pers": [{"variant": v, "radius": r, "values": x.tolist()}
                     for (v, r), x in self.pers.items()],  # fmt: skip
            "fits": [{"variant": v, "radius": r, **asdict(f)} for (v, r), f in self.fits.items()],
            "degeneracy": self.degeneracy(),
            "classes": self.class_counts(),
            "complex": self.settings.complex,
            "paper": PAPER,
        }

    @classmethod
    def from_json(cls, d: dict) -> StudyResult:
        settings = dict(d["settings"])
        settings["radii"] = tuple(settings["radii"])
        lands = {(x["name"], x["radius"]): Landscape.from_json(x) for x in d["landscapes"]}
        result = cls(StudySettings(**settings), list(d["names"]), np.asarray(d["gaps"]), lands)
        result.pers = {(x["variant"], x["radius"]): np.asarray(x["values"]) for x in d["pers"]}
        for x in d["fits"]:
            f = {k: v for k, v in x.items() if k not in ("variant", "radius")}
            for k in ("a_ci", "b_ci", "r2_ci"):
                f[k] = tuple(f[k])
            result.fits[(x["variant"], x["radius"])] = Fit(**f)
        return result

    def report(self) -> str:
        """A text table of the fits beside the paper's numbers, then the degeneracy notes."""
        s = self.settings
        lines = [
            f"persistence-generalization study: {len(self.names)} networks, sampler={s.sampler}, "
            f"n_samples={s.n_samples}, k={s.k}, dim={s.dim}, seed={s.seed}, bias={s.bias}, p={s.p}",
            f"paper ({PAPER['setting']}, n={PAPER['n']}): "
            f"gap = {PAPER['a']} * pers + {PAPER['b']}, R^2 = {PAPER['r2']}",
            f"{'variant':<11} {'radius':>7} {'a':>10} {'b':>9} {'R^2':>6} {'R^2 95% CI':>15} "
            f"{'p':>7}",
        ]
        for v in VARIANTS:
            for r in s.radii:
                f = self.fits[(v, r)]
                lines.append(
                    f"{v:<11} {r:>7g} {f.a:>10.4g} {f.b:>9.4g} {f.r2:>6.3f} "
                    f"[{f.r2_ci[0]:>5.2f}, {f.r2_ci[1]:>5.2f}] {f.p_value:>7.4f}"
                )
        lines.append(f"classes per landscape (median; essential ones are not in the totals), "
                     f"complex: {s.complex}")  # fmt: skip
        for c in self.class_counts():
            lines.append(f"  radius {c['radius']:g} H{c['dim']}: {c['finite']:g} finite, "
                         f"{c['essential']:g} essential")  # fmt: skip
        notes = self.degeneracy()
        if notes:
            lines += ["degenerate:"] + [f"  - {n}" for n in notes]
        return "\n".join(lines)


def _data_digest(engine: object) -> str:
    parts = []
    for name in ("X", "y"):
        t = getattr(engine, name, None)
        if isinstance(t, torch.Tensor):
            parts.append(t.detach().cpu().contiguous().numpy().tobytes())
    return digest(*parts) if parts else "no-data"


def measure_landscape(engine: object, settings: StudySettings, radius: float) -> Landscape:
    """Sample the loss of ``engine`` (an :class:`adapters.nets.engine.Engine`) around its
    model's point at ``radius`` and compute the diagrams, as ``settings`` say."""
    space = engine.space  # type: ignore[attr-defined]
    center = space.vector()
    v_center = float(evaluate(engine, center.unsqueeze(0))[0])
    if settings.sampler == "plane":
        side = max(2, round(math.sqrt(settings.n_samples)))
        grid = plane_grid(space, side, radius, seed=settings.seed, bias=settings.bias)
        values = evaluate(engine, grid.points)
        dgms = grid_persistence(values.reshape(grid.shape), min(settings.maxdim, 1),
                                settings.connectivity)  # fmt: skip
    else:
        samples = ball_samples(space, settings.n_samples, radius, dim=settings.dim,
                               seed=settings.seed, bias=settings.bias)  # fmt: skip
        values = evaluate(engine, samples.points)
        dgms = landscape_persistence(samples.embedding(), values, settings.k, settings.maxdim)
    return Landscape(dgms, float(values.min()), float(values.max()), v_center, values.size)


def measure_landscapes(
    engine: object, settings: StudySettings, cache: Store | None = None
) -> dict[float, Landscape]:
    """The landscape of one engine at every radius of ``settings``, each read from
    ``cache`` or measured and written there at once, under the study's own keys (so a
    rerun, or the study on the same network, reuses it)."""
    net_key = _net_key(engine)
    out = {}
    for r in settings.radii:
        key = _landscape_key(net_key, settings, r)
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            hit = measure_landscape(engine, settings, r).to_json()
            if cache is not None:
                cache.put(key, hit)
        out[r] = Landscape.from_json(hit)
    return out


def persistence_study(
    networks: Sequence[StudyNetwork],
    engine_factory: Callable[[nn.Module], object],
    settings: StudySettings | None = None,
    *,
    cache: Store | None = None,
    n_boot: int = 2000,
    n_perm: int = 2000,
    progress: bool = True,
    executor: Executor | None = None,
) -> StudyResult:
    """Run the study on ``networks``; ``engine_factory(model)`` returns the
    :class:`adapters.nets.engine.Engine` whose loss is the landscape (normally the full-batch
    training loss). Landscapes found in ``cache`` are reused; new ones are written as
    soon as they are computed. See the module docstring for the variants.

    ``executor`` (default: this process): measure the landscapes there, one work item per
    network and radius, keyed as the cache keys (each network needs a ``recipe``); the
    results do not depend on it (``docs/cluster.md``)."""
    settings = settings or StudySettings()
    if len({n.name for n in networks}) != len(networks):
        raise ValueError("network names must be unique")
    landscapes = _landscapes(executor, networks, engine_factory, settings, cache, progress)
    names = [n.name for n in networks]
    gaps = np.array([float(n.gap) for n in networks])
    result = StudyResult(settings, names, gaps, landscapes)
    for v in VARIANTS:
        for r in settings.radii:
            x = np.array([landscapes[(n, r)].summary(v, settings.p) for n in names])
            result.pers[(v, r)] = x
            result.fits[(v, r)] = fit_linear(x, gaps, n_boot=n_boot, n_perm=n_perm,
                                             seed=settings.seed)  # fmt: skip
    return result


def _net_key(engine: Any) -> str:
    theta = engine.space.vector().numpy().tobytes()
    return digest(theta, _data_digest(engine))


def _landscape_key(net_key: str, settings: StudySettings, radius: float) -> str:
    return "persistence/" + digest(net_key, settings.landscape_key(), radius)


def _landscapes(executor, networks, engine_factory, settings, cache, progress):
    """Every landscape as a work item (keys: the cache keys) run by ``executor``, the
    in-process one by default. A network's engine is rebuilt where its items run: from
    its ``recipe`` when it has one, else (in this process only) by ``engine_factory``; an
    item's engine lives while the item runs."""
    if executor is not None:
        missing = [n.name for n in networks if n.recipe is None]
        if missing:
            raise ValueError(f"networks {missing} have no recipe: an executor rebuilds "
                             "each network's engine in its workers from StudyNetwork.recipe")
    items, where = [], {}
    spec = asdict(settings)
    for net in networks:
        net_key = _net_key(engine_factory(net.model))
        if net.recipe is not None:
            fn, args = net.recipe
            make = functools.partial(built, fn, json.dumps(list(args)))
        else:
            make = functools.partial(engine_factory, net.model)
        for r in settings.radii:
            key = _landscape_key(net_key, settings, r)
            items.append(WorkItem(key, landscape_item, (make, spec, r, net_key)))
            where[key] = (net.name, r)
    runner = executor if executor is not None else LocalExecutor(0, threads=None)
    done = run_items(items, runner, cache, progress, desc="landscapes")
    return {where[k]: Landscape.from_json(v) for k, v in done.items()}


def landscape_item(make: Callable[[], Any], settings: dict[str, Any], radius: float,
                   net_key: str) -> dict[str, Any]:  # fmt: skip
    """The work item of :func:`persistence_study`: the landscape of the engine ``make()``
    at ``radius``, as JSON. ``net_key`` (parameters and data) must match that engine: a
    recipe that rebuilds another network is refused."""
    engine = make()
    if _net_key(engine) != net_key:
        raise ValueError("the recipe rebuilt a different network or data set than the "
                         "engine factory gave")  # fmt: skip
    spec = dict(settings)
    spec["radii"] = tuple(spec["radii"])
    return measure_landscape(engine, StudySettings(**spec), radius).to_json()

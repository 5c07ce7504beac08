"""The studies of ``catcore reproduce``: each ``(plan, seed, store, progress, executor)
-> dict``.

Every function returns a JSON-ready section of ``results.json`` holding its measured
figures, its settings and the paper's numbers beside them. Long inner work goes through
``store`` so that it resumes after an interrupt (see :mod:`adapters.studies.reproduce.run`). The
embarrassingly parallel parts (the homotopy and persistence ensembles, the exact all-pairs
barriers, the landscapes) run as work items on ``executor`` (``None``: this process); the
other studies ignore it. See ``docs/cluster.md``.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import torch

from adapters.runtime.executor import Executor, LocalExecutor, WorkItem, run_items
from adapters.runtime.store import Store, digest
from adapters.studies.reproduce.plans import Plan


def laws(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Every law suite on every built-in instance of catcore."""
    from catcore.strategies import law_table

    rows = law_table(plan.law_examples)
    return {"rows": rows, "all_ok": all(r["status"] == "ok" for r in rows),
            "settings": {"max_examples": plan.law_examples}}  # fmt: skip


def _progress(progress: bool, line: str) -> None:
    """One progress line on stderr (when ``progress``), as the other long steps give."""
    if progress:
        print(f"  {line}", file=sys.stderr, flush=True)


def _verify(model: torch.nn.Module, steps: int, seed: int, train_mode: bool) -> dict[str, Any]:
    from adapters.categories.learning import LearningFunctor, verify_functor
    from adapters.categories.param import Param
    from adapters.nets.data import digits
    from adapters.nets.training import train

    flat = not any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    data = digits(seed=seed, flat=flat)
    X, y = data.X_train[:512], data.y_train[:512]
    runs = [train(model, (X, y), steps=steps, lr=0.05, batch_size=32, seed=seed + k,
                  record_every=max(1, steps // 5)).trajectory for k in range(2)]  # fmt: skip
    model.train(train_mode)
    P = Param(model, X, y, buffers="include", grid_size=17)
    L = LearningFunctor(P, probe=data.X_test[:128])
    paths = [P.trajectory(t) for t in runs]
    out = verify_functor(L, paths).to_json()
    out["trajectory_length"] = _lengths(model, data.X_test[:128], paths[0])
    return out


def _lengths(model: torch.nn.Module, X: torch.Tensor, path: Any) -> dict[str, Any]:
    """Fisher (Def 8.1, the eval-mode function on ``X``) and Euclidean length of a
    training trajectory."""
    from adapters.categories.fisher import EuclideanMetric, FisherMetric, fisher_length

    fisher = fisher_length(path, FisherMetric(model, X, buffers="include"), tol=1e-3)
    euclid = fisher_length(path, EuclideanMetric(path.category.dim), tol=1e-6)
    return {"fisher": fisher.length, "fisher_converged": fisher.converged,
            "euclidean": euclid.length}  # fmt: skip


def _bn_mlp() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))


#: The networks the functor study verifies: name -> (factory, verify in train mode?).
FUNCTOR_CASES: dict[str, tuple[Any, bool]] = {
    "mlp (eval)": (lambda: _models().mlp(64, (32,), 10), False),
    "cnn_bn (eval)": (lambda: _models().cnn_bn(), False),
    "small_resnet (eval)": (lambda: _models().small_resnet(), False),
    "mlp+BatchNorm (train mode, control)": (_bn_mlp, True),
}


def _models() -> Any:
    import adapters.nets.models

    return adapters.nets.models


def functor(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Thm 2.6 on real training segments: the networks of ``plan.functor_cases`` (MLP, CNN
    and ResNet in eval mode; a train-mode BatchNorm network as the control that must fail)."""
    out = {}
    for k, name in enumerate(plan.functor_cases, 1):
        factory, train_mode = FUNCTOR_CASES[name]
        key = f"functor/{digest(name, plan.functor_steps, seed, 'lengths')}"
        hit = store.get(key)
        if hit is None:
            t0 = time.perf_counter()
            torch.manual_seed(seed)
            hit = _verify(factory(), plan.functor_steps, seed, train_mode)
            store.put(key, hit)
            seconds = time.perf_counter() - t0
            _progress(progress, f"functor {k}/{len(plan.functor_cases)}: {name}: "
                                f"functorial = {hit['functorial']} ({seconds:.1f} s)")  # fmt: skip
        out[name] = hit
    return {
        "cases": out,
        "paper": {"claim": "L preserves identities and composition (checked at 1e-5)"},
        "settings": {"steps_per_segment": plan.functor_steps, "segments": 2, "probe": 128},
    }


def homotopy(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Homotopy classes of a digits ensemble with shared-prefix spawning (issue 4)."""
    from adapters.studies.homotopy_study import homotopy_study

    return homotopy_study(plan.homotopy_networks, eps=plan.eps, steps=plan.homotopy_steps,
                          seed=seed, curved=plan.homotopy_curved, store=store,
                          progress=progress, executor=executor)  # fmt: skip


def transfer(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Scratch vs fine-tuning vs pullback transfer on digits (Def 7.1/7.2)."""
    from adapters.studies.transfer_study import run_transfer_study

    say = (lambda line: print(f"  {line}", flush=True)) if progress else None
    result = run_transfer_study(seeds=plan.transfer_seeds, epochs=plan.transfer_epochs,
                                source_epochs=plan.transfer_epochs,
                                repeats=plan.transfer_repeats, say=say)  # fmt: skip
    result["settings"] = result.pop("config")
    return result


#: What varies across the persistence ensemble, so that generalization gaps differ.
_TRAIN_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
_DECAYS = (0.0, 1e-3)
_NOISE = (0.0, 0.2)
_LRS = (0.02, 0.05)


def _gap_spec(i: int, seed: int, epochs: int) -> dict[str, Any]:
    """The ``i``-th network of the persistence ensemble (a deterministic grid walk)."""
    return {
        "fraction": _TRAIN_FRACTIONS[i % 4],
        "weight_decay": _DECAYS[(i // 4) % 2],
        "label_noise": _NOISE[(i // 8) % 2],
        "lr": _LRS[(i // 16) % 2],
        "epochs": epochs * (1 + i % 3),
        "seed": seed * 1000 + i,
    }


def train_gap(spec: dict[str, Any]) -> dict[str, Any]:
    """Train one network of the persistence ensemble (a work item): ``{"theta": [...]}``."""
    from adapters.nets.training import train

    model, (X, y) = _gap_model(spec)
    r = train(model, (X, y), optimizer="sgd", lr=spec["lr"], momentum=0.9,
              weight_decay=spec["weight_decay"], label_noise=spec["label_noise"],
              batch_size=32, epochs=spec["epochs"], seed=spec["seed"])  # fmt: skip
    return {"theta": r.theta.tolist()}


def _gap_model(spec: dict[str, Any], theta: list[float] | None = None) -> tuple[Any, Any]:
    """The untrained (or, with ``theta``, trained) network of ``spec`` and its train split."""
    from adapters.nets.data import digits
    from adapters.nets.models import mlp
    from adapters.nets.params import ParamSpace

    data = digits(seed=0)
    n = max(20, int(round(spec["fraction"] * len(data.y_train))))
    torch.manual_seed(spec["seed"])
    model = mlp(64, (32,), 10)
    if theta is not None:
        ParamSpace(model).load(model, torch.tensor(theta, dtype=torch.float32))
    return model, (data.X_train[:n], data.y_train[:n])


def gap_engine(spec: dict[str, Any], theta: list[float], dtype: str) -> Any:
    """The landscape's engine of one trained network (a worker builds it from JSON): the
    full-batch training loss on its own train split, in ``dtype``."""
    from adapters.nets.engine import Engine

    model, (X, y) = _gap_model(spec, theta)
    return Engine(model, X, y, dtype=getattr(torch, dtype))


def _gap(model: torch.nn.Module, split: Any) -> float:
    """Train accuracy on the clean labels minus test accuracy."""
    from adapters.nets.data import digits
    from adapters.nets.engine import Engine
    from adapters.nets.losses import LossFunction
    from adapters.nets.params import ParamSpace

    data = digits(seed=0)
    point = ParamSpace(model).vector()
    train_acc = float(LossFunction(Engine(model, *split)).accuracy(point[None])[0])
    test_acc = float(LossFunction(Engine(model, data.X_test, data.y_test)).accuracy(point[None])[0])
    return train_acc - test_acc


#: A network whose clean training loss reaches this has diverged; it is left out of the fit.
DIVERGED = 50.0


def persistence(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Total persistence of each network's landscape against its generalization gap
    (Def 6.1/6.2): fits per summary variant and sampling radius (issue 5)."""
    from adapters.nets.engine import Engine
    from adapters.nets.losses import LossFunction
    from adapters.nets.params import ParamSpace
    from adapters.studies.persistence_study import StudyNetwork, StudySettings, persistence_study

    specs = [_gap_spec(i, seed, plan.persistence_epochs) for i in range(plan.persistence_networks)]
    items = [WorkItem(f"persistence-net/{digest(spec)}", train_gap, (spec,)) for spec in specs]
    trained = run_items(items, executor or LocalExecutor(0, threads=None), store, progress,
                        desc="train ensemble")  # fmt: skip
    dtype = "float64" if min(plan.persistence_radii) < 0.03 else "float32"
    nets, splits = [], {}
    for i, (spec, item) in enumerate(zip(specs, items)):
        theta = trained[item.key]["theta"]
        model, split = _gap_model(spec, theta)
        nets.append(StudyNetwork(f"n{i}", model, _gap(model, split),
                                 recipe=(gap_engine, (spec, theta, dtype))))  # fmt: skip
        splits[id(model)] = split

    def engine_factory(model: torch.nn.Module) -> Engine:
        X, y = splits[id(model)]
        return Engine(model, X, y, dtype=getattr(torch, dtype))

    loss = {n.name: float(LossFunction(engine_factory(n.model), nonfinite="keep")(
        ParamSpace(n.model).vector()[None])[0]) for n in nets}  # fmt: skip
    kept = [n for n in nets if math.isfinite(loss[n.name]) and loss[n.name] < DIVERGED]
    settings = StudySettings(radii=plan.persistence_radii, n_samples=plan.persistence_samples,
                             dim=plan.persistence_dim, seed=seed)  # fmt: skip
    result = persistence_study(kept, engine_factory, settings, cache=store, progress=progress,
                               executor=executor)  # fmt: skip
    out = result.to_json()
    out["networks"] = [{"name": n.name, "gap": n.gap, "train_loss": loss[n.name], **spec}
                       for n, spec in zip(nets, specs)]  # fmt: skip
    out["excluded"] = [{"name": n.name, "train_loss": loss[n.name],
                        "reason": f"training diverged (loss >= {DIVERGED:g})"}
                       for n in nets if n not in kept]  # fmt: skip
    out["report"] = result.report()
    return out


def limits(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Does the linearized learning functor preserve the multi-task pullback (Def 4.1,
    the paper's open question 1)? Two-task digits models, before and after training."""
    from adapters.studies.limits_study import digits_limits

    say = (lambda line: print(f"  {line}", flush=True)) if progress else None
    result = digits_limits(probe=plan.limits_probe, epochs=plan.limits_epochs, seed=seed,
                           at_init=True, say=say)  # fmt: skip
    result["settings"] = result.pop("config")
    result["paper"] = {"claim": "open question: does L preserve limits (multi-task)?"}
    return result


def federated(
    plan: Plan, seed: int, store: Store, progress: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """FedAvg on label-skewed digits clients with each server model the image of a
    colimit's mediating morphism (Def 4.4), against centralized training."""
    from adapters.studies.federated_study import federated_study

    say = (lambda line: _progress(True, line)) if progress else None
    return federated_study(rounds=plan.federated_rounds,
                           local_steps=plan.federated_local_steps, seed=seed, say=say)

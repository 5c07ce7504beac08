"""The studies of ``catcore reproduce``: each ``(plan, seed, store, progress) -> dict``.

Every function returns a JSON-ready section of ``results.json`` holding its measured
figures, its settings and the paper's numbers beside them. Long inner work goes through
``store`` so that it resumes after an interrupt (see :mod:`adapters.reproduce.run`).
"""

from __future__ import annotations

from typing import Any

import torch

from adapters.reproduce.plans import Plan
from adapters.store import Store, digest


def laws(plan: Plan, seed: int, store: Store, progress: bool) -> dict[str, Any]:
    """Every law suite on every built-in instance of catcore."""
    from adapters.cli.laws import law_table

    rows = law_table(plan.law_examples)
    return {"rows": rows, "all_ok": all(r["status"] == "ok" for r in rows),
            "settings": {"max_examples": plan.law_examples}}  # fmt: skip


def _verify(model: torch.nn.Module, steps: int, seed: int, train_mode: bool) -> dict[str, Any]:
    from adapters.data import digits
    from adapters.functor import LearningFunctor, verify_functor
    from adapters.param import Param
    from adapters.training import train

    flat = not any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    data = digits(seed=seed, flat=flat)
    X, y = data.X_train[:512], data.y_train[:512]
    runs = [train(model, (X, y), steps=steps, lr=0.05, batch_size=32, seed=seed + k,
                  record_every=max(1, steps // 5)).trajectory for k in range(2)]  # fmt: skip
    model.train(train_mode)
    P = Param(model, X, y, buffers="include", grid_size=17)
    L = LearningFunctor(P, probe=data.X_test[:128])
    return verify_functor(L, [P.trajectory(t) for t in runs]).to_json()


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
    import adapters.models

    return adapters.models


def functor(plan: Plan, seed: int, store: Store, progress: bool) -> dict[str, Any]:
    """Thm 2.6 on real training segments: the networks of ``plan.functor_cases`` (MLP, CNN
    and ResNet in eval mode; a train-mode BatchNorm network as the control that must fail)."""
    out = {}
    for name in plan.functor_cases:
        factory, train_mode = FUNCTOR_CASES[name]
        key = f"functor/{digest(name, plan.functor_steps, seed)}"
        hit = store.get(key)
        if hit is None:
            torch.manual_seed(seed)
            hit = _verify(factory(), plan.functor_steps, seed, train_mode)
            store.put(key, hit)
        out[name] = hit
    return {
        "cases": out,
        "paper": {"claim": "L preserves identities and composition (checked at 1e-5)"},
        "settings": {"steps_per_segment": plan.functor_steps, "segments": 2, "probe": 128},
    }


def homotopy(plan: Plan, seed: int, store: Store, progress: bool) -> dict[str, Any]:
    """Homotopy classes of a digits ensemble with shared-prefix spawning (issue 4)."""
    from adapters.homotopy_study import homotopy_study

    return homotopy_study(plan.homotopy_networks, eps=plan.eps, steps=plan.homotopy_steps,
                          seed=seed, curved=plan.homotopy_curved, store=store,
                          progress=progress)  # fmt: skip


def transfer(plan: Plan, seed: int, store: Store, progress: bool) -> dict[str, Any]:
    """Scratch vs fine-tuning vs pullback transfer on digits (Def 7.1/7.2)."""
    from adapters.transfer_study import run_transfer_study

    say = (lambda line: print(f"  {line}", flush=True)) if progress else None
    result = run_transfer_study(seeds=plan.transfer_seeds, epochs=plan.transfer_epochs,
                                source_epochs=plan.transfer_epochs, progress=say)  # fmt: skip
    result["settings"] = result.pop("config")
    return result


#: What varies across the persistence ensemble, so that generalization gaps differ.
_TRAIN_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
_DECAYS = (0.0, 1e-3)
_NOISE = (0.0, 0.2)
_LRS = (0.05, 0.2)


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


def _gap_network(spec: dict[str, Any], store: Store) -> tuple[torch.nn.Module, Any, float]:
    """Train (or load from ``store``) one network; returns it, its train split and its gap
    (train accuracy on the clean labels minus test accuracy)."""
    from adapters.data import digits
    from adapters.engine import Engine
    from adapters.models import mlp
    from adapters.params import ParamSpace
    from adapters.training import train

    data = digits(seed=0)
    n = max(20, int(round(spec["fraction"] * len(data.y_train))))
    X, y = data.X_train[:n], data.y_train[:n]
    torch.manual_seed(spec["seed"])
    model = mlp(64, (32,), 10)
    key = f"persistence-net/{digest(spec)}"
    hit = store.get(key)
    if hit is None:
        r = train(model, (X, y), optimizer="sgd", lr=spec["lr"], momentum=0.9,
                  weight_decay=spec["weight_decay"], label_noise=spec["label_noise"],
                  batch_size=32, epochs=spec["epochs"], seed=spec["seed"])  # fmt: skip
        hit = {"theta": r.theta.tolist()}
        store.put(key, hit)
    space = ParamSpace(model)
    space.load(model, torch.tensor(hit["theta"], dtype=torch.float32))
    point = space.vector()
    train_acc = float(Engine(model, X, y).accuracy(point))
    test_acc = float(Engine(model, data.X_test, data.y_test).accuracy(point))
    return model, (X, y), train_acc - test_acc


def persistence(plan: Plan, seed: int, store: Store, progress: bool) -> dict[str, Any]:
    """Total persistence of each network's landscape against its generalization gap
    (Def 6.1/6.2): fits per summary variant and sampling radius (issue 5)."""
    from adapters.engine import Engine
    from adapters.persistence_study import StudyNetwork, StudySettings, persistence_study

    specs = [_gap_spec(i, seed, plan.persistence_epochs) for i in range(plan.persistence_networks)]
    nets, splits = [], {}
    for i, spec in enumerate(specs):
        model, split, gap = _gap_network(spec, store)
        nets.append(StudyNetwork(f"n{i}", model, gap))
        splits[id(model)] = split
    dtype = torch.float64 if min(plan.persistence_radii) < 0.03 else torch.float32

    def engine_factory(model: torch.nn.Module) -> Engine:
        X, y = splits[id(model)]
        return Engine(model, X, y, dtype=dtype)

    settings = StudySettings(radii=plan.persistence_radii, n_samples=plan.persistence_samples,
                             seed=seed)  # fmt: skip
    result = persistence_study(nets, engine_factory, settings, cache=store, progress=progress)
    out = result.to_json()
    out["networks"] = [{"name": n.name, "gap": n.gap, **spec} for n, spec in zip(nets, specs)]
    out["report"] = result.report()
    return out


def limits(plan: Plan, seed: int, store: Store, progress: bool) -> dict[str, Any]:
    """Does the linearized learning functor preserve the multi-task pullback (Def 4.1,
    the paper's open question 1)? Two-task digits models, before and after training."""
    from adapters.multitask import digits_limits

    say = (lambda line: print(f"  {line}", flush=True)) if progress else None
    result = digits_limits(probe=plan.limits_probe, epochs=plan.limits_epochs, seed=seed,
                           at_init=True, progress=say)  # fmt: skip
    result["settings"] = result.pop("config")
    result["paper"] = {"claim": "open question: does L preserve limits (multi-task)?"}
    return result

"""Federated averaging on label-skewed digits clients, with each server model built as the
image of a colimit's mediating morphism (Def 4.4, :mod:`adapters.constructions.federated`),
against centralized training on the same data. See ``docs/theory.md``, "Def 4.4".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from adapters.constructions.federated import label_skew, representation_defect, server_step
from adapters.nets.data import digits
from adapters.nets.metrics import accuracy
from adapters.nets.models import mlp
from adapters.nets.params import ParamSpace
from adapters.nets.training import train


def federated_study(
    clients: int = 5,
    classes_per_client: int = 2,
    rounds: int = 10,
    local_steps: int = 20,
    lr: float = 0.05,
    batch_size: int = 32,
    hidden: Sequence[int] = (32,),
    probe: int = 128,
    seed: int = 0,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """``rounds`` of FedAvg (``local_steps`` SGD steps per client per round, weights by
    client data size) and, beside it, centralized SGD with the same steps per round on
    all the clients' data. Per round: server test accuracy, the representation defect
    of the averaged model (penultimate activations on ``probe`` test images) and the
    client drift; their Spearman correlation over rounds. JSON-serializable."""
    say = say or (lambda _line: None)
    data = digits(seed=seed)
    parts = label_skew(data.y_train, clients, classes_per_client, seed=seed)
    torch.manual_seed(seed)
    model = mlp(data.X_train.shape[1], tuple(hidden), data.n_classes)
    space = ParamSpace(model)
    phi = _representation(model, data.X_test[:probe])
    theta = central = space.vector().double().numpy()
    sizes = [len(p) for p in parts]
    fit = {"lr": lr, "batch_size": batch_size, "steps": local_steps}
    out_rounds, out_central = [], []
    for r in range(rounds):
        local = [_local(model, theta, data.X_train[idx], data.y_train[idx], fit,
                        seed * 10_000 + r * clients + k) for k, idx in enumerate(parts)]
        step = server_step(theta, local, sizes)
        defect = representation_defect(phi, theta, local, sizes, step.theta)
        theta = step.theta
        central = _local(model, central, data.X_train, data.y_train, fit, seed + r)
        row = {"round": r + 1, "accuracy": _accuracy(model, space, theta, data), **defect}
        out_rounds.append(row)
        out_central.append({"round": r + 1, "accuracy": _accuracy(model, space, central, data)})
        say(f"round {r + 1}: federated {row['accuracy']:.3f}, centralized "
            f"{out_central[-1]['accuracy']:.3f}, defect {row['defect']:.3g}, "
            f"drift {row['drift']:.3g}")  # fmt: skip
    d, q = [x["defect"] for x in out_rounds], [x["drift"] for x in out_rounds]
    rho = float(stats.spearmanr(d, q).statistic) if rounds >= 3 else None
    return {
        "settings": {"clients": clients, "classes_per_client": classes_per_client,
                   "client_sizes": sizes, "rounds": rounds, "local_steps": local_steps,
                   "lr": lr, "batch_size": batch_size, "hidden": list(hidden),
                   "probe": probe, "seed": seed},  # fmt: skip
        "rounds": out_rounds,
        "centralized": out_central,
        "defect_vs_drift_spearman": rho,
        "paper": {"claim": "Def 4.4: federated averaging is a colimit"},
    }


def _local(model, theta, X, y, fit, seed) -> np.ndarray:
    """SGD from ``theta`` on ``(X, y)``; the trained point in float64."""
    start = torch.from_numpy(theta).to(torch.float32)
    r = train(model, (X, y), init=start, optimizer="sgd", seed=seed, **fit)
    return r.theta.double().numpy()


def _accuracy(model, space, theta, data) -> float:
    space.load(model, torch.from_numpy(theta).to(torch.float32))
    return accuracy(model, data.X_test, data.y_test)


def _representation(model: torch.nn.Module, probe: torch.Tensor) -> Callable[[Any], Any]:
    """``theta -> `` the penultimate activations of ``model`` at ``theta`` on ``probe``
    (float64, flattened)."""
    m64 = copy.deepcopy(model).double()
    space, x = ParamSpace(m64), probe.double()

    def phi(theta: torch.Tensor) -> torch.Tensor:
        space.load(m64, theta.to(torch.float64))
        return m64[:-1](x).reshape(-1)

    return phi


def plot_federated(result: dict[str, Any], path: str | Path) -> Path:
    """Test accuracy per round (federated against centralized) and the representation
    defect beside the client drift per round (log axis), as PNG (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    rounds = [x["round"] for x in result["rounds"]]
    left.plot(rounds, [x["accuracy"] for x in result["rounds"]], marker="o", label="federated")
    left.plot(rounds, [x["accuracy"] for x in result["centralized"]], marker="s",
              label="centralized")  # fmt: skip
    left.set_xlabel("round")
    left.set_ylabel("test accuracy")
    c = result["settings"]
    left.set_title(f"{c['clients']} clients, {c['classes_per_client']} labels each", fontsize=9)
    left.legend(fontsize=8)
    right.semilogy(rounds, [x["defect"] for x in result["rounds"]], marker="o",
                   label="representation defect")  # fmt: skip
    right.semilogy(rounds, [x["drift"] for x in result["rounds"]], marker="^",
                   label="client drift")  # fmt: skip
    right.set_xlabel("round")
    right.set_ylabel("relative to the server update")
    rho = result["defect_vs_drift_spearman"]
    right.set_title("colimit preservation defect and drift"
                    + ("" if rho is None else f" (Spearman {rho:.2f})"), fontsize=9)  # fmt: skip
    right.legend(fontsize=8)
    out = Path(path)
    fig.savefig(out, dpi=110)
    return out

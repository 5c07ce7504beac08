"""The pullback-transfer experiment on digits (``docs/transfer.md``, "The experiment").

Source task: digits 0-4. Targets: a new task in the same domain (digits 5-9, domain
morphism ``f = id``), and the same task in a new domain (digits 0-4 under a fixed pixel
permutation, related to the source domain by the known morphism ``f = unpermute``).
Conditions, all on one architecture
(:class:`~adapters.constructions.transfer.PullbackModel`) and one training budget (same epochs,
learning
rate and batch size):

- ``scratch``: random encoder, everything trains;
- ``finetune``: source encoder composed with ``f``, everything trains;
- ``pullback``: source encoder composed with ``f``, frozen; only the new head trains;
- ``pullback_cached``: the same, with the frozen features ``phi_S(f(x))`` computed once
  (valid because nothing before the head trains);
- on the permuted domain also ``pullback_wrong_f`` (``f = id``: the domain morphism
  ignored) and ``pullback_learned_f`` (``f`` an ``nn.Linear`` initialized at the
  identity, trained with the head).

Each condition reports test accuracy, wall time and the fraction of parameters trained
(mean and standard deviation over seeds; time both as wall clock and as process CPU
time, which other load on the machine disturbs less), beside the paper's claim: 97.8% of
fine-tuning accuracy in 25% of its time, training 0.5% of the parameters. The fibre of the
restriction to the encoder over the source point
(:func:`adapters.constructions.transfer.fibre`) is computed over the first and last state of
every run and must hold exactly the pullback runs and the fine-tuning runs' initial states.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from adapters.constructions.dom import (
    Dom,
    Domain,
    DomainMap,
    learned_linear,
    random_permutation,
    unpermute,
)
from adapters.constructions.transfer import (
    PullbackModel,
    fibre,
    fibre_members,
    pullback_transfer,
    split_encoder,
    trained_fraction,
)
from adapters.nets.data import Split, digits
from adapters.nets.metrics import accuracy
from adapters.nets.models import mlp
from adapters.nets.training import TrainSettings, settings_with, train
from adapters.runtime.threads import limit_threads

#: The paper's claim for pullback transfer (Sec. 7): fractions of full fine-tuning.
PAPER = {"accuracy_ratio": 0.978, "time_ratio": 0.25, "fraction_trained": 0.005}


def _targets(src: Split, tgt: Split, perm: Sequence[int], probe: int) -> dict[str, Any]:
    """The two target tasks: their data and their domain morphisms into the source domain."""
    D_S = Domain("digits 0-4", (64,), src.X_test[:probe])
    D_T = Domain("digits 5-9", (64,), tgt.X_test[:probe])
    D_P = Domain("digits 0-4 permuted", (64,), src.X_test[:probe][:, perm])
    return {
        "digits5-9": {
            "data": (tgt.X_train, tgt.y_train, tgt.X_test, tgt.y_test),
            "f": {"f": Dom.morphism(D_T, D_S, nn.Identity())},
        },
        "digits0-4-permuted": {
            "data": (src.X_train[:, perm], src.y_train, src.X_test[:, perm], src.y_test),
            "f": {
                "f": unpermute(D_P, D_S, perm),
                "wrong_f": Dom.morphism(D_P, D_S, nn.Identity()),
                "learned_f": learned_linear(D_P, D_S),
            },
        },
    }


def _conditions(maps: Mapping[str, DomainMap]) -> list[tuple[str, str, bool, bool]]:
    """``(condition, which f, frozen, cached)`` for one target."""
    out = [
        ("scratch", "f", False, False),
        ("finetune", "f", False, False),
        ("pullback", "f", True, False),
        ("pullback_cached", "f", True, True),
    ]
    if "wrong_f" in maps:
        out.append(("pullback_wrong_f", "wrong_f", True, False))
    if "learned_f" in maps:
        out.append(("pullback_learned_f", "learned_f", True, False))
    return out


def _build(
    source: nn.Sequential, f: DomainMap, frozen: bool, scratch: bool, seed: int
) -> PullbackModel:
    """The model of one condition; ``scratch`` ignores ``f`` and trains on raw inputs."""
    if not scratch:
        return pullback_transfer(source, f, 5, seed=seed, freeze=frozen)
    with torch.random.fork_rng():
        torch.manual_seed(10_000 + seed)
        fresh = mlp(64, [m.out_features for m in source if isinstance(m, nn.Linear)][:-1], 5)
    return PullbackModel(nn.Identity(), *split_encoder(fresh), freeze=False)


def _train(
    model: PullbackModel, X: Tensor, y: Tensor, cached: bool, seed: int, fit: TrainSettings
) -> tuple[float, float]:
    """Train one condition; ``(wall seconds, process CPU seconds)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    if cached:
        with torch.no_grad():
            X = model.representation(X)
    train(model.head if cached else model, (X, y), settings_with(fit, seed=seed))
    return time.perf_counter() - wall, time.process_time() - cpu


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("accuracy", "seconds", "cpu_seconds", "fraction_trained"):
        vals = [r[key] for r in runs]
        out[key] = statistics.fmean(vals)
        out[key + "_std"] = statistics.pstdev(vals)
    out["seconds_median"] = statistics.median(r["seconds"] for r in runs)
    out["cpu_seconds_median"] = statistics.median(r["cpu_seconds"] for r in runs)
    out["per_seed"] = runs
    return out


def _ratios(conds: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    ft = conds["finetune"]
    out = {}
    for name in conds:
        if name.startswith("pullback"):
            out[f"{name}/finetune accuracy"] = conds[name]["accuracy"] / ft["accuracy"]
            out[f"{name}/finetune time"] = conds[name]["seconds_median"] / ft["seconds_median"]
            out[f"{name}/finetune cpu time"] = (
                conds[name]["cpu_seconds_median"] / ft["cpu_seconds_median"]
            )
    return out


def run_transfer_study(
    encoders: Mapping[str, Sequence[int]] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 30,
    source_epochs: int = 30,
    lr: float = 1e-2,
    batch_size: int = 64,
    threads: int | None = 1,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the experiment (module docstring) and return a JSON-serializable dict.

    ``encoders`` maps a name to the hidden widths of the source MLP (default: a wide
    shallow ``(256,)`` and a deeper ``(128, 64)`` encoder). ``threads`` fixes torch's CPU
    threads while timing (restored afterwards; ``None`` leaves them). ``say`` receives
    one line per finished run.
    """
    encoders = dict(encoders or {"wide (256,)": (256,), "deep (128, 64)": (128, 64)})
    say = say or (lambda _line: None)
    with limit_threads(threads):
        src = digits(classes=range(5), standardize=False)
        tgt = digits(classes=range(5, 10), standardize=False)
        perm = random_permutation(64, seed=0)
        kw = {"epochs": epochs, "lr": lr, "batch_size": batch_size}
        fit = TrainSettings(optimizer="adam", **kw)
        result: dict[str, Any] = {
            "config": {
                "encoders": {k: list(v) for k, v in encoders.items()},
                "seeds": list(seeds),
                "source_epochs": source_epochs,
                "threads": threads,
                "data": f"source {src!r}; targets {tgt!r}, source permuted; pixels in [0, 1]",
                "permutation": perm,
                **kw,
            },
            "paper": PAPER,
            "encoders": {},
        }
        for enc_name, hidden in encoders.items():
            result["encoders"][enc_name] = _one_encoder(
                src, tgt, perm, hidden, seeds, source_epochs, fit, say
            )
        return result


def _one_encoder(src, tgt, perm, hidden, seeds, source_epochs, fit, say) -> dict[str, Any]:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        source = mlp(64, tuple(hidden), 5)
    src_log = train(source, (src.X_train, src.y_train), settings_with(fit, epochs=source_epochs))
    out: dict[str, Any] = {
        "source": {"test_accuracy": accuracy(source, src.X_test, src.y_test),
                   "seconds": src_log.seconds},  # fmt: skip
        "targets": {},
    }
    say(f"[{hidden}] source 0-4: accuracy {out['source']['test_accuracy']:.4f}")
    encoder, _ = split_encoder(source)
    source_state = {f"encoder.{k}": v.clone() for k, v in encoder.state_dict().items()}
    frozen_keys = list(source_state)
    for t_name, target in _targets(src, tgt, perm, probe=32).items():
        X_train, y_train, X_test, y_test = target["data"]
        runs: dict[str, list[dict[str, float]]] = {}
        states: dict[str, dict[str, Tensor]] = {}
        for cond, which, frozen, cached in _conditions(target["f"]):
            runs[cond] = []
            for seed in seeds:
                model = _build(source, target["f"][which], frozen, cond == "scratch", seed)
                if seed == seeds[0]:
                    states[f"{cond}/start"] = _snapshot(model)
                secs, cpu = _train(model, X_train, y_train, cached, seed, fit)
                if seed == seeds[0]:
                    states[f"{cond}/end"] = _snapshot(model)
                acc = accuracy(model, X_test, y_test)
                runs[cond].append({"seed": seed, "accuracy": acc, "seconds": secs,
                                   "cpu_seconds": cpu,
                                   "fraction_trained": trained_fraction(model)})  # fmt: skip
                say(f"[{hidden}] {t_name} {cond} seed {seed}: acc {acc:.4f}, {secs:.2f} s")
        conds = {c: _summary(r) for c, r in runs.items()}
        members = sorted(map(str, fibre_members(fibre(states, frozen_keys, source_state))))
        expected = sorted(k for k in states if k.startswith("pullback") or k == "finetune/start")
        out["targets"][t_name] = {
            "domain_morphisms": {k: repr(v) for k, v in target["f"].items()},
            "conditions": conds,
            "ratios": _ratios(conds),
            "fibre": {"members": members, "as_expected": members == expected},
        }
    return out


def _snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def plot_transfer_study(result: Mapping[str, Any], path: str | Path) -> Path:
    """Bar charts (accuracy, median wall time, fraction trained) per encoder and target,
    written to ``path`` as PNG with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(e, t, res) for e, enc in result["encoders"].items()
              for t, res in enc["targets"].items()]  # fmt: skip
    if not panels:
        raise ValueError("result holds no targets to plot")
    metrics = [("accuracy", "test accuracy"), ("seconds_median", "wall time [s]"),
               ("fraction_trained", "fraction trained")]  # fmt: skip
    fig, axes = plt.subplots(len(panels), 3, figsize=(15, 3.2 * len(panels)), squeeze=False)
    for row, (enc, tgt, res) in zip(axes, panels):
        names = list(res["conditions"])
        for ax, (key, label) in zip(row, metrics):
            vals = [res["conditions"][n][key] for n in names]
            errs = [res["conditions"][n].get(key + "_std", 0.0) for n in names]
            colors = ["C0" if n in ("scratch", "finetune") else "C2" for n in names]
            ax.bar(range(len(names)), vals, yerr=errs if key == "accuracy" else None, color=colors)
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
            ax.set_title(f"{enc} | {tgt}: {label}", fontsize=9)
            if key == "fraction_trained":
                ax.set_yscale("log")
                ax.axhline(PAPER["fraction_trained"], color="k", ls="--", lw=1, label="paper")
                ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

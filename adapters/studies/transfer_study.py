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

Each condition reports test accuracy and the fraction of parameters trained (mean and
standard deviation over seeds) and its training time (median and quartiles over seeds x
repeats; wall clock and process CPU time, which other load on the machine disturbs less).
Ratios to fine-tuning pair timings of the same seed and repeat. Beside them the paper's
claim: 97.8% of fine-tuning accuracy in 25% of its time, training 0.5% of the parameters.
The fibre of the restriction to the encoder over the source point
(:func:`adapters.constructions.transfer.fibre`) is computed over the first and last state
of every run and must hold exactly the pullback runs and the fine-tuning runs' initial
states.
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


def _quartiles(values: Sequence[float]) -> list[float]:
    """``[first quartile, median, third quartile]`` of ``values``."""
    if len(values) == 1:
        return [values[0]] * 3
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return [q1, q2, q3]


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds of accuracy and fraction trained; the
    quartiles of every timing (seeds x repeats) of wall and CPU time."""
    out: dict[str, Any] = {}
    for key in ("accuracy", "fraction_trained"):
        vals = [r[key] for r in runs]
        out[key] = statistics.fmean(vals)
        out[key + "_std"] = statistics.pstdev(vals)
    for key in ("seconds", "cpu_seconds"):
        q1, median, q3 = _quartiles([t for r in runs for t in r[key]])
        out[key + "_median"], out[key + "_iqr"] = median, [q1, q3]
    out["timings"] = sum(len(r["seconds"]) for r in runs)
    out["per_seed"] = runs
    return out


def _ratios(conds: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every condition against fine-tuning: the accuracy ratio (of the means over seeds)
    and the time ratios, each the median of the paired ratios (the condition's timing over
    fine-tuning's in the same seed and repeat), with their quartiles under ``... iqr``."""
    ft = conds["finetune"]
    out: dict[str, Any] = {}
    for name, c in conds.items():
        if name == "finetune":
            continue
        out[f"{name}/finetune accuracy"] = c["accuracy"] / ft["accuracy"]
        for key, label in (("seconds", "time"), ("cpu_seconds", "cpu time")):
            paired = [a / b for r, f in zip(c["per_seed"], ft["per_seed"])
                      for a, b in zip(r[key], f[key])]  # fmt: skip
            q1, median, q3 = _quartiles(paired)
            out[f"{name}/finetune {label}"] = median
            out[f"{name}/finetune {label} iqr"] = [q1, q3]
    return out


def run_transfer_study(
    encoders: Mapping[str, Sequence[int]] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 30,
    source_epochs: int = 30,
    lr: float = 1e-2,
    batch_size: int = 64,
    threads: int | None = 1,
    repeats: int = 1,
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
                "repeats": repeats,
                "data": f"source {src!r}; targets {tgt!r}, source permuted; pixels in [0, 1]",
                "permutation": perm,
                **kw,
            },
            "paper": PAPER,
            "encoders": {},
        }
        for enc_name, hidden in encoders.items():
            result["encoders"][enc_name] = _one_encoder(
                src, tgt, perm, hidden, seeds, source_epochs, fit, repeats, say
            )
        return result


def _one_encoder(src, tgt, perm, hidden, seeds, source_epochs, fit, repeats, say) -> dict[str, Any]:
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
        conditions = _conditions(target["f"])
        runs: dict[str, list[dict[str, Any]]] = {c[0]: [] for c in conditions}
        states: dict[str, dict[str, Tensor]] = {}
        for seed in seeds:
            for rep in range(repeats):
                for cond, which, frozen, cached in conditions:
                    model = _build(source, target["f"][which], frozen, cond == "scratch", seed)
                    first = seed == seeds[0] and rep == 0
                    if first:
                        states[f"{cond}/start"] = _snapshot(model)
                    secs, cpu = _train(model, X_train, y_train, cached, seed, fit)
                    if first:
                        states[f"{cond}/end"] = _snapshot(model)
                    if rep == 0:
                        acc = accuracy(model, X_test, y_test)
                        frac = trained_fraction(model)
                        runs[cond].append({"seed": seed, "accuracy": acc, "seconds": [],
                                           "cpu_seconds": [], "fraction_trained": frac})
                        say(f"[{hidden}] {t_name} {cond} seed {seed}: acc {acc:.4f}, "
                            f"{secs:.2f} s")  # fmt: skip
                    runs[cond][-1]["seconds"].append(secs)
                    runs[cond][-1]["cpu_seconds"].append(cpu)
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
    """One row per encoder and target, each condition against fine-tuning: accuracy ratio
    (bars labelled with their value, the paper's 97.8% dashed), time ratio (median of the
    paired timings with its quartiles, the paper's 25% dashed) and fraction of parameters
    trained (log axis, the paper's 0.5% dashed). Written to ``path`` as PNG (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [(e, t, res) for e, enc in result["encoders"].items()
              for t, res in enc["targets"].items()]  # fmt: skip
    if not panels:
        raise ValueError("result holds no targets to plot")
    fig = Figure(figsize=(13, 2.9 * len(panels)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 3, squeeze=False)
    for row, (enc, tgt, res) in zip(axes, panels):
        _plot_ratios(row, enc, tgt, res)
    out = Path(path)
    fig.savefig(out, dpi=110)
    return out


def _plot_ratios(row: Sequence[Any], enc: str, tgt: str, res: Mapping[str, Any]) -> None:
    conds, r = res["conditions"], res["ratios"]
    names = [n for n in conds if n != "finetune"]
    ft = conds["finetune"]
    colors = ["C0" if n == "scratch" else "C2" for n in names]
    x = range(len(names))
    acc = [r[f"{n}/finetune accuracy"] for n in names]
    ax = row[0]
    ax.bar(x, acc, color=colors)
    for i, v in enumerate(acc):
        ax.text(i, v, f"{100 * v:.1f}%", ha="center", va="bottom", fontsize=7)
    ax.axhline(PAPER["accuracy_ratio"], color="k", ls="--", lw=1, label="paper 97.8%")
    low, high = min(0.95, min(acc) - 0.02), max(1.0, max(acc))
    ax.set_ylim(low, high + 0.1 * (high - low))  # room for the labels
    ax.set_ylabel("accuracy / fine-tune")
    ax.set_title(f"{enc} | {tgt}: accuracy (fine-tune {ft['accuracy']:.3f})", fontsize=9)
    time = [r[f"{n}/finetune time"] for n in names]
    iqr = [r[f"{n}/finetune time iqr"] for n in names]
    err = [[t - q[0] for t, q in zip(time, iqr)], [q[1] - t for t, q in zip(time, iqr)]]
    row[1].bar(x, time, yerr=err, color=colors, capsize=3)
    row[1].axhline(PAPER["time_ratio"], color="k", ls="--", lw=1, label="paper 25%")
    row[1].set_ylabel("time / fine-tune")
    row[1].set_title(f"time: median, quartiles of {ft['timings']} paired timings "
                     f"(fine-tune {ft['seconds_median']:.2f} s)", fontsize=9)  # fmt: skip
    row[2].bar(x, [conds[n]["fraction_trained"] for n in names], color=colors)
    row[2].set_yscale("log")
    row[2].axhline(PAPER["fraction_trained"], color="k", ls="--", lw=1, label="paper 0.5%")
    row[2].set_ylabel("fraction trained")
    row[2].set_title("parameters trained (fine-tune: all)", fontsize=9)
    for ax in row:
        ax.set_xticks(list(x), names, rotation=25, ha="right", fontsize=8)
        ax.legend(fontsize=7, loc="best")

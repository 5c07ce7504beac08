"""``catcore verify`` on a zoo of users' networks: verdict, modules named, time and peak
memory, each run in a fresh process (the table of ``docs/verify.md``).

Run: ``python -m pytest tests/benchmarks/bench_verify_zoo.py --run-benchmarks -s -q``
(about 20 minutes on 2 cores, most of it the two large networks; ``-k small``: the seven
small ones, a minute). Peak memory is the process's maximum resident set size; for the
large networks also as a multiple of one float64 copy of the parameter vector, and for the
ResNet-18-sized one at two grids (memory flat in the grid means a ratio near 1). Only the
verdicts are asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from measure import measured

pytest.importorskip("transformers")

TESTS = Path(__file__).resolve().parents[1]
F = str(TESTS / "verify_factories.py")
Z = str(TESTS / "benchmarks" / "zoo_factories.py")
SMALL = ("--steps", "8", "--probe", "32", "--grid", "9", "--samples", "128")

#: (label, model, data or None, also in train mode?): eval mode must be functorial, train
#: mode not
ZOO = [
    ("digits MLP", f"{F}:small_mlp", None, False),
    ("digits CNN, BatchNorm", f"{F}:small_cnn", None, True),
    ("LSTM on token ids, dropout 0.5", f"{F}:lstm", f"{F}:token_data", True),
    ("HF BERT on token ids", f"{F}:hf_bert", f"{F}:token_data", True),
    ("HF GPT-2 on token ids", f"{F}:hf_gpt2", f"{F}:sequence_labels", True),
    ("HF ResNet, BatchNorm", f"{F}:hf_resnet", None, True),
    ("HF ViT, dropout", f"{F}:hf_vit", None, True),
]
#: (label, model, grids): the ResNet-18-sized one at two grids (memory flat in the grid)
LARGE = [
    ("ResNet-18-sized (HF ResNet)", f"{Z}:resnet18", (9, 33)),
    ("ViT-B/16-sized (HF ViT)", f"{Z}:vit_b16", (9,)),
]


def verify(*args: str) -> dict:
    return measured("verify", *args)


def _row(label: str, mode: str, r: dict) -> str:
    verdict = "functorial" if r["functorial"] else "NOT functorial"
    kinds: dict[str, int] = {}
    for c in r["culprits"]:
        if c["breaks"]:
            kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    named = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "-"
    seconds = sum(r["seconds"].values())
    copies = r["peak_mb"] * 2**20 / (8 * r["coordinates"])
    memory = f"{r['peak_mb']:.0f} MB" + (f" ({copies:.1f} theta)" if copies < 100 else "")
    return (f"| {label} | {r['parameters']:,} | {mode} | {verdict} | {named} | "
            f"{seconds:.0f} s | {memory} |")  # fmt: skip


HEADER = (
    "\n| network | parameters | mode | verdict | modules responsible | time | peak memory |\n"
    "| --- | --- | --- | --- | --- | --- | --- |"
)


@pytest.mark.benchmark
def test_verify_zoo_small() -> None:
    print(HEADER)
    for label, model, data, train_mode in ZOO:
        given = ("--data", data) if data else ()
        modes = [("eval", ())] + ([("train", ("--train-mode",))] if train_mode else [])
        for mode, flag in modes:
            r = verify("--model", model, *given, *SMALL, *flag)
            assert r["functorial"] == (mode == "eval"), (label, mode, r["diagnosis"])
            print(_row(label, mode, r), flush=True)


@pytest.mark.benchmark
def test_verify_zoo_large() -> None:
    print(HEADER)
    for label, model, grids in LARGE:
        runs = {g: verify("--model", model, "--steps", "4", "--probe", "32", "--grid", str(g))
                for g in grids}  # fmt: skip
        assert all(r["functorial"] for r in runs.values()), label
        for g, r in runs.items():
            print(_row(f"{label}, grid {g}", "eval", r), flush=True)
        if len(grids) > 1:
            ratio = runs[grids[-1]]["peak_mb"] / runs[grids[0]]["peak_mb"]
            print(f"peak memory of {label}, grid {grids[-1]} / grid {grids[0]}: {ratio:.2f}x")


def _recorded_run(folder: Path, seed: int) -> str:
    """Three checkpoints of the ResNet-18-sized network: its initialization moved twice
    along random directions of relative size 1e-2 (a run's worth of distance)."""
    import torch
    import zoo_factories

    folder.mkdir()
    model = zoo_factories.resnet18()
    g = torch.Generator().manual_seed(seed)
    for step in (0, 10, 20):
        torch.save(model.state_dict(), folder / f"step_{step}.pt")
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1e-2 * p.abs().mean() * torch.randn(p.shape, generator=g))
    return str(folder)


@pytest.mark.benchmark
def test_twofunctor_memory_on_the_resnet18_sized_network(tmp_path) -> None:
    """Thm 5.3 (``--against``) at 9 and 33 positions: the peak memory of the whole verify
    command, flat in the positions."""
    a, b = _recorded_run(tmp_path / "a", 1), _recorded_run(tmp_path / "b", 2)
    runs = {k: verify("--model", f"{Z}:resnet18", "--run", a, "--against", b, "--layer",
                      "classifier", "--probe", "32", "--grid", "9", "--positions", str(k))
            for k in (9, 33)}  # fmt: skip
    for k, r in runs.items():
        t = r["twofunctor"]
        print(f"\nResNet-18-sized, Thm 5.3 at {k} positions: residual max {t['max_residual']:.3g}"
              f", median {t['median_residual']:.3g}; {sum(r['seconds'].values()):.0f} s, peak "
              f"{r['peak_mb']:.0f} MB ({r['peak_mb'] * 2**20 / (8 * r['coordinates']):.1f} "
              "theta)")  # fmt: skip
    print(f"peak memory, 33 / 9 positions: {runs[33]['peak_mb'] / runs[9]['peak_mb']:.2f}x")

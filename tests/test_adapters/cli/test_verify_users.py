"""``catcore verify`` on users' own networks, data, losses and training runs: token ids,
Datasets and DataLoaders, tuple outputs, Hugging Face models, recorded checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import adapters.cli as cli

HERE = Path(__file__).resolve().parents[2]
F = str(HERE / "verify_factories.py")
FAST = ("--steps", "4", "--probe", "24", "--grid", "9", "--samples", "96")


@pytest.fixture
def catcore(monkeypatch, capsys):
    monkeypatch.setattr(cli, "SUBCOMMANDS", ("verify",))

    def invoke(*args: str) -> tuple[int, str, str]:
        status = cli.main(["verify", *FAST, *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def factories():
    import importlib.util

    spec = importlib.util.spec_from_file_location("verify_factories_here", F)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("data", ["token_data", "token_dataset", "token_loader"])
def test_token_ids_in_every_container_are_verified(catcore, data):
    status, out, _ = catcore("--model", f"{F}:lstm", "--data", f"{F}:{data}", "--json")
    result = json.loads(out)
    assert status == 0 and result["functorial"], result["diagnosis"]
    assert result["input_dtype"] == "int64" and result["input"] == "6"
    assert result["probe"] == 24 and result["samples"] == 96 and result["grid"] == 9
    assert result["parameters"] == sum(p.numel() for p in factories().lstm().parameters())


def test_lstm_dropout_in_train_mode_is_named(catcore):
    status, out, _ = catcore("--model", f"{F}:lstm", "--data", f"{F}:token_data",
                             "--train-mode", "--json")  # fmt: skip
    result = json.loads(out)
    assert status == 1 and result["responsible"] == ["lstm"]


def test_the_users_loss_defines_the_loss(catcore, tmp_path):
    """Zero weights give zero logits; the 2-class hinge loss is then (C-1)/C = 1/2."""
    net = factories().lstm()
    torch.save({k: torch.zeros_like(v) for k, v in net.state_dict().items()}, tmp_path / "z.pt")
    status, out, _ = catcore("--model", f"{F}:lstm", "--data", f"{F}:token_loader", "--loss",
                             f"{F}:margin_loss", "--checkpoint", str(tmp_path / "z.pt"),
                             "--json")  # fmt: skip
    assert status == 0
    assert json.loads(out)["start_loss"] == pytest.approx(0.5, abs=1e-12)


def test_a_recorded_run_is_the_morphism_verified(catcore, tmp_path):
    """Checkpoints written by a plain torch loop; the start loss is recomputed here."""
    fac = factories()
    net, (X, y) = fac.lstm(), fac.token_data()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net.eval()  # no dropout in the run: the checkpoints are what the loop wrote
    for step in range(11):
        if step % 5 == 0:
            torch.save(net.state_dict(), tmp_path / f"step_{step}.pt")
        opt.zero_grad()
        nn.functional.cross_entropy(net(X[:96]), y[:96]).backward()
        opt.step()
    first = fac.lstm().eval()
    first.load_state_dict(torch.load(tmp_path / "step_0.pt"))
    with torch.no_grad():
        start = float(nn.functional.cross_entropy(first.double()(X[:96]), y[:96]))
    status, out, _ = catcore("--model", f"{F}:lstm", "--data", f"{F}:token_data", "--run",
                             str(tmp_path / "step_*.pt"), "--json")  # fmt: skip
    result = json.loads(out)
    assert status == 0 and result["functorial"]
    assert result["run"].endswith("(3 checkpoints)")
    assert result["start_loss"] == pytest.approx(start, rel=1e-12)
    assert result["end_loss"] < start
    assert result["structure"]["times"] >= 9 and result["structure"]["k_star"] is not None


def test_a_run_that_stands_still_preserves_structure_at_every_scale(catcore, tmp_path):
    """Def 2.4 along a constant run: no pair of probe samples moves apart."""
    net = factories().lstm()
    for step in (0, 10):
        torch.save(net.state_dict(), tmp_path / f"step_{step}.pt")
    status, out, _ = catcore("--model", f"{F}:lstm", "--data", f"{F}:token_data", "--run",
                             str(tmp_path / "step_*.pt"), "--json")  # fmt: skip
    s = json.loads(out)["structure"]
    assert status == 0 and s["k_star"] is None and s["violating_pairs"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("--data", f"{F}:token_data", "--probe", "500"), "--probe 500 is more than the 160"),
        (("--data", f"{F}:token_data", "--loss", f"{F}:not_a_loss"), "must return a scalar"),
        (("--data", f"{F}:unlabelled_loader"), "need one of"),
        (("--data", f"{F}:lstm"), "returned Recurrent"),
        (("--data", f"{F}:token_data", "--run", "/nonexistent/*.pt"), "names 0 checkpoint"),
        (("--data", f"{F}:token_data", "--layer", "lstm.nope"), "has no field 'nope'"),
    ],
)
def test_bad_user_input_exits_2(catcore, args, message):
    status, out, err = catcore("--model", f"{F}:lstm", *args)
    assert status == 2 and out == "" and message in err and "Traceback" not in err


def test_a_checkpoint_with_a_prefix_gets_a_hint(catcore, tmp_path):
    state = {f"module.{k}": v for k, v in factories().small_mlp().state_dict().items()}
    torch.save(state, tmp_path / "dp.pt")
    status, _, err = catcore("--model", f"{F}:small_mlp", "--checkpoint", str(tmp_path / "dp.pt"))
    assert status == 2 and "carry the prefix 'module.'" in err


def test_an_internal_error_exits_3_in_one_line(catcore):
    status, out, err = catcore("--model", f"{F}:fails_later")
    assert status == 3 and out == ""
    assert "internal error: RuntimeError: flaky forward" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "model, data, random",
    [
        ("hf_bert", "token_data", nn.Dropout),
        ("hf_gpt2", "sequence_labels", nn.Dropout),
        ("hf_vit", None, nn.Dropout),
        ("hf_resnet", None, nn.BatchNorm2d),
    ],
)
def test_hugging_face_models(catcore, model, data, random):
    """Eval mode is functorial; train mode names every module of the random (or batch
    coupled) class, and beyond them only attention blocks (dropout on attention weights is
    a functional call inside them)."""
    pytest.importorskip("transformers")
    net = getattr(factories(), model)()
    modules = dict(net.named_modules())
    expected = {n for n, m in modules.items() if isinstance(m, random)}
    given = ("--data", f"{F}:{data}") if data else ()
    status, out, _ = catcore("--model", f"{F}:{model}", *given, "--json")
    assert status == 0 and json.loads(out)["functorial"]
    status, out, _ = catcore("--model", f"{F}:{model}", *given, "--json", "--train-mode")
    result = json.loads(out)
    assert status == 1 and expected <= set(result["responsible"])
    others = set(result["responsible"]) - expected
    assert all("Attention" in type(modules[n]).__name__ for n in others), others
    if model in ("hf_bert", "hf_vit"):  # attention_probs_dropout_prob > 0 in their configs
        assert others


# -- Thm 5.3: --against a second recorded run -------------------------------------------------


def _run(folder: Path, seeds: tuple[int, ...], steps: tuple[int, ...]) -> str:
    """Checkpoints of mlp8 under ``seeds`` saved at ``steps``: a polygonal run."""
    folder.mkdir()
    fac = factories()
    for seed, step in zip(seeds, steps):
        torch.manual_seed(seed)
        torch.save(fac.mlp8().state_dict(), folder / f"step_{step}.pt")
    return str(folder)


def _against(catcore, run: str, other: str, *extra: str) -> tuple[int, dict]:
    status, out, _ = catcore("--model", f"{F}:mlp8", "--run", run, "--against", other,
                             "--json", *extra)  # fmt: skip
    return status, json.loads(out)["twofunctor"]


def test_the_same_polygon_at_other_times_is_exactly_affine_by_arclength(catcore, tmp_path):
    """The same checkpoints recorded at steps 0, 10, 20 and 0, 1, 20: one path,
    reparametrized. By arc length every position meets itself (A = I, residual 0); by
    time the positions differ and so do the representations."""
    run = _run(tmp_path / "a", (1, 2, 3), (0, 10, 20))
    other = _run(tmp_path / "b", (1, 2, 3), (0, 1, 20))
    status, r = _against(catcore, run, other)
    assert status == 0 and r["max_residual"] < 1e-9 and len(r["residuals"]) == 17
    _, by_time = _against(catcore, run, other, "--align", "time", "--positions", "5")
    assert by_time["max_residual"] > 1e-3 and len(by_time["residuals"]) == 5


def test_a_run_elsewhere_is_not_affinely_related(catcore, tmp_path):
    run = _run(tmp_path / "a", (1, 2, 3), (0, 10, 20))
    other = _run(tmp_path / "b", (4, 5, 6), (0, 10, 20))
    status, r = _against(catcore, run, other)
    assert status == 0 and r["max_residual"] > 1e-3 and r["width"] == 8


def test_against_needs_a_run_and_enough_probe_samples(catcore, tmp_path):
    run = _run(tmp_path / "a", (1, 2), (0, 10))
    status, _, err = catcore("--model", f"{F}:mlp8", "--against", run)
    assert status == 2 and "give the first with --run" in err
    status, _, err = catcore("--model", f"{F}:mlp8", "--run", run, "--against", run,
                             "--probe", "8")  # fmt: skip
    assert status == 2 and "narrower --layer" in err and "Traceback" not in err

"""``catcore verify``: exit status 0/1/2, the JSON it prints, and clear messages on bad input.
Factories live in tests/verify_factories.py, addressed by file path or by module name."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import adapters.cli as cli
from adapters.nets.models import mlp

HERE = Path(__file__).resolve().parents[2]  # tests/, where the factories live
FACTORIES = str(HERE / "verify_factories.py")


@pytest.fixture
def catcore(monkeypatch, capsys):
    """Run ``catcore verify ARGS`` through the real entry point; returns (status, out, err)."""
    monkeypatch.setattr(cli, "SUBCOMMANDS", ("verify",))

    def invoke(*args: str) -> tuple[int, str, str]:
        status = cli.main(["verify", "--steps", "4", "--probe", "24", "--grid", "9", *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def as_json(out: str) -> dict:
    data = json.loads(out)
    assert isinstance(data["functorial"], bool)
    assert isinstance(data["identity_defect"], float)
    assert isinstance(data["composition_defect"], float)
    assert isinstance(data["diagnosis"], list)
    assert all(isinstance(d, str) for d in data["diagnosis"])
    return data


def test_mlp_passes(catcore):
    status, out, _ = catcore("--model", f"{FACTORIES}:small_mlp", "--json")
    data = as_json(out)
    assert status == 0 and data["functorial"]
    assert data["identity_defect"] <= data["tolerance"] and data["input"] == "64"
    assert data["layer"] == "1"


def test_cnn_passes_in_eval_mode_and_fails_in_train_mode(catcore):
    status, out, _ = catcore("--model", f"{FACTORIES}:small_cnn", "--json")
    assert status == 0 and as_json(out)["input"] == "1x8x8"
    status, out, _ = catcore("--model", f"{FACTORIES}:small_cnn", "--json", "--train-mode")
    data = as_json(out)
    assert status == 1 and not data["functorial"]
    assert {c["module"] for c in data["culprits"] if c["breaks"]} == {"1", "4"}
    assert any("BatchNorm" in d and "model.eval()" in d for d in data["diagnosis"])


def test_dropout_in_train_mode_fails_with_the_module_named(catcore):
    status, out, _ = catcore("--model", f"{FACTORIES}:dropout_mlp", "--train-mode")
    assert status == 1
    assert "NOT functorial" in out and "'drop' (Dropout)" in out and "model.eval()" in out


def test_dotted_module_and_layer(catcore, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    status, out, _ = catcore("--model", "verify_factories:small_mlp", "--layer", "0", "--json")
    data = as_json(out)
    assert status == 0 and data["layer"] == "0"


def test_checkpoint_is_loaded(catcore, tmp_path):
    """All-zero weights give all-zero logits: the loss at the start is ln 10 exactly."""
    net = mlp(64, (16,), 10)
    torch.save({k: torch.zeros_like(v) for k, v in net.state_dict().items()}, tmp_path / "z.pt")
    status, out, _ = catcore("--model", f"{FACTORIES}:small_mlp", "--checkpoint",
                             str(tmp_path / "z.pt"), "--json")  # fmt: skip
    assert status == 0
    assert as_json(out)["start_loss"] == pytest.approx(math.log(10), abs=1e-12)


@pytest.mark.parametrize(
    "model, message",
    [
        (f"{FACTORIES}:nope", "unknown name in --model"),
        (f"{FACTORIES}:NOT_CALLABLE", "not a callable (--model)"),
        (f"{FACTORIES}:not_a_module", "returned int, not an nn.Module"),
        (f"{FACTORIES}:raises", "raised RuntimeError: factory is broken"),
        (f"{FACTORIES}:three_classes", "expected (2, 10) logits"),
        ("no_such_package.models:net", "cannot import 'no_such_package.models'"),
        ("missing_colon", "PKG.MODULE:NAME"),
        (str(HERE / "absent.py") + ":f", "no such file"),
    ],
)
def test_bad_model_exits_2(catcore, model, message):
    status, out, err = catcore("--model", model)
    assert status == 2 and out == ""
    assert message in err and err.startswith("catcore verify: error:")


def test_bad_options_exit_2(catcore):
    status, _, err = catcore("--model", f"{FACTORIES}:small_mlp", "--grid", "1")
    assert status == 2 and "--grid >= 2" in err


def test_bad_checkpoint_and_layer_exit_2(catcore, tmp_path):
    torch.save(mlp(64, (7,), 10).state_dict(), tmp_path / "other.pt")
    status, _, err = catcore("--model", f"{FACTORIES}:small_mlp", "--checkpoint",
                             str(tmp_path / "other.pt"))  # fmt: skip
    assert status == 2 and "does not fit the model" in err and "size mismatch" in err
    status, _, err = catcore("--model", f"{FACTORIES}:small_mlp", "--checkpoint",
                             str(tmp_path / "absent.pt"))  # fmt: skip
    assert status == 2 and "does not exist" in err
    status, _, err = catcore("--model", f"{FACTORIES}:small_mlp", "--layer", "head")
    assert status == 2 and "no submodule 'head'" in err

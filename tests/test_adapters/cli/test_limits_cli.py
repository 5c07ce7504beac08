"""``catcore limits`` on a user's own multi-task model: factories by file path, a
BatchNorm policy that must be chosen, token ids from ``--data``, a checkpoint, the sketch,
and bad input (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from adapters.cli import main

F = str(Path(__file__).resolve().parents[2] / "limits_factories.py")


def _limits(capsys, *argv) -> tuple[int, dict]:
    code = main(["limits", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_users_model_with_batchnorm_under_each_policy(capsys):
    """The model is the user's (a non-Sequential trunk, the parity head reading a named
    layer); the two policies are different networks, and the JSON says which was probed."""
    out = {}
    for policy in ("eval", "batch"):
        code, out[policy] = _limits(capsys, "--model", f"{F}:tapped", "--probe", "16",
                                    "--batchnorm", policy)  # fmt: skip
        assert code == 0
        r = out[policy]
        assert r["batchnorm"] == policy and r["probe"] == 16 and r["certain"]
        assert r["data"].startswith("digits test images")
        assert r["rank_gap"] == r["predicted_gap"] and r["linearization"]["method"] == "dense"
    # batch statistics couple the samples (and cancel the bias before the norm): another
    # linearization, so other images (the bias columns are checked in test_limits_users)
    assert out["batch"]["dims"] != out["eval"]["dims"]


def test_running_statistics_without_a_policy_are_refused(capsys):
    assert main(["limits", "--model", f"{F}:tapped", "--probe", "8"]) == 2
    err = capsys.readouterr().err
    assert "trunk.wide.1" in err and "--batchnorm" in err and "Traceback" not in err


def test_a_checkpoint_is_the_point_probed(tmp_path, capsys):
    import limits_factories

    model = limits_factories.tapped_plain()
    with torch.no_grad():  # a dead shared layer: relu(0 h - 1) = 0 whatever the trunk does
        model.trunk.narrow[0].weight.zero_()
        model.trunk.narrow[0].bias.fill_(-1.0)
    torch.save(model.state_dict(), tmp_path / "ckpt.pt")
    args = ["--model", f"{F}:tapped_plain", "--probe", "8"]
    _, fresh = _limits(capsys, *args)
    _, loaded = _limits(capsys, *args, "--checkpoint", str(tmp_path / "ckpt.pt"))
    assert loaded["checkpoint"].endswith("ckpt.pt")
    assert loaded["dims"]["shared"] == 0 < fresh["dims"]["shared"]


def test_token_ids_from_data_and_the_sketch(capsys):
    pytest.importorskip("transformers")
    code, r = _limits(capsys, "--model", f"{F}:bert_two_tasks", "--data", f"{F}:tokens",
                      "--probe", "2", "--linearization", "sketch", "--columns", "700")  # fmt: skip
    assert code == 0 and r["linearization"]["sketched_blocks"] == {"trunk": 700}
    assert r["verdict"] in ("preserved", "not preserved") and r["parameters"]["trunk"] == 1168


@pytest.mark.parametrize("argv, says", [
    (["--model", f"{F}:no_heads"], "not a multi-task model"),
    (["--model", f"{F}:tapped_plain", "--probe", "9999"], "more than the 450 inputs"),
    (["--model", f"{F}:tapped_plain", "--epochs", "3"], "--epochs belongs to the digits demo"),
    (["--batchnorm", "eval"], "--batchnorm applies to your own --model"),
    (["--model", f"{F}:tapped_plain", "--linearization", "exact"], "nn.Sequential trunk"),
    (["--model", f"{F}:tapped_plain", "--tol", "0.05"], "lower tol"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(capsys, argv, says):
    assert main(["limits", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err

"""``catcore classes`` on a user's own checkpoints: a known link (a checkpoint and its
copy), certified decisions for an MLP, an honest "not certified" for BatchNorm, the files
it writes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from adapters.cli import main

F = str(Path(__file__).resolve().parents[2] / "verify_factories.py")
MODELS = {"mlp": f"{F}:mlp8", "bn": f"{F}:bn_mlp8"}


@pytest.fixture
def run_dir(tmp_path):
    import verify_factories as fac

    makers = {"mlp": fac.mlp8, "bn": fac.bn_mlp8}
    for name in ("mlp", "bn"):
        for k in range(3):
            torch.manual_seed(k)
            model = makers[name]()
            torch.save(model.state_dict(), tmp_path / f"{name}{k}.pt")
        (tmp_path / f"{name}0_copy.pt").write_bytes((tmp_path / f"{name}0.pt").read_bytes())
    return tmp_path


def _classes(capsys, *argv) -> tuple[int, dict]:
    code = main(["classes", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_checkpoint_and_its_copy_share_a_class_certified(run_dir, capsys):
    files = [str(run_dir / f) for f in ("mlp0.pt", "mlp1.pt", "mlp0_copy.pt", "mlp2.pt")]
    code, out = _classes(capsys, *files, "--model", MODELS["mlp"], "--samples",
                         "200", "--exact", "--out", str(run_dir / "out"))  # fmt: skip
    assert code == 0
    v = out["plain"]
    assert v["labels"][0] == v["labels"][2] and v["certified"]
    assert out["uncertified_because"] is None
    assert v["barrier_matrix"][0][2] == pytest.approx(0.0, abs=1e-12)
    assert [n["name"] for n in out["networks"]] == ["mlp0", "mlp1", "mlp0_copy", "mlp2"]
    for name in ("classes.json", "barrier_matrix.png", "dendrogram.png"):
        assert (run_dir / "out" / name).stat().st_size > 0


def test_batchnorm_decisions_are_sampled_and_say_why(run_dir, capsys):
    files = [str(run_dir / f) for f in ("bn0.pt", "bn0_copy.pt", "bn1.pt")]
    code, out = _classes(capsys, *files, "--model", MODELS["bn"], "--samples", "200")
    assert code == 0 and not out["plain"]["certified"]
    assert "buffers" in out["uncertified_because"]
    assert out["plain"]["labels"][0] == out["plain"]["labels"][1]
    main(["classes", *files, "--model", MODELS["bn"], "--samples", "200"])
    assert "not certified: the parameter space holds buffers" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    ([], "need at least 2 checkpoints"),
    (["--eps", "0"], "--eps must be positive"),
    (["--model", None], "required: --model"),
])  # fmt: skip
def test_bad_input_exits_2(run_dir, capsys, extra, message):
    argv = ["classes", "--model", MODELS["mlp"]]
    if extra == ["--model", None]:
        argv = ["classes", str(run_dir / "mlp0.pt"), str(run_dir / "mlp1.pt")]
    elif extra:
        argv += [str(run_dir / "mlp0.pt"), str(run_dir / "mlp1.pt"), *extra]
    else:
        argv += [str(run_dir / "mlp0.pt")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_checkpoint_of_another_model_is_refused(run_dir, capsys):
    files = [str(run_dir / "mlp0.pt"), str(run_dir / "bn0.pt")]
    assert main(["classes", *files, "--model", MODELS["mlp"]]) == 2
    assert "Traceback" not in capsys.readouterr().err

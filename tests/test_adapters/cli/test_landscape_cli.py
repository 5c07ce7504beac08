"""``catcore landscape`` on a user's own checkpoint: on a triangulated 2-D sample the
complex is contractible (exactly one essential class, in H0), counts agree with the
diagrams, a rerun reuses the stored landscapes, and bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from adapters.cli import main
from adapters.runtime.store import Store

F = str(Path(__file__).resolve().parents[2] / "verify_factories.py")
MODELS = {"mlp": f"{F}:mlp8", "bn": f"{F}:bn_mlp8"}


@pytest.fixture
def files(tmp_path):
    import verify_factories as fac

    makers = {"mlp": fac.mlp8, "bn": fac.bn_mlp8}
    for name in ("mlp", "bn"):
        torch.manual_seed(0)
        torch.save(makers[name]().state_dict(), tmp_path / f"{name}.pt")
    return tmp_path


def test_a_triangulated_sample_has_one_essential_class(files, capsys):
    out = files / "out"
    argv = ["landscape", str(files / "mlp.pt"), "--model", MODELS["mlp"], "--dim",
            "2", "--points", "300", "--radius", "0.1", "0.5", "--samples", "200", "--out",
            str(out), "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["settings"]["complex"] == "delaunay"
    for L in result["landscapes"]:
        h0, h1 = L["classes"]
        assert (h0["essential"], h1["essential"]) == (1, 0)  # the hull is contractible
        dgm = np.array(L["diagrams"][0], dtype=float).reshape(-1, 2)
        assert h0["finite"] == int(np.isfinite(dgm[:, 1]).sum())
        assert L["v_min"] <= L["v_center"] <= L["v_max"]
    keys = set(Store(out / "store.sqlite").keys())
    assert len(keys) == 2 and (out / "diagram_r0.5.png").stat().st_size > 0
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["landscapes"] == result["landscapes"]
    assert set(Store(out / "store.sqlite").keys()) == keys


@pytest.mark.parametrize(("extra", "message"), [
    (["--radius", "-1"], "radii must be positive"),
    (["--points", "2"], "--points must be at least 4"),
])  # fmt: skip
def test_bad_input_exits_2(files, capsys, extra, message):
    argv = ["landscape", str(files / "mlp.pt"), "--model", MODELS["mlp"], *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_running_statistics_and_a_missing_checkpoint_are_named(files, capsys):
    assert main(["landscape", str(files / "bn.pt"), "--model", MODELS["bn"]]) == 2
    assert "running statistics" in capsys.readouterr().err
    assert main(["landscape", "--model", MODELS["mlp"]]) == 2
    assert "CKPT" in capsys.readouterr().err

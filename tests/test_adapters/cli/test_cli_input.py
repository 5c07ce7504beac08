"""Bad input is refused while the command line is parsed, before any work, with a message
naming the option and exit status 2; Ctrl-C ends in one line and status 130."""

from __future__ import annotations

import pytest

from adapters.cli import main

CASES = [
    (["reproduce", "--seed", "-1"], "--seed: must be an integer in 0..4294967295, got -1"),
    (["reproduce", "--seed", "99999999999"], "--seed: must be an integer in 0..4294967295"),
    (["reproduce", "--seed", "abc"], "--seed: must be an integer, got 'abc'"),
    (["verify", "--seed", "-5"], "--seed: must be an integer in 0..4294967295, got -5"),
    (["limits", "--seed", "-1"], "--seed: must be an integer in 0..4294967295, got -1"),
    (["laws", "--max-examples", "0"], "--max-examples: must be a positive integer, got 0"),
    (["reproduce", "--tiny", "--quick"], "not allowed with argument"),
    (["reproduce", "--out", ""], "--out: must name a folder (got an empty string)"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_arguments_exit_2_with_a_message_before_any_work(argv, message, capsys, tmp_path,
                                                              monkeypatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing was written


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("catcore ")


def test_ctrl_c_ends_in_one_line_and_status_130(capsys, monkeypatch) -> None:
    import adapters.cli.laws as laws

    def interrupted(_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(laws, "run", interrupted)
    assert main(["laws"]) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("catcore laws: interrupted") and "resumes" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_an_unknown_option_is_named_before_a_missing_one(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["verify", "--bogus"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["verify"]) == 2
    assert "required: --model" in capsys.readouterr().err


def test_checkpoints_that_are_not_state_dicts_are_named(tmp_path, capsys) -> None:
    import torch

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage bytes, not a checkpoint")
    pickled = tmp_path / "objects.pt"
    torch.save({"a": object()}, pickled)
    model = ["verify", "--model", "adapters.nets.models:mlp", "--checkpoint"]
    expected = {
        str(tmp_path): "is a folder",
        str(junk): "is not a torch checkpoint",
        str(pickled): "holds objects other than tensors",
        str(tmp_path / "missing.pt"): "does not exist",
    }
    for path, message in expected.items():
        assert main([*model, path]) == 2
        err = capsys.readouterr().err
        assert message in err and "weights_only" not in err and "Traceback" not in err

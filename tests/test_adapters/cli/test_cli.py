"""The ``catcore`` command line: every subcommand is registered and documented."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from adapters.cli import SUBCOMMANDS, build_parser, main


def test_help_lists_every_subcommand():
    text = build_parser().format_help()
    for name in SUBCOMMANDS:
        assert name in text


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: catcore" in capsys.readouterr().out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0


def test_laws_table_as_json(capsys):
    assert main(["laws", "--max-examples", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    instances = {r["instance"] for r in rows}
    assert {"FinSet", "Vect_Q", "Div(12)", "Paths(R^2)"} <= instances
    assert all(r["status"] == "ok" and r["examples"] > 0 for r in rows)


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "adapters.cli", "--help"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "reproduce" in out.stdout

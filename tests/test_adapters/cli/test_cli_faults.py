"""An output folder or store that cannot be used ends ``catcore reproduce`` with exit status 2,
one message naming the file and what to do, no traceback, and nothing lost or overwritten."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.runtime.store import Store


def _figures_is_a_file(out: Path) -> None:
    out.mkdir()
    (out / "figures").write_text("not a folder")


def _store_is_a_folder(out: Path) -> None:
    (out / "store.sqlite").mkdir(parents=True)


def _store_is_garbage(out: Path) -> None:
    out.mkdir()
    (out / "store.sqlite").write_bytes(b"\x13" * 5000)


def _out_is_read_only(out: Path) -> None:
    out.mkdir()
    out.chmod(0o555)


FAULTS: list[tuple[Callable[[Path], None], str]] = [
    (_figures_is_a_file, "cannot write"),
    (_store_is_a_folder, "is a folder; give a file name"),
    (_store_is_garbage, "is damaged (its header is not an SQLite header)"),
    pytest.param(_out_is_read_only, "cannot write", marks=pytest.mark.skipif(
        os.geteuid() == 0, reason="permissions do not bind root")),  # fmt: skip
]


@pytest.mark.parametrize(("fault", "message"), FAULTS)
def test_an_unusable_output_folder_exits_2_before_any_work(fault, message, tmp_path, capsys):
    out = tmp_path / "out"
    fault(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["reproduce", "--tiny", "--only", "laws", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and str(out) in err
    assert {p: p.read_bytes() for p in before} == before, "something was overwritten"
    assert not (out / "results.json").exists()


def test_a_second_run_on_one_output_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    code = ("import time; from adapters.runtime.store import run_lock\n"
            f"with run_lock({str(out / 'store.sqlite')!r}):\n"
            "    print('held', flush=True); time.sleep(60)")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["reproduce", "--tiny", "--only", "laws", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"another run (pid {holder.pid})" in err and "Traceback" not in err
        assert not (out / "store.sqlite").exists(), "the refused run touched the store"
    finally:
        holder.kill()
        holder.wait()


def test_a_write_that_fails_after_the_work_keeps_the_work(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "results.json").mkdir(parents=True)  # os.replace onto a folder fails
    assert main(["reproduce", "--tiny", "--only", "laws", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "results.json" in err and "Finished work is kept" in err and "Traceback" not in err
    with Store(out / "store.sqlite") as store:
        assert list(store.keys("study/laws/")), "the finished study was not kept"

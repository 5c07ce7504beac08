"""``catcore reproduce`` end to end on the tiny plan: a real kill part-way, a resume that
recomputes nothing finished, and the structure of what it writes."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.studies.reproduce import PLANS, STUDIES, Plan

SECTIONS = ("functor", "homotopy", "persistence", "transfer", "limits", "federated")
FIGURES = ("barrier_matrix.png", "dendrogram.png", "gap_vs_persistence.png", "r2_vs_radius.png",
           "transfer.png", "federated.png")  # fmt: skip


def _stored(log: Path, pid: int | None = None) -> list[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [l.split(" stored ", 1)[1] for l in lines
            if " stored " in l and (pid is None or f"pid={pid} " in l)]  # fmt: skip


def _keys(db: Path) -> set[str]:
    with sqlite3.connect(db) as con:
        return {k for (k,) in con.execute("SELECT key FROM items")}


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    cmd = [sys.executable, "-m", "adapters.cli", "reproduce", "--tiny", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    # kill once the homotopy study has stored a trained network, i.e. mid-study
    while not any(k.startswith("run/") for k in _stored(out / "run.log")):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, "the run stored nothing in time"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _keys(out / "store.sqlite")
    assert main(["reproduce", "--tiny", "--out", str(out)]) == 0
    return out, before


def test_kill_leaves_no_results_and_resume_recomputes_nothing_finished(killed_then_resumed):
    out, before = killed_then_resumed
    assert any(k.startswith("run/") for k in before)
    assert any(k.startswith("study/functor/") for k in before)
    again = _stored(out / "run.log", pid=os.getpid())
    assert again, "the resumed run stored nothing: it did not finish the killed work"
    assert not set(again) & before, "finished items were computed again"
    assert _keys(out / "store.sqlite") >= before
    studies = json.loads((out / "results.json").read_text())["studies"]
    h = studies["homotopy"]  # killed mid-study: finished by the second run, timed over both
    assert h["runs"] == 2 and h["seconds"] > h["seconds_this_run"]
    assert studies["functor"]["runs"] == 1


def test_results_json_has_every_section_with_settings(killed_then_resumed):
    out, _ = killed_then_resumed
    results = json.loads((out / "results.json").read_text())
    assert results["plan"]["name"] == "tiny"
    for name in SECTIONS:
        section = results["studies"][name]
        assert "settings" in section, name
    h = results["studies"]["homotopy"]
    assert len(h["plain"]["labels"]) == PLANS["tiny"].homotopy_networks
    n = PLANS["tiny"].homotopy_networks
    assert h["fisher"]["pairs"] == n * (n - 1) // 2 and h["fisher"]["all_converged"]
    p = results["studies"]["persistence"]
    assert len(p["gaps"]) == PLANS["tiny"].persistence_networks
    f = results["studies"]["functor"]["cases"]
    assert f["mlp (eval)"]["functorial"] is True
    assert f["mlp+BatchNorm (train mode, control)"]["functorial"] is False


def test_report_and_figures_are_written(killed_then_resumed):
    out, _ = killed_then_resumed
    report = (out / "report.md").read_text()
    assert "| paper's claim | our measurement | holds here? | why it may differ |" in report
    for name in FIGURES:
        png = out / "figures" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"figures/{name}" in report


def test_second_run_reuses_everything(killed_then_resumed, capsys):
    out, _ = killed_then_resumed
    keys = _keys(out / "store.sqlite")
    log_lines = len((out / "run.log").read_text().splitlines())
    assert main(["reproduce", "--tiny", "--out", str(out)]) == 0
    new = (out / "run.log").read_text().splitlines()[log_lines:]
    assert not [l for l in new if " stored " in l]
    assert _keys(out / "store.sqlite") == keys
    b = json.loads((out / "results.json").read_text())["bookkeeping"]
    assert b["computed"] == [] and b["reused"] == ["laws", *SECTIONS] and b["runs"] == 2
    assert "read back from the store: laws, functor" in (out / "report.md").read_text()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(["reproduce", "--tiny", "--out", str(out)]) == 0
    return json.loads((out / "results.json").read_text())


def _killed_after(out: Path, stores: int) -> bool:
    """Run ``reproduce --tiny`` in a new process group and SIGKILL the group once it has
    stored ``stores`` more items; ``False`` when the run finished first."""
    cmd = [sys.executable, "-m", "adapters.cli", "reproduce", "--tiny", "--out", str(out)]
    before = len(_stored(out / "run.log"))
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 600
    while proc.poll() is None:
        if len(_stored(out / "run.log")) - before >= stores:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        assert time.time() < deadline, "the run neither finished nor stored in time"
        time.sleep(0.01)
    assert proc.returncode == 0
    return False


@pytest.mark.parametrize("seed", [1, 2])
def test_random_kills_leave_the_results_of_an_uninterrupted_run(uninterrupted, tmp_path, seed):
    """Fault injection: two SIGKILLs at random points of the run (after a random number of
    stored items, drawn under ``seed``), then a resume to the end; the results equal the
    uninterrupted run's up to timings and reuse counters, and the bookkeeping says how
    many runs built each study."""
    from compare_reproduce import decisions, differences

    rng = random.Random(seed)
    kills = [_killed_after(tmp_path, rng.randint(1, 30)) for _ in range(2)]  # of ~40 items
    assert kills[0], "the first kill did not land"
    assert main(["reproduce", "--tiny", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    # floats to 1e-5: float32 sums may be ordered differently by another torch thread count
    diff = differences(decisions(uninterrupted["studies"]), decisions(results["studies"]),
                       rtol=1e-5)  # fmt: skip
    assert diff == [], diff
    stored = _stored(tmp_path / "run.log")
    assert len(stored) == len(set(stored)), "an item was computed twice"
    runs = [s["runs"] for s in results["studies"].values()]
    assert results["bookkeeping"]["runs"] == max(runs) <= 1 + sum(kills)


def test_bad_input_exits_2(tmp_path, capsys):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert main(["reproduce", "--tiny", "--out", str(afile)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["reproduce", "--tiny", "--only", "nonsense", "--out", str(tmp_path)]) == 2


def test_plans_refuse_nonsense():
    with pytest.raises(ValueError, match="eps"):
        Plan("x", 1, 1, 4, 1, 0, 4, 10, (0.1,), 1, (0,), 1, 1, eps=0.0)
    with pytest.raises(ValueError, match="at least 2 networks"):
        Plan("x", 1, 1, 1, 1, 0, 4, 10, (0.1,), 1, (0,), 1, 1)
    assert list(STUDIES)[1:] == list(SECTIONS)

"""The studies of ``catcore reproduce`` on every executor: the same results in-process, on a
2-process pool and on a 2-CPU Ray instance; a Ray worker killed mid-study loses nothing;
stores are shared across executors; the CLI flags.

The reference runs the in-process code paths (``executor=None``: the sequential exact
search and landscape loop), so the comparison is against an independent implementation of
the same computation, not the work items run twice.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.runtime.executor import LocalExecutor
from adapters.runtime.store import Store
from adapters.studies.reproduce import PLANS, reproduce

ONLY = ["homotopy", "persistence"]
TIMING = {"seconds", "seconds_this_run"}


def _stored(log: Path) -> list[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [line.split(" stored ", 1)[1] for line in lines if " stored " in line]


def _run(out: Path, executor, plan=PLANS["tiny"], only=ONLY) -> dict:
    return reproduce(out, plan, seed=0, only=only, progress=False, executor=executor)


def _mismatches(a, b, path="", ignore=TIMING) -> list[str]:
    """Where two JSON values differ: floats to 1e-9 relative, everything else exactly;
    the fields named in ``ignore`` (timings) are left out."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) - ignore != set(b) - ignore:
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [m for k in a if k not in ignore
                for m in _mismatches(a[k], b[k], f"{path}/{k}", ignore)]  # fmt: skip
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} != {len(b)}"]
        return [m for i, (x, y) in enumerate(zip(a, b))
                for m in _mismatches(x, y, f"{path}/{i}", ignore)]  # fmt: skip
    if isinstance(a, float) and isinstance(b, float):
        same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return [] if same else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_mismatch_finder_catches_differences() -> None:
    a = {"x": [1.0, {"y": "s"}], "seconds": 1}
    assert _mismatches(a, {"x": [1.0 + 1e-14, {"y": "s"}], "seconds": 9}) == []
    assert _mismatches(a, {"x": [1.001, {"y": "s"}], "seconds": 1}) == ["/x/0: 1.0 != 1.001"]
    assert _mismatches(a, {"x": [1.0, {"y": "t"}]}) == ["/x/1/y: 's' != 't'"]
    assert _mismatches([0, 1], [1, 0]) and _mismatches({"a": 1}, {"b": 1})


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("in-process")
    results = _run(out, None)
    h = results["studies"]["homotopy"]
    assert h["plain"]["partition_agrees_with_all_pairs"]
    assert results["executor"] == {"executor": "in-process"}
    return out, results


@pytest.fixture(scope="module")
def ray_executor():
    ray = pytest.importorskip("ray")
    from adapters.runtime.ray_executor import RayExecutor

    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    with RayExecutor(num_cpus=2, max_retries=2) as ex:
        ex.connect()
        yield ex
    assert not ray.is_initialized()


def _same_as_reference(reference, results, ignore=TIMING) -> None:
    _, ref = reference
    for name in ONLY:
        diff = _mismatches(ref["studies"][name], results["studies"][name], ignore=ignore)
        assert diff == [], name
    for variant in ("plain", "aligned"):  # the same partition, the same barrier matrix
        assert results["studies"]["homotopy"][variant]["labels"] == \
            ref["studies"]["homotopy"][variant]["labels"]  # fmt: skip


def test_process_pool_gives_the_in_process_results(reference, tmp_path) -> None:
    with LocalExecutor(2) as ex:
        results = _run(tmp_path, ex)
    _same_as_reference(reference, results)
    assert results["executor"] == {"executor": "local", "workers": 2, "threads": 1}
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["executor"]["workers"] == 2
    stored = _stored(tmp_path / "run.log")
    assert any(k.startswith("run/") for k in stored)
    assert any(k.startswith("persistence/") for k in stored)
    assert any(k.startswith("homotopy/") for k in stored)  # exact pairs under their own keys
    assert len(stored) == len(set(stored))


def test_ray_gives_the_in_process_results(reference, ray_executor, tmp_path) -> None:
    results = _run(tmp_path, ray_executor)
    _same_as_reference(reference, results)
    assert results["executor"]["executor"] == "ray"
    assert results["executor"]["cluster_cpus"] == 2


def test_a_store_written_by_one_executor_serves_another(reference, tmp_path) -> None:
    """Items stored by the in-process paths are reused by the work items and back: the
    executor is in no key. Only the study sections (deleted here) are stored again."""
    ref_out, ref = reference
    out = tmp_path / "copy"
    out.mkdir()
    store = Store(out / "store.sqlite")
    for key, value in Store(ref_out / "store.sqlite").items():
        if not key.startswith(("study/", "clock/")):
            store.put(key, value)
    store.close()
    results = _run(out, LocalExecutor(0))
    assert [k.split("/")[0] for k in _stored(out / "run.log")] == ["study", "study"]
    # stored results cost no loss evaluations here, and are counted as reused instead
    counts = {"evaluations", "exact_evaluations", "evaluations_reused", "exact_evaluations_reused"}
    _same_as_reference(reference, results, TIMING | counts)
    for variant in ("plain", "aligned"):
        got, want = (r["studies"]["homotopy"][variant] for r in (results, ref))
        assert got["exact_evaluations"] == 0 < got["exact_evaluations_reused"]
        # every barrier of the exact mode is stored: the totals agree exactly
        total = got["exact_evaluations"] + got["exact_evaluations_reused"]
        assert total == want["exact_evaluations"] + want["exact_evaluations_reused"]
        # the pruned search's float64 chords and undeciding midpoint probes are not stored
        total = got["evaluations"] + got["evaluations_reused"]
        assert 0 < total <= want["evaluations"] + want["evaluations_reused"]


def _task_pids() -> list[int]:
    """Processes running a Ray task of the executor (their title is ``ray::_ray_call``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"ray::_ray_call"):
                pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ray_worker_killed_mid_study_loses_nothing(ray_executor, tmp_path) -> None:
    """SIGKILL a Ray worker while it trains a network of the homotopy ensemble, after the
    first networks were stored: Ray reruns the lost task, the study completes, and every
    key is stored exactly once (nothing finished is lost or computed again)."""
    plan = dataclasses.replace(PLANS["tiny"], homotopy_networks=8, homotopy_steps=1500)
    log = tmp_path / "run.log"
    killed: dict[str, object] = {}

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "pid" not in killed:
            if any(k.startswith("run/") for k in _stored(log)):
                for pid in _task_pids():
                    killed["before"] = set(_stored(log))
                    os.kill(pid, signal.SIGKILL)
                    killed["pid"] = pid
                    break
            time.sleep(0.01)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    results = _run(tmp_path, ray_executor, plan, ["homotopy"])
    thread.join(timeout=5)
    assert "pid" in killed, "no Ray task was running after the first network was stored"
    assert not Path(f"/proc/{killed['pid']}").exists() or \
        b"zombie" in Path(f"/proc/{killed['pid']}/status").read_bytes()  # fmt: skip
    stored = _stored(log)
    assert len(stored) == len(set(stored)), "a key was stored twice: finished work was redone"
    assert killed["before"] <= set(stored)
    assert sum(k.startswith("run/") for k in stored) == 8
    h = results["studies"]["homotopy"]
    assert len(h["networks"]) == 8 and h["plain"]["partition_agrees_with_all_pairs"]


def test_cli_refuses_bad_executor_flags(tmp_path, monkeypatch, capsys) -> None:
    base = ["reproduce", "--tiny", "--out", str(tmp_path), "--only", "homotopy"]
    assert main([*base, "--ray-address", "auto"]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
    assert main([*base, "--workers", "-1"]) == 2
    assert "--workers must be 0 or more, got -1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main([*base, "--executor", "ray"]) == 2
    assert 'pip install "catcore[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "run.log").exists()  # refused before anything ran

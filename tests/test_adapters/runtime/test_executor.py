"""Executors: known answers, identical results on every executor, resumption after real kills.

The work functions live in ``executor_work`` (workers import them by name). Ray tests share
one local Ray instance with 2 CPUs and are skipped when Ray is not installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import executor_work as w
import pytest

from adapters.runtime.executor import (
    LocalExecutor,
    WorkItem,
    WorkItemError,
    atomic_file,
    missing_items,
    run_items,
    work_key,
)
from adapters.runtime.registry import make_executor
from adapters.runtime.store import Store

TESTS = str(Path(__file__).resolve().parents[2])
HIDDEN = (8,)
SEEDS = (11, 12, 13, 14)
STEPS = 60


def cubic_items(xs, log=None, sleep=0.0, die_at=None, marker=None) -> list[WorkItem]:
    items = []
    for i, x in enumerate(xs):
        key = f"cubic/{x}"
        if i == die_at:
            kwargs = {"marker": marker, "key": key, "log": log}
            items.append(WorkItem(key, w.die_once, (x,), kwargs))
        else:
            items.append(WorkItem(key, w.cubic, (x,), {"key": key, "log": log, "sleep": sleep}))
    return items


def expected(xs) -> dict[str, int]:
    return {f"cubic/{x}": x * x * x - 2 * x for x in xs}


class RecordingStore(Store):
    """A store that notes, for every key, how many calls were logged when it was first stored."""

    def __init__(self, path, log) -> None:
        super().__init__(path)
        self.log, self.stored_at = log, {}

    def put(self, key, value) -> None:
        self.stored_at.setdefault(key, len(w.calls(self.log)))  # the first time it was stored
        super().put(key, value)

    def recomputed(self) -> list[str]:
        """Keys computed again after they had been stored."""
        log = w.calls(self.log)
        return [k for k, at in self.stored_at.items() if k in log[at:]]


# -- in-process: API, known answers, errors -------------------------------------------------


def test_work_item_rejects_bad_fields() -> None:
    with pytest.raises(TypeError, match="non-empty string"):
        WorkItem("", w.cubic)
    with pytest.raises(TypeError, match="callable"):
        WorkItem("k", 3)
    with pytest.raises(TypeError, match="args must be a tuple"):
        WorkItem("k", w.cubic, [1])
    with pytest.raises(ValueError, match="duplicate work item key 'cubic/2'"):
        run_items(cubic_items([2, 2]))
    with pytest.raises(ValueError, match="kind"):
        work_key("a/b", 1)


def test_make_executor_by_name() -> None:
    ex = make_executor("local", workers=2, threads=None)
    assert isinstance(ex, LocalExecutor) and ex.describe() == {
        "executor": "local", "workers": 2, "threads": None}  # fmt: skip
    with pytest.raises(ValueError, match="'local' or 'ray', got 'spark'"):
        make_executor("spark")
    with pytest.raises(ValueError, match="workers"):
        LocalExecutor(-1)


def test_in_process_known_answers_in_item_order() -> None:
    xs = [5, -1, 3, 0]
    got = run_items(cubic_items(xs), LocalExecutor(0), progress=False)
    assert list(got) == [f"cubic/{x}" for x in xs]
    assert got == {"cubic/5": 115, "cubic/-1": 1, "cubic/3": 21, "cubic/0": 0}


def test_failure_names_the_item_and_keeps_what_finished() -> None:
    store = Store(None)
    items = [*cubic_items([1]), WorkItem("bad/2", w.fail, (2,)), *cubic_items([3])]
    with pytest.raises(WorkItemError, match="'bad/2' failed: ValueError: bad input 2") as err:
        run_items(items, store=store, progress=False)
    assert err.value.key == "bad/2" and isinstance(err.value.__cause__, ValueError)
    assert sorted(store.keys()) == ["cubic/1"]


def test_result_must_be_json() -> None:
    with pytest.raises(TypeError, match="'set/1' returned a set, which is not JSON"):
        run_items([WorkItem("set/1", w.not_json, (1,))], progress=False)


def test_results_are_json_values_fresh_and_resumed() -> None:
    store = Store(None)
    items = [WorkItem("divmod", divmod, (17, 5))]
    fresh = run_items(items, store=store, progress=False)
    resumed = run_items(items, store=store, progress=False)
    assert fresh == resumed == {"divmod": [3, 2]}


def test_progress_forms() -> None:
    store = Store(None)
    store.put("cubic/1", -1)
    seen: list[tuple[int, int]] = []
    run_items(cubic_items([1, 2, 3]), store=store, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    class Bar:
        n = 0

        def update(self, k: int) -> None:
            self.n += k

    bar = Bar()
    run_items(cubic_items([1, 2, 3, 4]), store=store, progress=bar)
    assert bar.n == 4
    with pytest.raises(TypeError, match="progress must be"):
        run_items(cubic_items([9]), progress="yes")


def test_resume_computes_only_missing_keys(tmp_path) -> None:
    log, xs = str(tmp_path / "calls"), list(range(6))
    store = Store(tmp_path / "s.db")
    first = run_items(cubic_items(xs, log), store=store, progress=False)
    assert sorted(w.calls(log)) == sorted(expected(xs)) and first == expected(xs)
    store.delete("cubic/1")
    store.delete("cubic/4")
    assert [i.key for i in missing_items(cubic_items(xs), store)] == ["cubic/1", "cubic/4"]
    n = len(w.calls(log))
    again = run_items(cubic_items(xs, log), store=Store(tmp_path / "s.db"), progress=False)
    assert w.calls(log)[n:] == ["cubic/1", "cubic/4"] and again == first


def test_recompute_detector_catches_a_store_that_is_ignored(tmp_path) -> None:
    """The check used after the kills below must see recomputation when it happens."""

    class Forgetful(RecordingStore):
        def __contains__(self, key: object) -> bool:
            return False

    log = str(tmp_path / "calls")
    store = Forgetful(tmp_path / "s.db", log)
    run_items(cubic_items([1, 2], log), store=store, progress=False)
    assert store.recomputed() == []
    run_items(cubic_items([1, 2], log), store=store, progress=False)
    assert sorted(store.recomputed()) == ["cubic/1", "cubic/2"]


def test_atomic_file_leaves_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "ckpt.bin"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_pool_refuses_functions_workers_cannot_import() -> None:
    ex = LocalExecutor(2)
    with pytest.raises(TypeError, match="'lam'.*module level"):
        ex.imap([WorkItem("lam", lambda: 1)])
    assert ex._pool is None


def test_missing_ray_is_named_with_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "catcore\[ray\]"'):
        make_executor("ray")


# -- the same study on every executor -------------------------------------------------------


def study(executor) -> tuple[dict, dict]:
    """Train 4 digits MLPs, then the barriers of every pair (self-pairs included)."""
    nets = run_items([WorkItem(work_key("net", s, HIDDEN, STEPS), w.train_net, (s, HIDDEN, STEPS))
                      for s in SEEDS], executor, progress=False)  # fmt: skip
    keys, thetas = list(nets), [r["theta"] for r in nets.values()]
    pairs = [(i, j) for i in range(len(keys)) for j in range(i, len(keys))]
    items = [WorkItem(work_key("pair", keys[i], keys[j]), w.pair_barrier,
                      (thetas[i], thetas[j], HIDDEN)) for i, j in pairs]  # fmt: skip
    return nets, run_items(items, executor, progress=False)


@pytest.fixture(scope="module")
def reference():
    nets, barriers = study(LocalExecutor(0))
    # known answers: trained nets beat chance by far; a segment from a point to itself
    # has no barrier; a barrier is never negative.
    assert all(0.5 < r["test_acc"] <= 1 for r in nets.values())
    heights = [b["height"] for b in barriers.values()]
    self_pairs = [0, 4, 7, 9]  # (0,0), (1,1), (2,2), (3,3) in the upper-triangle order
    assert all(abs(heights[k]) < 1e-6 for k in self_pairs)
    assert all(h >= 0 for h in heights) and max(heights) > 1e-3
    assert len({r["theta_sha"] for r in nets.values()}) == len(SEEDS)
    return nets, barriers


@pytest.fixture(scope="module")
def pool():
    with LocalExecutor(2) as ex:
        yield ex


@pytest.fixture(scope="module")
def ray_executor():
    ray = pytest.importorskip("ray")
    from adapters.runtime.ray_executor import RayExecutor

    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    ex = RayExecutor(num_cpus=2, max_retries=2)
    ex.connect()
    yield ex
    ex.close()
    assert not ray.is_initialized(), "the executor did not shut down the instance it started"


def test_process_pool_matches_in_process(reference, pool) -> None:
    assert study(pool) == reference


def test_ray_matches_in_process(reference, ray_executor) -> None:
    assert ray_executor.owned and ray_executor.cluster_cpus() == 2
    assert study(ray_executor) == reference


# -- worker loss and killed runs ------------------------------------------------------------


def test_pool_survives_a_killed_worker(tmp_path) -> None:
    log, marker, xs = str(tmp_path / "calls"), str(tmp_path / "died"), list(range(8))
    store = RecordingStore(tmp_path / "s.db", log)
    with LocalExecutor(2, threads=None) as ex:
        got = run_items(cubic_items(xs, log, 0.2, die_at=3, marker=marker), ex, store, False)
    assert got == expected(xs) and os.path.exists(marker)
    assert w.calls(log).count("cubic/3") == 2
    assert store.recomputed() == []


def test_pool_gives_up_after_max_retries(tmp_path) -> None:
    items = cubic_items([1, 2], die_at=1, marker=str(tmp_path / "m"))
    with LocalExecutor(1, threads=None, max_retries=0) as ex, pytest.raises(
        WorkItemError, match="'cubic/2' failed: a worker process died 1 times"
    ):
        run_items(items, ex, progress=False)


_KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
import executor_work as w
from adapters.runtime.executor import LocalExecutor, WorkItem, run_items
from adapters.runtime.store import Store

if __name__ == "__main__":
    items = [WorkItem(f"cubic/{{x}}", w.cubic, (x,), {{"key": f"cubic/{{x}}", "log": {log!r},
                                                    "sleep": 0.25}}) for x in range({n})]
    with LocalExecutor(2, threads=None) as ex:
        run_items(items, ex, Store({db!r}), progress=False)
"""


def test_killed_pool_run_resumes_with_only_the_rest(tmp_path) -> None:
    n, log, db = 16, str(tmp_path / "calls"), str(tmp_path / "s.db")
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(_KILLED_RUN.format(tests=TESTS, n=n, log=log, db=db)))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while len(Store(db)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its pool workers
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    stored = set(Store(db).keys())
    assert 4 <= len(stored) < n, stored
    before = len(w.calls(log))
    got = run_items(cubic_items(range(n), log), LocalExecutor(0, threads=None), Store(db), False)
    assert got == expected(range(n))
    assert sorted(w.calls(log)[before:]) == sorted(set(expected(range(n))) - stored)


def test_ray_worker_killed_mid_run_loses_nothing(tmp_path, ray_executor) -> None:
    log, marker, xs = str(tmp_path / "calls"), str(tmp_path / "died"), list(range(8))
    store = RecordingStore(tmp_path / "s.db", log)
    got = run_items(cubic_items(xs, log, 0.2, die_at=3, marker=marker), ray_executor, store, False)
    assert got == expected(xs) and os.path.exists(marker)
    counts = {k: w.calls(log).count(k) for k in expected(xs)}
    assert counts == {k: 2 if k == "cubic/3" else 1 for k in expected(xs)}
    assert store.recomputed() == []


def test_ray_lost_worker_without_retries_then_resume(tmp_path, ray_executor) -> None:
    from adapters.runtime.ray_executor import RayExecutor

    log, marker, xs = str(tmp_path / "calls"), str(tmp_path / "died"), list(range(8))
    store = Store(tmp_path / "s.db")
    joined = RayExecutor(max_retries=0, max_in_flight=2)
    items = cubic_items(xs, log, 0.2, die_at=4, marker=marker)
    with pytest.raises(WorkItemError, match="'cubic/4' failed: its worker was lost"):
        run_items(items, joined, store, False)
    stored = set(store.keys())
    assert 1 <= len(stored) < len(xs) and "cubic/4" not in stored
    before = len(w.calls(log))
    assert run_items(items, joined, store, False) == expected(xs)
    assert set(w.calls(log)[before:]) == set(expected(xs)) - stored
    joined.close()
    assert not joined.owned and ray_executor.ray.is_initialized()



@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ray_abandoned_items_end_with_their_workers(tmp_path, ray_executor) -> None:
    """A stream closed early kills the workers of the items still running: a cancel that
    only interrupts the task can interrupt an import and leave a worker that cannot redo it."""
    log = str(tmp_path / "pids")
    items = [WorkItem("quick", w.cubic, (2,)), WorkItem("busy", w.pid_then_sleep, (log, 60.0))]
    stream = ray_executor.imap(items)
    assert next(stream) == ("quick", 4)
    deadline = time.monotonic() + 60
    while not w.calls(log):
        assert time.monotonic() < deadline, "the busy item never started"
        time.sleep(0.05)
    [pid] = [int(p) for p in w.calls(log)]
    stream.close()
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the abandoned item's worker is still running"


_BUSY_POOL = """
import sys
sys.path.insert(0, {tests!r})
import executor_work as w
from adapters.runtime.executor import LocalExecutor, WorkItem, run_items

if __name__ == "__main__":
    items = [WorkItem(f"busy/{{i}}", w.pid_then_sleep, ({log!r}, 60.0)) for i in range(2)]
    with LocalExecutor(2, threads=None) as ex:
        run_items(items, ex, progress=False)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_pool_workers_end_with_a_killed_parent(tmp_path) -> None:
    log = str(tmp_path / "pids")
    script = tmp_path / "busy.py"
    script.write_text(textwrap.dedent(_BUSY_POOL.format(tests=TESTS, log=log)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(w.calls(log)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.05)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    helpers = [int(p) for p in children]  # the workers and multiprocessing's resource tracker
    assert {int(p) for p in w.calls(log)} <= set(helpers)
    proc.kill()  # SIGKILL to the parent only: nothing of it can clean up
    proc.wait()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in helpers if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes outlived their killed parent: {left}"

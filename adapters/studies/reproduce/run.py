"""Orchestration of ``catcore reproduce``: studies through one resumable store."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from adapters.runtime.executor import Executor
from adapters.runtime.store import Store, StoreError, digest, run_lock
from adapters.studies.reproduce import report, sections
from adapters.studies.reproduce.plans import Plan
from catcore import __version__

#: Study name -> function ``(plan, seed, store, progress, executor) -> JSON-ready dict``, in
#: run order.
STUDIES: dict[str, Callable[..., dict[str, Any]]] = {
    "laws": sections.laws,
    "functor": sections.functor,
    "homotopy": sections.homotopy,
    "persistence": sections.persistence,
    "transfer": sections.transfer,
    "limits": sections.limits,
    "federated": sections.federated,
}


class LoggedStore(Store):
    """A :class:`Store` that appends ``stored KEY`` to the run log on every write, so a
    reader can see exactly what each run computed (and what it only reused).

    It also keeps the clock of the study being computed (:meth:`start_clock`): every
    write stores, beside the items, ``clock/STUDY_KEY = {"seconds", "runs"}``, the time
    spent on that study over every run that worked on it (up to the last write of an
    interrupted run) and how many runs did."""

    def __init__(self, path: Path, log: Path) -> None:
        super().__init__(path)
        self.log = log
        self._clock: str | None = None
        self._tick = 0.0
        self._joined = False

    def start_clock(self, key: str) -> None:
        """Count the time from now on toward the study stored under ``key``."""
        self._clock, self._tick, self._joined = f"clock/{key}", time.perf_counter(), False

    def clock(self) -> dict[str, Any]:
        """The running study's clock: stored time plus this run's since its last write."""
        assert self._clock is not None, "no study clock started"
        spent = self.get(self._clock) or {"seconds": 0.0, "runs": 0}
        now = time.perf_counter()
        return {"seconds": spent["seconds"] + now - self._tick,
                "runs": spent["runs"] + (not self._joined)}  # fmt: skip

    def put_many(self, items: Any) -> None:
        items = dict(items)
        if self._clock is not None:
            clock = self.clock()
            super().put_many({**items, self._clock: clock})
            self._tick, self._joined = time.perf_counter(), True
        else:
            super().put_many(items)
        for key in items:
            _append(self.log, f"stored {key}")


def _append(log: Path, line: str) -> None:
    with _writing(log):
        with log.open("a") as fh:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid={os.getpid()} {line}\n")


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn an OS error while writing ``path`` into a :class:`StoreError` that says what
    is kept and what to do."""
    try:
        yield
    except OSError as exc:
        raise StoreError(
            f"cannot write {str(path)!r} ({exc.strerror or exc}). Finished work is kept in "
            f"{str(path.parent / 'store.sqlite')!r}; make the folder writable (or free disk "
            "space) and run the same command again, or choose another --out."
        ) from None


def bookkeeping(studies: dict[str, Any], reused: list[str]) -> dict[str, Any]:
    """What built the results: the studies computed by this run and those read back from
    the store, and the compute time of all of them over every run that worked on them."""
    return {
        "computed": [n for n in studies if n not in reused],
        "reused": reused,
        "seconds_total": round(sum(s.get("seconds", 0.0) for s in studies.values()), 2),
        "runs": max((s.get("runs", 1) for s in studies.values()), default=0),
    }


def _say(progress: bool, line: str) -> None:
    print(line, file=sys.stderr if progress else sys.stdout, flush=True)


def prepare_out(out: Path) -> Path:
    """Create the output folder; a path that exists and is not a folder is refused."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output path {str(out)!r} exists and is not a folder")
    with _writing(out / "figures"):
        (out / "figures").mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with _writing(path):
        try:
            tmp.write_text(text)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def reproduce(
    out: str | Path,
    plan: Plan,
    seed: int = 0,
    only: Sequence[str] | None = None,
    progress: bool | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Run the studies (all, or ``only`` those named), then write ``results.json``,
    ``report.md`` and ``figures/*.png`` in ``out``. Returns the results.

    ``executor`` (default: this process) runs the studies' parallel parts (ensembles,
    exact all-pairs barriers, landscapes; ``docs/cluster.md``). It is not part of any
    store key: the results are the same whatever runs them, so a run started on one
    executor resumes on another. ``results["executor"]`` records its settings."""
    names = list(only or STUDIES)
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        raise ValueError(f"unknown studies {unknown}; choose from {list(STUDIES)}")
    out = prepare_out(Path(out))
    with run_lock(out / "store.sqlite"):
        return _reproduce(out, plan, seed, names, progress, executor)


def _reproduce(out: Path, plan: Plan, seed: int, names: list[str], progress: bool | None,
               executor: Executor | None) -> dict[str, Any]:  # fmt: skip
    show = sys.stderr.isatty() if progress is None else progress
    log = out / "run.log"
    store = LoggedStore(out / "store.sqlite", log)
    where = executor.describe() if executor is not None else {"executor": "in-process"}
    _append(log, f"start plan={plan.name} seed={seed} studies={','.join(names)} "
                 f"executor={json.dumps(where, sort_keys=True)}")  # fmt: skip
    results: dict[str, Any] = {"plan": plan.to_json(), "seed": seed, "studies": {}}
    started = time.perf_counter()
    reused: list[str] = []
    for name in names:
        key = f"study/{name}/{digest(plan.to_json(), seed, __version__)}"
        t0 = time.perf_counter()
        section = store.get(key)
        if section is None:
            _say(show, f"[{name}] running ...")
            store.start_clock(key)
            section = STUDIES[name](plan, seed, store, show, executor)
            clock = store.clock()
            section["seconds"] = round(clock["seconds"], 2)
            section["runs"] = clock["runs"]
            section["seconds_this_run"] = round(time.perf_counter() - t0, 2)
            store.put(key, section)
            _say(show, f"[{name}] done in {section['seconds_this_run']:.1f} s" + (
                f" ({section['seconds']:.1f} s over {clock['runs']} runs)"
                if clock["runs"] > 1 else ""))  # fmt: skip
        else:
            _say(show, f"[{name}] reused from {store.path}")
            _append(log, f"reused {key}")
            reused.append(name)
        results["studies"][name] = section
    results["seconds"] = round(time.perf_counter() - started, 2)
    results["bookkeeping"] = bookkeeping(results["studies"], reused)
    results["executor"] = executor.describe() if executor is not None else where
    write_atomic(out / "results.json", json.dumps(results, indent=2, allow_nan=True))
    with _writing(out / "figures"):
        figures = report.figures(results, out / "figures")
    write_atomic(out / "report.md", report.markdown(results, figures, out))
    _append(log, "finished")
    print(report.summary(results, out))
    return results

"""A small resumable result store: string keys to JSON values, in one SQLite file.

Long computations (all-pairs barriers, ensembles, landscapes) write each finished item
under a key that names *what* was computed (inputs' hashes and settings), so that a rerun
after an interrupt reuses everything finished and recomputes only what is missing. Each
:meth:`Store.put` is one committed SQLite transaction: an item is either fully written or
absent, never half-written. ``Store(None)`` (or ``":memory:"``) keeps items in memory
only. See ``docs/homotopy.md``, section "Resumable runs".

Integrity: opening a store file runs SQLite's ``quick_check``, and every value is stored
with a checksum (sha256 of its JSON text) that is verified when it is read. A damaged
file, an unwritable one and a full disk raise :class:`StoreError`, whose message names
the file and what to do; a damaged file is never written to. :func:`run_lock` keeps two
runs from working on one store at once (``docs/reproduce.md``, "Faults").

>>> s = Store(None)
>>> s.put("pair/ab", {"height": 0.5})
>>> s.get("pair/ab"), "pair/ab" in s, s.get("missing", 0)
({'height': 0.5}, True, 0)
>>> s.put_many({"pair/ac": 1, "other": 2}); sorted(s.keys("pair/"))
['pair/ab', 'pair/ac']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: run_lock does not lock
    fcntl = None  # type: ignore[assignment]

_SCHEMA = "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, value TEXT NOT NULL, sum TEXT)"
_HEADER = b"SQLite format 3\x00"


class StoreError(RuntimeError):
    """A store that cannot be used as it is: damaged, unwritable, on a full disk, or in use
    by another run. The message names the file and what to do."""


def _damaged(path: object, why: str) -> StoreError:
    """The error for a damaged store file (which is left as it is)."""
    return StoreError(
        f"the store {str(path)!r} is damaged ({why}). It was not modified. Move it aside "
        f"(mv {str(path)!r} {str(path)!r}.damaged) and run the same command again: "
        "what it held is recomputed."
    )


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digest(*parts: Any) -> str:
    """A stable hex key (sha256, 24 hex digits) of JSON-serializable parts or bytes."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:24]


def tensor_digest(t: Any) -> str:
    """:func:`digest` of a tensor's dtype and values (bit-identical tensors of one dtype
    and size share it; shape matters only through the size)."""
    values = t.detach().cpu().contiguous().numpy().tobytes()
    return digest(str(t.dtype), values)


class Store:
    """Key -> JSON value, persisted in the SQLite file ``path`` (``None``: in memory).

    Values must be JSON-serializable (``float('nan')`` and infinities are allowed). Safe
    to share between threads of one process and between processes (SQLite locking).
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float = 60.0) -> None:
        location = ":memory:" if path in (None, ":memory:") else Path(path)
        if isinstance(location, Path):
            _check_file(location)
        self.path = location
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(location), timeout=timeout, check_same_thread=False)
            with self._lock, self._db:
                self._open()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def _open(self) -> None:
        """Check the file, then create the table (or add the checksum column to a store
        written before checksums, filling it in)."""
        if self.path != ":memory:":
            problems = [r[0] for r in self._db.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise _damaged(self.path, "SQLite's quick check: " + "; ".join(problems))
        self._db.execute(_SCHEMA)
        columns = [r[1] for r in self._db.execute("PRAGMA table_info(items)")]
        if "sum" not in columns:
            self._db.create_function("catcore_sum", 1, _checksum, deterministic=True)
            self._db.execute("ALTER TABLE items ADD COLUMN sum TEXT")
            self._db.execute("UPDATE items SET sum = catcore_sum(value)")

    def _error(self, exc: sqlite3.Error) -> StoreError:
        """The :class:`StoreError` for an SQLite error on this store."""
        text = str(exc)
        if "full" in text:
            return StoreError(
                f"the disk holding the store {str(self.path)!r} is full ({text}). Every item "
                "finished before is kept; free some space and run the same command again "
                "to resume."
            )
        if "readonly" in text or "unable to open" in text or "permission" in text.lower():
            return StoreError(
                f"cannot write the store {str(self.path)!r} ({text}): make the file and its "
                "folder writable, or choose another output folder."
            )
        if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
            return StoreError(f"the store {str(self.path)!r} stayed locked by another "
                              f"process ({text}); wait for it to finish.")  # fmt: skip
        return _damaged(self.path, text)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, items={len(self)})"

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (replacing any old value) in one transaction."""
        self.put_many({key: value})

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Store several items in one transaction (all or none are written)."""
        rows = []
        for k, v in items.items():
            text = json.dumps(v)
            rows.append((self._key(k), text, _checksum(text)))
        with self._lock:
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", rows)
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` when there is none."""
        row = self._query("SELECT key, value, sum FROM items WHERE key = ?", (self._key(key),))
        return default if not row else self._value(*row[0])

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def _value(self, key: str, text: str, stored_sum: str | None) -> Any:
        """The JSON value of one row, after its checksum is verified."""
        if stored_sum != _checksum(text):
            raise _damaged(self.path, f"the value under {key!r} does not match its checksum")
        try:
            return json.loads(text)
        except ValueError:
            raise _damaged(self.path, f"the value under {key!r} is not valid JSON") from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, in sorted order."""
        for key, _ in self.items(prefix):
            yield key

    def items(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, in key order."""
        rows = self._query(
            "SELECT key, value, sum FROM items WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        for key, text, stored_sum in rows:
            yield key, self._value(key, text, stored_sum)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            try:
                with self._db:
                    self._db.execute("DELETE FROM items WHERE key = ?", (self._key(key),))
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM items", ())[0][0])

    def close(self) -> None:
        """Close the underlying database connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _key(key: object) -> str:
        if not isinstance(key, str):
            raise TypeError(f"store keys are strings, got {type(key).__name__}: {key!r}")
        return key


_MISSING = object()


def _check_file(path: Path) -> None:
    """Refuse a folder, a file that is not an SQLite database, and a folder that cannot
    be created; never modify what is there."""
    if path.is_dir():
        raise StoreError(f"the store path {str(path)!r} is a folder; give a file name")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            if fh.read(len(_HEADER)) != _HEADER:
                raise _damaged(path, "its header is not an SQLite header")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder of the store {str(path)!r} "
                         f"({exc.strerror}); choose another output folder.") from None


@contextlib.contextmanager
def run_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the store ``path`` (through ``path + ".lock"``, which
    records the holder's pid) for the duration of a run; a second run on the same store
    gets a :class:`StoreError` naming the holder at once. The operating system releases
    the lock when the holder ends, however it ends (a SIGKILL leaves no stale lock)."""
    lock_path = Path(f"{path}.lock")
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        fh = lock_path.open("a+")
    except OSError as exc:
        raise StoreError(f"cannot write {str(lock_path)!r} ({exc.strerror}): make the "
                         "folder writable, or choose another output folder.") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise StoreError(
                f"another run (pid {holder}) is using the store {str(path)!r}; wait for it "
                "to finish (this command then resumes from what it stored), or choose "
                "another output folder."
            ) from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

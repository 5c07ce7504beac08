"""A small resumable result store: string keys to JSON values, in one SQLite file.

Long computations (all-pairs barriers, ensembles, landscapes) write each finished item
under a key that names *what* was computed (inputs' hashes and settings), so that a rerun
after an interrupt reuses everything finished and recomputes only what is missing. Each
:meth:`Store.put` is one committed SQLite transaction: an item is either fully written or
absent, never half-written. ``Store(None)`` (or ``":memory:"``) keeps items in memory
only. See ``docs/homotopy.md``, section "Resumable runs".

>>> s = Store(None)
>>> s.put("pair/ab", {"height": 0.5})
>>> s.get("pair/ab"), "pair/ab" in s, s.get("missing", 0)
({'height': 0.5}, True, 0)
>>> s.put_many({"pair/ac": 1, "other": 2}); sorted(s.keys("pair/"))
['pair/ab', 'pair/ac']
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


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
            if location.is_dir():
                raise ValueError(f"store path {str(location)!r} is a folder; give a file name")
            location.parent.mkdir(parents=True, exist_ok=True)
        self.path = location
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(location), timeout=timeout, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, items={len(self)})"

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (replacing any old value) in one transaction."""
        self.put_many({key: value})

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Store several items in one transaction (all or none are written)."""
        rows = [(self._key(k), json.dumps(v)) for k, v in items.items()]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?)", rows)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` when there is none."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM items WHERE key = ?", (self._key(key),)
            ).fetchone()
        return default if row is None else json.loads(row[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, in sorted order."""
        for key, _ in self.items(prefix):
            yield key

    def items(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, in key order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM items WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix),
            ).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM items WHERE key = ?", (self._key(key),))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

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

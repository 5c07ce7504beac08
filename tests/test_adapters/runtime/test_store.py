"""The store refuses what it cannot trust and keeps what it has: damaged files (truncated,
header overwritten, garbage in the middle, a bad row) are named and left untouched, a full
disk keeps every finished item, and two runs cannot hold one store at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.runtime.store import Store, StoreError, run_lock


def _filled(path: Path, n: int = 400, size: int = 4000) -> dict[str, str]:
    values = {f"item/{i:04d}": f"{i:04d}" * (size // 4) for i in range(n)}
    with Store(path) as s:
        s.put_many(values)
    return values


def _read_all(path: Path) -> None:
    with Store(path) as s:
        list(s.items())


def test_values_carry_a_checksum_that_is_verified(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        s.put("a", {"x": [1.5, float("inf")]})
        assert s.get("a") == {"x": [1.5, float("inf")]}
    with sqlite3.connect(path) as con:
        (text, stored), = con.execute("SELECT value, sum FROM items WHERE key = 'a'")
        assert len(stored) == 16 and json.loads(text)["x"][0] == 1.5
        con.execute("UPDATE items SET value = ? WHERE key = 'a'", ('{"x": [2.5, Infinity]}',))
    with Store(path) as s, pytest.raises(StoreError, match="'a' does not match its checksum"):
        s.get("a")


def test_a_store_written_before_checksums_is_read_and_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE items (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.execute("INSERT INTO items VALUES ('k', '[1, 2]')")
    with Store(path) as s:
        assert s.get("k") == [1, 2]
        s.put("n", 3)
        assert dict(s.items()) == {"k": [1, 2], "n": 3}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _overwrite_header(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.write(b"\0" * 100)


def _garbage_in_the_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(size // 2 - 128 * 1024)
        fh.write(os.urandom(256 * 1024))


@pytest.mark.parametrize("damage", [_truncate, _overwrite_header, _garbage_in_the_middle])
def test_a_damaged_store_is_named_and_left_as_it_is(tmp_path, damage):
    path = tmp_path / "s.sqlite"
    _filled(path)
    assert path.stat().st_size > 1_000_000
    damage(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is damaged") as err:
        _read_all(path)
    assert str(path) in str(err.value) and "Move it aside" in str(err.value)
    assert path.read_bytes() == before, "a damaged store was modified"


def test_a_row_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "s.sqlite"
    _filled(path, n=3)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE items SET value = '{not json', sum = NULL WHERE key = 'item/0001'")
    with Store(path) as s:
        assert s.get("item/0000") is not None
        with pytest.raises(StoreError, match="'item/0001'"):
            s.get("item/0001")


def test_a_full_disk_keeps_every_finished_item(tmp_path):
    path = tmp_path / "s.sqlite"
    values = _filled(path, n=20)
    with Store(path) as s:
        pages = s._db.execute("PRAGMA page_count").fetchone()[0]
        s._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk fills up here
        with pytest.raises(StoreError, match="is full.*Every item finished before is kept"):
            s.put_many({f"big/{i}": "x" * 100_000 for i in range(3)})
    with Store(path) as s:
        assert dict(s.items()) == values


def test_a_folder_or_an_impossible_path_is_refused(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(StoreError, match="cannot create the folder"):
        Store(afile / "store.sqlite")


def test_two_holders_of_one_store_are_refused_until_the_first_ends(tmp_path):
    path = tmp_path / "s.sqlite"
    with run_lock(path):
        with pytest.raises(StoreError, match=rf"another run \(pid {os.getpid()}\)"):
            with run_lock(path):
                pass
    with run_lock(path):  # released with its holder
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "s.sqlite"
    code = ("import sys, time; from adapters.runtime.store import run_lock\n"
            f"with run_lock({str(path)!r}):\n    print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(StoreError, match=rf"pid {proc.pid}"):
        with run_lock(path):
            pass
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while True:
        try:
            with run_lock(path):
                break
        except StoreError:
            assert time.time() < deadline, "the lock outlived its killed holder"
            time.sleep(0.1)

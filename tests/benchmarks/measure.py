"""One ``catcore`` command in a fresh process, its JSON result with the exit status and
the process's peak resident set size (``peak_mb``) added: the memory figures of the
benchmarks are per command, not per test session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_WRAPPER = """
import contextlib, io, json, resource, sys
from adapters.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main(sys.argv[1:])
result = json.loads(out.getvalue())
result["status"] = status
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def measured(command: str, *args: str) -> dict:
    """``catcore COMMAND --json ARGS...`` in a subprocess; fails on a non-zero exit."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, command, "--json", *args],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])

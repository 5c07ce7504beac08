"""Without the ``nets`` extra the core still works: ``catcore laws`` runs, the adapters'
commands and names say which extra to install (``.ci/run`` checks the same in a real
virtual environment with only the core installed)."""

from __future__ import annotations

import subprocess
import sys

BLOCK = """
import importlib.abc, sys
NETS = {"torch", "ripser", "persim", "sklearn", "matplotlib", "tqdm"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in NETS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
import importlib.util
_find = importlib.util.find_spec
importlib.util.find_spec = lambda n, *a: None if n.split(".")[0] in NETS else _find(n, *a)
"""


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=300
    )


def test_laws_run_and_torch_commands_name_the_extra():
    out = run(
        "from adapters.cli import main\n"
        "assert main(['laws', '--max-examples', '2']) == 0\n"
        "assert main(['verify', '--model', 'x:y']) == 2\n"
        "assert main(['reproduce', '--quick']) == 2\n"
        "assert 'torch' not in sys.modules\n"
    )
    assert out.returncode == 0, out.stderr
    assert "catcore[nets]" in out.stderr and "Traceback" not in out.stderr


def test_asking_the_facade_for_an_adapter_names_the_extra():
    out = run("import adapters\nadapters.Engine\n")
    assert out.returncode != 0
    assert "MissingExtra" in out.stderr and "catcore[nets]" in out.stderr

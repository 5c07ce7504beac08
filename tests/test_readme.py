"""The README's worked example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_catches_the_broken_clock(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    assert namespace["report"].ok
    failures = namespace["broken"].failures
    assert failures and failures[0].law in {"left identity", "right identity"}
    assert "fails on" in capsys.readouterr().out


def test_readme_test_command_matches_ci():
    ci = (README.parent / ".ci" / "run").read_text()
    command = re.search(r"&& (python -m pytest[^\n`]*)", README.read_text()).group(1)
    assert command.strip() in ci

"""The layering of ``docs/architecture.md``, checked on the import graph: imports point one
way (catcore <- nets, runtime <- categories <- constructions <- studies <- cli), nothing
imports the command line, no two modules or packages import each other in a circle, and
catcore never imports torch or the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What each package may import besides itself (catcore is allowed everywhere but in itself).
ALLOWED = {
    "catcore": set(),
    "adapters.extras": set(),
    "adapters.nets": {"adapters.extras"},
    "adapters.runtime": {"adapters.extras"},
    "adapters.categories": {"adapters.nets", "adapters.extras"},
    "adapters.constructions": {
        "adapters.nets", "adapters.runtime", "adapters.categories", "adapters.extras"
    },
    "adapters.studies": {
        "adapters.nets", "adapters.runtime", "adapters.categories", "adapters.constructions",
        "adapters.extras",
    },
    "adapters.cli": {
        "adapters.nets", "adapters.runtime", "adapters.categories", "adapters.constructions",
        "adapters.studies", "adapters.extras", "proofs_check",
    },
    "adapters": {"adapters.extras"},
    "proofs_check": {
        "adapters", "adapters.nets", "adapters.runtime", "adapters.categories",
        "adapters.constructions", "adapters.extras",
    },
}  # fmt: skip


def modules() -> dict[str, Path]:
    out = {}
    for top in ("catcore", "adapters", "proofs_check"):
        for p in (ROOT / top).rglob("*.py"):
            name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = p
    return out


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules imported by the file, at any depth (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in known}
    return found


def package(module: str) -> str:
    """The layer a module belongs to (``adapters.nets``, ``catcore``, ...)."""
    parts = module.split(".")
    if parts[0] != "adapters":
        return parts[0]
    return ".".join(parts[:2]) if len(parts) > 1 else "adapters"


GRAPH = {m: imports(p, modules()) - {m} for m, p in modules().items()}


def test_imports_point_down_the_layers():
    wrong = []
    for m, deps in GRAPH.items():
        mine = package(m)
        for d in deps:
            theirs = package(d)
            if theirs == mine or (theirs == "catcore" and mine != "catcore"):
                continue
            if theirs not in ALLOWED[mine] and not d.startswith(m + "."):
                wrong.append(f"{m} imports {d}")
    assert not wrong, "\n".join(sorted(wrong))


def test_nothing_imports_the_command_line():
    users = [m for m, deps in GRAPH.items() for d in deps
             if d.startswith("adapters.cli") and not m.startswith("adapters.cli")]  # fmt: skip
    assert not users, users


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_modules_or_packages():
    parents = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in GRAPH.items()}
    assert _cycles(parents) == []
    packages: dict[str, set[str]] = {}
    for m, deps in GRAPH.items():
        packages.setdefault(package(m), set()).update(package(d) for d in deps)
    for p in packages:
        packages[p].discard(p)
    assert _cycles(packages) == []


def test_catcore_imports_neither_torch_nor_the_adapters():
    for m, p in modules().items():
        if package(m) != "catcore":
            continue
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                assert not any(n.split(".")[0] in {"torch", "adapters"} for n in names), m

"""No import cycles: every fpbench module imports alone in a clean interpreter, and the packages' import graph
(imports inside functions included) has no cycle."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import fpbench

ROOT = Path(fpbench.__file__).resolve().parent

#: Known cycles between packages that are not fixed yet (each names the modules that close it).
#: Imports every module given on stdin after dropping all fpbench modules, so that each import starts from a
#: clean fpbench (third-party libraries stay loaded: the check is fast). Prints {module: error}.
IMPORT_EACH = """
import importlib, json, sys
failures = {}
for name in json.load(sys.stdin):
    for loaded in [m for m in sys.modules if m == "fpbench" or m.startswith("fpbench.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as e:
        failures[name] = f"{type(e).__name__}: {e}"
print(json.dumps(failures))
"""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(_module_name(p) for p in ROOT.rglob("*.py"))


def test_every_module_imports_alone() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT.parent), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", IMPORT_EACH], input=json.dumps(MODULES), capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}


def _imported(path: Path) -> set[str]:
    """fpbench modules that ``path`` imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            out.add(".".join(base + ([node.module] if node.module else [])))
    return {m for m in out if m.startswith("fpbench.")}


def _unit(module: str) -> str:
    return ".".join(module.split(".")[:2])  # fpbench.zoo.user -> fpbench.zoo; fpbench.runner stays


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        src = _unit(_module_name(path))
        graph.setdefault(src, set()).update(
            u for u in map(_unit, _imported(path)) if u not in (src, "fpbench"))  # the root package is imported by all
    assert not _cycles(graph)

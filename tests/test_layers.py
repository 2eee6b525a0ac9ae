"""The layer rule of ARCHITECTURE.md, enforced: who may import what."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = {"mock": "usagekit.mock", "conformance": "usagekit.conformance", "cli": "usagekit.cli"}

WEB = {"connexion", "starlette", "uvicorn", "httpx", "requests", "a2wsgi"}
CLI = {"click", "usagekit.cli"}
TOOLS = {"schemathesis", "hypothesis", "faker", "pandas", "duckdb"}

# module prefix -> imports it must not make
FORBIDDEN = {
    "usagekit.mock.core": WEB | CLI | TOOLS | {"usagekit.mock.datasets", "usagekit.mock.server"},
    "usagekit.mock.datasets": WEB | CLI | {"schemathesis", "usagekit.mock.server"},
    # Wire helpers both the server and the proxy use: the standard library only.
    "usagekit.mock.wire": WEB | CLI | TOOLS | {"numpy", "yaml", "usagekit"},
    "usagekit.mock.bounds": WEB | CLI | TOOLS | {"numpy", "yaml", "usagekit"},
    "usagekit.mock.hosts": WEB | CLI | TOOLS | {"numpy", "yaml", "usagekit"},
    # The whole-answer hook both servers' protocols install: uvicorn and the wire only.
    "usagekit.mock.whole": (WEB - {"uvicorn"})
    | CLI
    | TOOLS
    | {"numpy", "yaml", "usagekit.mock.core", "usagekit.mock.datasets", "usagekit.mock.server"},
    # Run by a bare interpreter (`python -I -S`) in the multi-worker server's parent's stead.
    "usagekit.mock.server.supervisor": WEB | CLI | TOOLS | {"numpy", "yaml", "usagekit"},
    "usagekit.mock": CLI | {"usagekit.conformance"},
    "usagekit.conformance": CLI | {"usagekit.mock.server"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join([package, *parts]), path


def imports(name: str, path: Path) -> Iterator[tuple[str, ast.stmt]]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target, node


MODULES = list(modules())


def test_there_are_modules_to_check() -> None:
    names = {name for name, _ in MODULES}
    assert {"usagekit.mock.core.aggregate", "usagekit.mock.core.buckets"} <= names


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_module_respects_the_layer_rule(name: str, path: Path) -> None:
    rules = [bad for prefix, rule in FORBIDDEN.items() if _within(name, prefix) for bad in rule]
    broken = [
        f"line {node.lineno}: {name} imports {target}"
        for target, node in imports(name, path)
        if any(_within(target, bad) for bad in rules)
    ]
    assert not broken, broken


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_are_at_module_level(name: str, path: Path) -> None:
    """No import hidden inside a function to dodge a cycle (TYPE_CHECKING blocks are fine)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = [
        f"line {inner.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert not hidden, f"{name}: imports inside functions at {hidden}"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from pkg import module`` counts as module)."""
    known = {name for name, _ in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in MODULES:
        edges = graph.setdefault(name, set())
        for target, node in imports(name, path):
            names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
            submodules = {f"{target}.{n}" for n in names} & known
            edges |= submodules or ({target} & known)
        edges.discard(name)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            found = visit(target, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or around a circle (TYPE_CHECKING included)."""
    cycle = _cycle(_import_graph())
    assert cycle is None, " -> ".join(cycle or ())


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_proxy_is_a_judge_of_traffic_in_the_kit() -> None:
    """ARCHITECTURE.md: the proxy, HAR replay and the kit's ledger live in the kit; the
    ledger they share with the mock lives in the core, and the mock reaches it there."""
    names = dict(MODULES)
    kit = {"proxy", "proxying", "traffic", "har", "replay", "coverage"}
    assert {f"usagekit.conformance.{m}" for m in kit} <= set(names)
    assert {"usagekit.mock.core.coverage", "usagekit.mock.core.ledger"} <= set(names)
    for name in ("usagekit.conformance.proxy", "usagekit.conformance.traffic"):
        targets = {target for target, _ in imports(name, names[name])}
        assert not any(_within(t, "usagekit.mock.server") for t in targets), name
    server = {target for target, _ in imports(*_named("usagekit.mock.server.coverage", names))}
    assert {"usagekit.mock.core.coverage", "usagekit.mock.core.ledger"} <= server
    kit = {target for target, _ in imports(*_named("usagekit.conformance.coverage", names))}
    assert {"usagekit.mock.core.coverage", "usagekit.mock.core.ledger"} <= kit


def _named(name: str, names: dict[str, Path]) -> tuple[str, Path]:
    return name, names[name]


def test_the_mock_command_starts_without_the_kit() -> None:
    """``usagekit mock`` imports its own module only: schemathesis is ~0.6 s of a start."""
    code = (
        "import sys\nfrom usagekit.cli.main import main\n"
        "main.get_command(None, 'mock')\n"
        "kit = ('schemathesis', 'usagekit.conformance.')\n"
        "print(sorted(m for m in sys.modules if m.startswith(kit) and 'provenance' not in m))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout

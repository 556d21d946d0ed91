"""The layering the design promises, checked on the source (AST, nothing imported): imports run
cli -> neural -> ngram -> tokenizers_kit and never back; no module-level import cycles anywhere; and inside
tokenizers_kit none at all, lazy imports in functions included (a lazy import hides a cycle, it does not remove
it). Imports under `if TYPE_CHECKING:` never run and do not count."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["tokenizers_kit", "ngram", "neural", "cli"]  # each may import only those before it (and itself)


def modules(packages: list[str] = LAYERS) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def runtime_nodes(body: list[ast.stmt], top_level_only: bool) -> Iterator[ast.AST]:
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from runtime_nodes(node.orelse, top_level_only)
            continue
        yield node
        if not top_level_only:
            for child in ast.iter_child_nodes(node):
                yield from runtime_nodes([child], top_level_only)  # type: ignore[list-item]


def imports(path: Path, top_level_only: bool) -> set[str]:
    """Project names the file imports: `from a.b import c` counts a.b and a.b.c (which matters if c is a
    module)."""
    out: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8")).body, top_level_only):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in out if name.split(".")[0] in LAYERS}


def import_graph(packages: list[str], top_level_only: bool) -> dict[str, set[str]]:
    known = modules(packages)
    graph = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"  # a package importing its own submodules is no cycle
        graph[name] = {t for t in imports(path, top_level_only)
                       if t in known and t != name and not (is_package and t.startswith(name + "."))}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                on_stack.discard(w)
                component.append(w)
            on_stack.discard(v)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_imports_run_one_way():
    wrong = []
    for name, path in modules().items():
        layer = LAYERS.index(name.split(".")[0])
        wrong += [f"{name} imports {t}" for t in imports(path, top_level_only=False)
                  if LAYERS.index(t.split(".")[0]) > layer]
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_no_module_level_import_cycles():
    assert cycles(import_graph(LAYERS, top_level_only=True)) == []


def test_no_import_cycles_in_tokenizers_kit_even_lazy():
    assert cycles(import_graph(["tokenizers_kit"], top_level_only=False)) == []


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []

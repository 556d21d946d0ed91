"""The layering the design promises, checked on the source: imports run cli -> neural -> ngram ->
tokenizers_kit and never back (lazy imports inside functions included), and no module-level import cycles."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["tokenizers_kit", "ngram", "neural", "cli"]  # each may import only those before it (and itself)


def modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, top_level_only: bool) -> set[str]:
    """Names of project modules imported by the file (`from a.b import c` counts a.b, and a.b.c if it is
    a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:  # `if TYPE_CHECKING:` blocks never run; nested scopes count unless top_level_only
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        nodes.append(node)
        if not top_level_only:
            pending.extend(ast.iter_child_nodes(node))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in out if name.split(".")[0] in LAYERS}


def test_imports_run_one_way():
    wrong = []
    for name, path in modules().items():
        layer = LAYERS.index(name.split(".")[0])
        for target in imports(path, top_level_only=False):
            if LAYERS.index(target.split(".")[0]) > layer:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_no_module_level_import_cycles():
    known = modules()
    graph = {name: {t for t in imports(path, top_level_only=True) if t in known and t != name}
             for name, path in known.items()}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "module-level import cycles:\n" + "\n".join(cycles)

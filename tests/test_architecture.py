"""The house rules a newcomer relies on: no import cycles, no private names used across modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("gis", "layers", "api")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, ast.ImportFrom | ast.Import]]:
    """(imported module of ours, the statement) for every import in the file, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = name.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0) or None]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for named in targets:
            target = named
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, node))
    return found


def test_no_import_cycles():
    modules = _modules()
    graph = {name: {t for t, _ in _imports(name, path, modules)} for name, path in modules.items()}
    cycles, state, stack = [], {}, []

    def visit(v: str) -> None:  # depth-first: a back edge closes a cycle
        state[v] = "open"
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == "open":
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_no_private_name_is_imported_from_another_module():
    modules = _modules()
    used = set()
    for name, path in modules.items():
        for _, node in _imports(name, path, modules):
            if isinstance(node, ast.ImportFrom):
                used |= {f"{name} imports {node.module}.{a.name}" for a in node.names
                         if a.name.startswith("_") and not a.name.startswith("__")}
    assert not used, sorted(used)


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"split these modules (lines): {long}"


#: private members of other libraries that are used on purpose, with why
FOREIGN_PRIVATE = {"_load_fontmanager": "matplotlib: rebuild its font list after a font file is added"}


def test_no_private_member_is_used_outside_its_module():
    """``x._name`` (x not self or cls) only where the module itself defines or assigns ``_name``."""
    used = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.arg):
                own.add(node.arg)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and node.attr not in own and node.attr not in FOREIGN_PRIVATE):
                used.append(f"{name}:{node.lineno} .{node.attr}")
    assert not used, used


#: what each package may import of ours
LAYERS = {"gis": {"gis"}, "layers": {"gis", "layers"}, "api": {"gis", "layers", "api"}}


def test_packages_import_downwards_only():
    modules = _modules()
    wrong = sorted({f"{name} imports {target}" for name, path in modules.items()
                    for target, _ in _imports(name, path, modules)
                    if target.split(".")[0] not in LAYERS[name.split(".")[0]]})
    assert not wrong, wrong

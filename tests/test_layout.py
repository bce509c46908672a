"""The package layout is the data flow: imports point down it, never up, never in a circle.

    errors <- types, settings, language, cpu <- ingest <- embedding <- index <- retrieval
           <- answer <- briefing <- eval, ui <- cli <- `python -m rag`, the `rag` facade

A module may import its own package's modules and anything in a lower layer. Modules that
share a layer but not a package (types and settings, eval and ui) may not import each other.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = (
    ("rag.errors",),
    ("rag.types", "rag.settings", "rag.language", "rag.cpu"),
    ("rag.ingest",),
    ("rag.embedding",),
    ("rag.index",),
    ("rag.retrieval",),
    ("rag.answer",),
    ("rag.briefing",),
    ("rag.eval", "ui"),
    ("rag.cli",),
    ("rag.__main__", "rag"),
)
MAX_LINES = 350
MAX_TOP_LEVEL_MODULES = 6


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    files = [*REPO.joinpath("rag").rglob("*.py"), *REPO.joinpath("ui").rglob("*.py")]
    return {module_name(path): path for path in files}


def imported_modules(path: Path, modules: dict[str, Path], type_hints: bool = True) -> set[str]:
    """Project modules `path` imports, at module level or inside functions alike (and, with
    `type_hints`, under `if TYPE_CHECKING:`, which runs only for type checkers)."""
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hinted = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if not type_hints and id(node) in hinted:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return {name for name in found if name in modules}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def import_graph(modules: dict[str, Path], type_hints: bool = True) -> dict[str, set[str]]:
    return {name: imported_modules(path, modules, type_hints) for name, path in modules.items()}


def unit(module: str) -> tuple[int, str]:
    """(layer, package) of a module: the longest layer entry it falls under."""
    matches = [(len(entry), rank, entry) for rank, entries in enumerate(LAYERS) for entry in entries
               if module == entry or module.startswith(entry + ".")]
    if not matches:
        raise AssertionError(f"{module} is in no layer of LAYERS; add its package there")
    _, rank, entry = max(matches)
    return rank, entry


def wrong_direction(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up the flow, or sideways into another package of the same layer."""
    problems = []
    for module, targets in graph.items():
        layer, package = unit(module)
        for target in sorted(targets):
            target_layer, target_package = unit(target)
            if target_layer > layer or (target_layer == layer and target_package != package):
                problems.append(f"{module} imports {target} ({package} may not import {target_package})")
            if target == "rag" and module != "rag":
                problems.append(f"{module} imports the `rag` facade; import from the module that defines the name")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles among project modules (each found once, as a path that returns to its start)."""
    found, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_imports_point_down_the_flow():
    assert wrong_direction(import_graph(project_modules())) == []


def test_no_import_cycles():
    # A type hint may name the module that calls it back (a cycle only for the type checker).
    assert cycles(import_graph(project_modules(), type_hints=False)) == []


def test_the_checker_catches_an_upward_import_and_a_cycle():
    graph = import_graph(project_modules())
    graph["rag.index.build"] = graph["rag.index.build"] | {"rag.answer.answerer"}
    assert any("rag.index.build imports rag.answer.answerer" in p for p in wrong_direction(graph))
    graph["rag.types"] = {"rag.settings"}
    assert any("rag.types imports rag.settings" in p for p in wrong_direction(graph))
    graph["rag.errors"] = {"rag.types"}
    graph["rag.types"] = {"rag.errors"}
    assert any(set(cycle) == {"rag.errors", "rag.types"} for cycle in cycles(graph))


@pytest.mark.parametrize("path", sorted([*REPO.joinpath("rag").rglob("*.py"), *REPO.joinpath("ui").rglob("*.py")]),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_modules_stay_small(path: Path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_top_level_of_rag_is_a_handful_of_modules():
    top = sorted(p.name for p in REPO.joinpath("rag").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top

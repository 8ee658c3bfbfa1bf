"""The layering of DESIGN.md, checked by reading imports: gradio only in speechforget/ui/,
plotly only in speechforget/viz/ and ui/; the UI never imports torch (it knows no tensors)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "speechforget"
RULES = {  # top-level module -> sub-packages allowed to import it
    "gradio": ("ui",),
    "gradio_client": ("ui",),
    "plotly": ("viz", "ui"),
    "spaces": ("ui",),
}
FORBIDDEN_IN_UI = ("torch", "torchaudio", "safetensors")


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports (also inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def area(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else ""


@pytest.mark.parametrize("module, allowed", RULES.items())
def test_heavy_ui_libraries_stay_in_their_layer(module, allowed):
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in files()
        if area(p) not in allowed and module in imported_modules(p)
    ]
    assert not offenders, f"{module} imported outside {allowed}: {offenders}"


def test_ui_knows_no_tensors():
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in files()
        if area(p) == "ui" and imported_modules(p) & set(FORBIDDEN_IN_UI)
    ]
    assert not offenders, f"the UI imports tensor libraries: {offenders}"


def test_the_checker_sees_imports(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import os\ndef g():\n    from plotly import graph_objects\nimport gradio as gr\n")
    assert imported_modules(f) >= {"plotly", "gradio", "os"}


def test_app_py_is_a_thin_entry_point():
    app = PACKAGE.parent / "app.py"
    assert "gradio" not in imported_modules(app) and "speechforget" in imported_modules(app)
    assert len(app.read_text().splitlines()) < 30


# ---- no import cycles among speechforget's modules ------------------------------------------


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def internal_imports(path: Path, modules: set[str], package_dir: Path = PACKAGE) -> set[str]:
    """The speechforget modules a file imports, at module level or inside functions,
    leaving out imports under `if TYPE_CHECKING:`. `from a.b import c` counts as an
    import of a.b.c when that is a module, else of a.b; relative imports are resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path, package_dir)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                full = f"{base}.{a.name}"
                out.add(full if full in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in out if m in modules and m != me}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the package's modules it imports} for every module of the package."""
    paths = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    return {m: internal_imports(p, set(paths), package) for m, p in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (found := dfs(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := dfs(m)):
            return found
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_checker_finds_a_cycle_in_function_local_imports(tmp_path):
    pkg = tmp_path / "speechforget"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from speechforget import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from speechforget import c\n"
        "def f():\n    from .a import x\n"
    )
    (pkg / "c.py").write_text("import speechforget.a\n")
    graph = import_graph(pkg)
    assert graph["speechforget.b"] == {
        "speechforget.a"
    }  # TYPE_CHECKING left out, relative resolved
    assert graph["speechforget.c"] == {"speechforget.a"}
    assert find_cycle(graph) == ["speechforget.a", "speechforget.b", "speechforget.a"]

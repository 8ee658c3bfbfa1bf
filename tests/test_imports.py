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

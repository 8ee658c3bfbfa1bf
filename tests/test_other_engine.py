"""scripts/eval_other_engine.py: keyword accuracy on flite voices (validation only; flite
is never part of the built-in data)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "eval_other_engine.py"


def _module():
    spec = importlib.util.spec_from_file_location("eval_other_engine", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_without_flite_it_says_how_to_install_it(monkeypatch, capsys):
    mod = _module()
    monkeypatch.setattr(mod.shutil, "which", lambda name: None)
    assert mod.main([]) == 2
    assert "apt-get install flite" in capsys.readouterr().err


def test_flite_is_not_a_source_of_the_built_in_data():
    root = SCRIPT.parent.parent / "speechforget"
    for path in root.rglob("*.py"):
        assert "flite" not in path.read_text().lower(), path


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed")
def test_the_shipped_kws_original_on_a_flite_voice():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--voices", "kal,slt", "--stretch", "1.0", "--unknown"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.strip().startswith("kal:") for line in lines)
    total = next(line for line in lines if line.strip().startswith("total:"))
    assert "32 clips" in total  # 2 voices x (10 keywords + 6 new words)
    assert 0.0 <= float(total.split()[1].rstrip("%")) <= 100.0

"""Golden packages for the tricky convert fixtures (jupytext's mirror pattern).

Regenerate after a deliberate change of the generated code with:
    JUPYTER_MLOPS_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/unit/notebooks/test_convert_golden.py
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mlops.notebooks.convert import package_files, package_name
from jupyter_mlops.notebooks.io import read_notebook

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "data" / "notebooks" / "convert"
GOLDEN = ROOT / "tests" / "data" / "golden" / "convert"
NOTEBOOKS = sorted(p for p in FIXTURES.glob("*.ipynb") if not p.name.startswith("bad--"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_converted_package_matches_golden(notebook: Path):
    files = package_files(read_notebook(notebook), package=package_name(notebook), notebook=notebook.name)
    folder = GOLDEN / notebook.stem
    if os.environ.get("JUPYTER_MLOPS_REGEN_GOLDEN"):
        for old in folder.rglob("*.py"):
            old.unlink()
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text, encoding="utf-8")
    expected = {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in folder.rglob("*.py")}
    assert sorted(files) == sorted(expected), "files differ (set JUPYTER_MLOPS_REGEN_GOLDEN=1 to regenerate)"
    for relative, text in files.items():
        assert text == expected[relative], f"{relative} differs from the golden file"


def test_there_are_golden_packages():
    assert len(NOTEBOOKS) >= 3

"""``make demo`` installs the package with its ``examples`` extra only: that must cover what the examples import."""

from __future__ import annotations

import ast
import json
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules() -> set[str]:
    sources = [path.read_text() for path in (ROOT / "example_notebooks").glob("*.py")]
    for notebook in (ROOT / "example_notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        sources += ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    found: set[str] = set()
    for source in sources:
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]  # magics
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_demo_install_covers_every_import_of_the_examples():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["examples"]
    installed_by_demo = {_normalise(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in declared}
    distributions = packages_distributions()
    third_party = {m for m in _imported_modules() if m not in sys.stdlib_module_names and m != "jupyter_mlops"}
    assert {"sklearn", "numpy"} <= third_party  # the parser sees the examples' imports at all
    missing = {m for m in third_party
               if not {_normalise(d) for d in distributions.get(m, [m])} & installed_by_demo}
    assert not missing, f"example notebooks import {sorted(missing)}, which `make demo` does not install"


def test_make_install_uses_the_examples_extra():
    recipe = (ROOT / "Makefile").read_text().split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert 'install -e ".[examples]"' in recipe

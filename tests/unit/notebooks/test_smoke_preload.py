"""--preload's parsing and its static choice of modules (no kernel; ADR-073)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.io import import_nbformat
from jupyter_mlops.notebooks.smoke.options import PYTEST_FLAGS, SmokeOptions
from jupyter_mlops.notebooks.smoke.preload import (
    Preload,
    imported_modules,
    is_installed,
    kernel_expression,
    modules_for,
    parse_preload,
)

import_nbformat()

import nbformat  # noqa: E402
import nbformat.v4 as v4  # noqa: E402


def test_values_are_parsed_into_names_and_auto():
    assert parse_preload(None) is None
    assert parse_preload("numpy, pandas,numpy") == Preload(modules=("numpy", "pandas"))
    assert parse_preload("auto") == Preload(auto=True)
    assert parse_preload("auto,scipy.stats") == Preload(modules=("scipy.stats",), auto=True)


@pytest.mark.parametrize("value", ["", " , ", "numpy;os", "a-b", "1abc", ".rel", "numpy.", "os.system('x')"])
def test_anything_but_module_names_is_refused_with_the_faces_flag(value: str):
    with pytest.raises(InvalidInput, match="^--preload: "):
        SmokeOptions.from_sources({"preload": value}, pyproject={})
    with pytest.raises(InvalidInput, match="^--nb-smoke-preload: "):
        SmokeOptions.from_sources({"preload": value}, pyproject={}, flags=PYTEST_FLAGS)


def test_only_top_level_imports_of_cells_that_run_are_taken():
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("%matplotlib inline\nimport numpy as np, os.path\n!pip list\nfrom pandas.api import types"),
        v4.new_code_cell("try:\n    import scipy\nexcept ImportError:\n    scipy = None\nwith open('x'):\n"
                         "    import json"),
        v4.new_code_cell("if False:\n    import tensorflow\ndef f():\n    import torch\nfrom . import sibling"),
        v4.new_code_cell("import sklearn", metadata={"tags": ["skip-smoke"]}),
        v4.new_code_cell("%%bash\nimport polars"),
        v4.new_code_cell("import (broken"),
        v4.new_markdown_cell("import markdown_is_not_code"),
        v4.new_code_cell("import numpy"),
    ])
    assert imported_modules(nb) == ["numpy", "os.path", "pandas.api", "scipy", "json"]


def test_a_notebook_read_as_plain_json_gives_the_same_modules(tmp_path: Path):
    """``--fork`` names the first notebook's modules to the early zygote from its file's JSON, where a cell's
    source is a list of lines (ADR-118): the same list as from the parsed notebook."""
    import json

    nb = v4.new_notebook(cells=[v4.new_code_cell("import numpy as np\nimport os.path"),
                                v4.new_code_cell("x = 1\nfrom pandas import DataFrame\n%time x")])
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    raw = json.loads(path.read_text())
    assert isinstance(raw["cells"][0]["source"], list)
    assert imported_modules(raw) == imported_modules(nb) == ["numpy", "os.path", "pandas"]


def test_standard_library_and_installed_packages_count_local_modules_do_not(tmp_path: Path):
    project = tmp_path / "proj"
    folder = project / "nbs"
    folder.mkdir(parents=True)
    (folder / "helper.py").write_text("")
    (folder / "pandas.py").write_text("")  # shadows the installed pandas in the kernel, whose cwd is the folder
    assert is_installed("json", folder, project) and is_installed("sys", folder, project)
    assert is_installed("numpy.linalg", folder, project)
    assert not is_installed("helper", folder, project)
    assert not is_installed("pandas", folder, project)
    assert not is_installed("no_such_module_xyz", folder, project)


def test_a_package_under_the_project_is_local_unless_in_site_packages(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "proj"
    src = project / "src"
    site = project / ".venv" / "lib" / "site-packages"
    for where, name in ((src, "ourpkg"), (site, "theirpkg")):
        (where / name).mkdir(parents=True)
        (where / name / "__init__.py").write_text("")
        monkeypatch.syspath_prepend(str(where))
    assert not is_installed("ourpkg", project / "nbs", project)
    assert is_installed("theirpkg", project / "nbs", project)
    assert is_installed("ourpkg", project / "nbs", tmp_path / "elsewhere")


def test_modules_for_puts_the_named_ones_first(tmp_path: Path):
    nb = v4.new_notebook(cells=[v4.new_code_cell("import pandas\nimport json\nimport helper")])
    (tmp_path / "helper.py").write_text("")
    notebook = tmp_path / "n.ipynb"
    assert modules_for(None, nb, notebook, tmp_path) == []
    assert modules_for(Preload(modules=("numpy", "json")), nb, notebook, tmp_path) == ["numpy", "json"]
    assert modules_for(Preload(modules=("numpy",), auto=True), nb, notebook, tmp_path) == ["numpy", "pandas", "json"]


def test_the_kernel_expression_binds_nothing_and_reports_failures():
    expression = kernel_expression(["json", "no_such_module_xyz"])
    namespace: dict[str, object] = {}
    failed = eval(expression, namespace)  # noqa: S307 - what the kernel evaluates, on our own generated text
    assert set(namespace) <= {"__builtins__"}
    assert list(failed) == ["no_such_module_xyz"] and failed["no_such_module_xyz"].startswith("ModuleNotFoundError")
    assert isinstance(ast.parse(expression, mode="eval"), ast.Expression)
    with pytest.raises(ValueError, match="not module names"):
        kernel_expression(["os; import sys"])
    assert "json" in sys.modules

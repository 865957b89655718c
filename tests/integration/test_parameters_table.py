"""One table of notebooks → their parameters cell, run against every consumer of the convention (ADR-037).

The finder (``capture.parameters``), nb-smoke's defaults and injection, convert's ``params.py`` spec, diff's
summary, lint's NB003 and the kernel observer (a live IPython shell running the cells after ``%track start``,
with the saved notebook's tags visible as under Jupyter) must all agree on each row. ``defaults`` are what the
notebook's own parameters cell defines; ``effective`` adds papermill's injected values, as a run records them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import jupyter_mlops as mlops
from jupyter_mlops.capture.parameters import find_parameters_cell, inject_parameters
from jupyter_mlops.notebooks.convert.active import py_view
from jupyter_mlops.notebooks.convert.flow import find_parameters
from jupyter_mlops.notebooks.lint import lint_notebook
from jupyter_mlops.notebooks.smoke.params import notebook_defaults
from jupyter_mlops.notebooks.summary import parameters_of
from jupyter_mlops.tracking import context, fluent

P, INJ = ["parameters"], ["injected-parameters"]


@dataclass(frozen=True)
class Row:
    """A notebook (``(kind, source, tags)`` cells) and what every consumer must find in it."""

    cells: list[tuple[str, str, list[str]]]
    provenance: str | None  # tagged / injected / inferred, None: no parameters cell
    index: int | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    injected: dict[str, Any] = field(default_factory=dict)

    @property
    def effective(self) -> dict[str, Any]:
        return {**self.defaults, **self.injected}


TABLE = {
    "tagged": Row([("code", "import math", []), ("code", "lr = 0.1\nepochs = 3", P), ("code", "x = lr * epochs", [])],
                  "tagged", 1, {"lr": 0.1, "epochs": 3}),
    "tagged-with-code": Row([("code", "lr = 0.1\nname = 'run-' + str(1)", P), ("code", "y = lr", [])],
                            "tagged", 0, {"lr": 0.1}),
    "tagged-with-magic-and-annotations": Row(
        [("code", "%env MLOPS_TABLE=1\nlr: float = 0.1\nlayers: list = [64, 32]", P), ("code", "z = lr", [])],
        "tagged", 0, {"lr": 0.1, "layers": [64, 32]}),
    "tagged-deep-in-the-notebook": Row(
        [("code", "a = abs(1)", []), ("code", "b = abs(2)", []), ("code", "c = abs(3)", []),
         ("code", "lr = 0.3", P)], "tagged", 3, {"lr": 0.3}),
    "papermill-output": Row(
        [("code", "lr = 0.1\nepochs = 3", P), ("code", "# Parameters\nlr = 0.5\n", INJ), ("code", "w = lr", [])],
        "tagged", 0, {"lr": 0.1, "epochs": 3}, {"lr": 0.5}),
    "papermill-output-of-untagged-notebook": Row(
        [("code", "# Parameters\nlr = 0.5\n", INJ), ("code", "import math", []), ("code", "v = lr * math.pi", [])],
        "injected", 0, {}, {"lr": 0.5}),
    "inferred": Row([("markdown", "# Title", []), ("code", "lr = 0.01\nbatch = 32", []), ("code", "u = lr", [])],
                    "inferred", 1, {"lr": 0.01, "batch": 32}),
    "inferred-with-docstring": Row(
        [("code", "import math", []), ("code", "'''Settings.'''\nlr = 0.02", []), ("code", "t = lr", [])],
        "inferred", 1, {"lr": 0.02}),
    "literal-cell-too-deep-to-guess": Row(
        [("code", "a = abs(1)", []), ("code", "b = abs(2)", []), ("code", "c = abs(3)", []), ("code", "lr = 0.4", [])],
        None),
    "no-parameters": Row([("code", "import math", []), ("code", "x = math.pi", [])], None),
}


def notebook(row: Row) -> Any:
    cells = [(new_code_cell if kind == "code" else new_markdown_cell)(source, metadata={"tags": list(tags)})
             for kind, source, tags in row.cells]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


ROWS = pytest.mark.parametrize("row", TABLE.values(), ids=list(TABLE))


@ROWS
def test_finder(row: Row) -> None:
    found = find_parameters_cell(notebook(row).cells, tags_known=True)
    assert ((found.provenance, found.index) if found else (None, None)) == (row.provenance, row.index)


@ROWS
def test_smoke_defaults_and_injection(row: Row) -> None:
    nb = notebook(row)
    defaults = notebook_defaults(nb)
    # nb-smoke follows papermill: only a tagged cell takes injected values (ADR-037); a default that is not a
    # literal (``...``) accepts any value and is no parameter the others record
    literal = None if defaults is None else {k: v for k, v in defaults.items() if v is not ...}
    assert literal == (row.defaults if row.provenance == "tagged" else None)
    position = inject_parameters(nb, {"lr": 9.0})
    assert position == (row.index + 1 if row.provenance == "tagged" else 0)
    assert sum("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1


@ROWS
def test_convert_params_spec(row: Row) -> None:
    nb = notebook(row)
    spec = find_parameters([(index, py_view(cell)) for index, cell in enumerate(nb.cells)])
    # a package's defaults are the notebook's own cell; papermill's injected values were one run's
    assert {f.name: ast.literal_eval(f.default) for f in spec.fields} == row.defaults
    assert spec.cell_index == (row.index if row.defaults else None)


@ROWS
def test_diff_summary(row: Row) -> None:
    assert parameters_of(notebook(row)) == row.effective


@ROWS
def test_lint_no_parameters_cell(row: Row, tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook(row), path)
    codes = {finding.rule_id for finding in lint_notebook(nbformat.read(path, as_version=4), str(path))}
    assert ("NB003" in codes) == (row.provenance != "tagged")


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    # a fresh shell per row, like a fresh kernel: the observer also searches the cells run before `%track start`
    # (ADR-037 keeps that), and another row's parameters cell there must not count
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext jupyter_mlops", store_history=True)
    yield ip
    ip.run_cell("%unload_ext jupyter_mlops")
    InteractiveShell.clear_instance()


@ROWS
def test_kernel_observer(row: Row, shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         request: pytest.FixtureRequest) -> None:
    name = f"table-{request.node.callspec.id}"
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops]\nheartbeat_interval = 0.05\n")
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook(row), path)
    monkeypatch.chdir(tmp_path)
    for name in ("JUPYTER_MLOPS_STORE", "JUPYTER_MLOPS_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))  # as under jupyter-server: the saved tags are visible
    try:
        shell.run_cell(f"%track start {name}", store_history=True)
        for kind, source, _ in row.cells:
            if kind == "code":
                assert shell.run_cell(source, store_history=True).success, source
        shell.run_cell("%track stop", store_history=True)
        assert context.drain()
    finally:
        fluent.end_run()
        context.drain()
    view = mlops.get_run(name)
    assert dict(view.params) == row.effective
    store = fluent.open_stores()[0]
    sources = {p.source for key in view.params for p in store.param_history(view.id, key)}
    assert sources <= {f"parameters:{row.provenance}", "parameters:injected"}

"""Smoke parameters: defaults read from the parameters cell, typing, unknown names, sources and injection."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.capture.parameters import inject_parameters
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.smoke.params import (
    coerce,
    load_params_file,
    notebook_defaults,
    pyproject_params,
    resolve_parameters,
    split_assignment,
    unknown_given_names,
)

PARAMS = ("epochs = 10\nlr: float = 0.1\nname = 'base'\nflag = False\nlayers = [1, 2]\nopt = None\n"
          "%matplotlib inline\npath = Path('x')")


def notebook(params_source: str | None = PARAMS) -> nbformat.NotebookNode:
    cells = [new_code_cell("import os")]
    if params_source is not None:
        cells.append(new_code_cell(params_source, metadata={"tags": ["parameters"]}))
    cells.append(new_code_cell("print(epochs)"))
    return new_notebook(cells=cells)


def test_defaults_are_the_literal_assignments_of_the_parameters_cell():
    defaults = notebook_defaults(notebook())
    assert defaults == {"epochs": 10, "lr": 0.1, "name": "base", "flag": False, "layers": [1, 2], "opt": None,
                        "path": ...}
    assert notebook_defaults(notebook(None)) is None


@pytest.mark.parametrize(("value", "default", "expected"), [
    ("3", 10, 3), (3.0, 10, 3), ("2", 0.5, 2.0), ("true", False, True), ("no", True, False),
    (5, "base", "5"), ("[3, 4]", [1], [3, 4]), ("{a: 1}", None, {"a": 1}), ("7", None, 7), ("x", ..., "x"),
])
def test_values_are_typed_from_the_defaults(value, default, expected):
    result = coerce("p", value, default)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("value", "default"), [("2.5", 10), (2.5, 10), (True, 10), ("maybe", False),
                                                ("abc", 0.5), ("3", [1]), ({"a": 1}, "s")])
def test_badly_typed_values_are_errors_that_name_the_parameter(value, default):
    with pytest.raises(InvalidInput, match=r"parameter p: .* is not a valid"):
        coerce("p", value, default)


def test_unknown_names_and_missing_parameters_cell_are_errors():
    with pytest.raises(InvalidInput, match="unknown parameter epoch .*defines: epochs"):
        resolve_parameters(notebook(), [{"epoch": "1"}])
    with pytest.raises(InvalidInput, match="no cell tagged 'parameters'"):
        resolve_parameters(notebook(None), [{"epochs": "1"}])
    assert resolve_parameters(notebook(None), [{}]) == {}


def test_later_layers_win_and_values_are_typed():
    merged = resolve_parameters(notebook(), [{"epochs": 1, "lr": 1}, {"epochs": "4"}])
    assert merged == {"epochs": 4, "lr": 1.0}


def test_split_assignment():
    assert split_assignment("lr=0.5=x") == ("lr", "0.5=x")
    with pytest.raises(InvalidInput, match="expected KEY=VALUE"):
        split_assignment("lr")


def test_params_file(tmp_path: Path):
    good = tmp_path / "p.yaml"
    good.write_text("epochs: 2\nname: small\n")
    assert load_params_file(good) == {"epochs": 2, "name": "small"}
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(InvalidInput, match="expected a mapping"):
        load_params_file(tmp_path / "list.yaml")
    with pytest.raises(InvalidInput, match="no such file"):
        load_params_file(tmp_path / "missing.yaml")


def test_pyproject_tables_match_globs_relative_to_the_project(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops.smoke."nbs/*.ipynb"]\nepochs = 1\n'
        '[tool.jupyter-mlops.smoke."nbs/train*.ipynb"]\nepochs = 2\nlr = 0.5\n'
        '[tool.jupyter-mlops.smoke."**/deep.ipynb"]\nname = "d"\n')
    (tmp_path / "nbs").mkdir()
    assert pyproject_params(tmp_path / "nbs" / "train.ipynb") == {"epochs": 2, "lr": 0.5}
    assert pyproject_params(tmp_path / "nbs" / "eval.ipynb") == {"epochs": 1}
    assert pyproject_params(tmp_path / "deep.ipynb") == {"name": "d"}
    assert pyproject_params(tmp_path / "other.ipynb") == {}


def test_injection_follows_the_parameters_cell_and_replaces_an_old_injected_cell():
    nb = notebook()
    nb.cells.insert(2, new_code_cell("epochs = 99", metadata={"tags": ["injected-parameters"]}))
    at = inject_parameters(nb, {"epochs": 1, "lr": float("inf"), "name": "it's"})
    assert at == 2
    assert [c.source for c in nb.cells].count("epochs = 99") == 0
    source = nb.cells[2].source
    assert "epochs = 1\n" in source and "lr = float('inf')" in source and 'name = "it\'s"' in source
    namespace: dict = {}
    exec(source, namespace)  # the injected cell is valid Python giving back the values
    assert namespace["epochs"] == 1 and namespace["name"] == "it's"
    assert nb.metadata["papermill"]["parameters"]["epochs"] == 1


def test_injection_without_parameters_cell_goes_first_and_nothing_is_injected_for_no_parameters():
    nb = notebook(None)
    assert inject_parameters(nb, {}) is None
    assert len(nb.cells) == 2
    assert inject_parameters(nb, {"x": 1}) == 0


def test_given_parameters_skip_names_a_notebook_does_not_define():
    assert resolve_parameters(notebook(), [{"epochs": "2", "depth": "3"}], skip_unknown=True) == {"epochs": 2}
    assert resolve_parameters(notebook(None), [{"epochs": "2"}], skip_unknown=True) == {}
    with pytest.raises(InvalidInput, match="not a valid int"):  # a name the notebook does take is still typed
        resolve_parameters(notebook(), [{"epochs": "2.5"}], skip_unknown=True)


def test_a_parameters_cell_that_does_not_parse_says_so_with_its_line():
    with pytest.raises(InvalidInput, match=r"the parameters cell \(cell 1\) does not parse: line 2: "):
        resolve_parameters(notebook("a = 1\nb = (2"), [{"a": "3"}])
    with pytest.raises(InvalidInput, match="does not parse"):
        resolve_parameters(notebook("a = 1\nb = (2"), [{"a": "3"}], skip_unknown=True)


def test_a_given_name_no_notebook_defines_is_refused_with_a_suggestion():
    other = notebook("depth = 3")
    assert unknown_given_names({"epochs": "1"}, [notebook(), other]) is None  # one of them defines it
    assert unknown_given_names({"depth": "1", "epochs": "1"}, [notebook(), other]) is None
    message = unknown_given_names({"epoch": "1"}, [notebook(None), other, notebook()])
    assert message is not None and message.startswith("unknown parameter epoch: no selected notebook")
    assert "did you mean 'epochs'?" in message
    assert unknown_given_names({}, [other]) is None

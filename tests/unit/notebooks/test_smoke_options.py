"""SmokeOptions.from_sources and parameters_for: the one place a smoke call's options are assembled (ADR-044)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.io import import_nbformat
from jupyter_mlops.notebooks.smoke.options import PYTEST_FLAGS, SmokeOptions

import_nbformat()

import nbformat.v4 as v4  # noqa: E402


def _nb(source: str = "epochs = 10\nlr = 0.1\n"):
    return v4.new_notebook(cells=[v4.new_code_cell(source, metadata={"tags": ["parameters"]})])


def test_defaults_and_conversions():
    options = SmokeOptions.from_sources({"shard": "2/4", "output_dir": "out", "no_track": True}, pyproject={})
    assert options.paths == ["."] and options.shard == (2, 4) and options.output_dir == Path("out")
    assert not options.track and options.limits.cell_timeout == 600.0 and options.limits.timeout is None
    assert options.limits.max_cell_output == 4 * 1024 * 1024


def test_a_name_outside_the_table_is_a_face_bug_not_a_user_error():
    with pytest.raises(TypeError, match="json_path"):
        SmokeOptions.from_sources({"json_path": "x.json"}, pyproject={})


def test_errors_name_the_flag_as_the_face_spells_it():
    with pytest.raises(InvalidInput, match=r"^--param: bad parameter 'epochs': expected KEY=VALUE \(or -p KEY"):
        SmokeOptions.from_sources({"params": ["epochs"]}, pyproject={})
    with pytest.raises(InvalidInput, match=r"^--nb-smoke-param: bad parameter 'epochs': expected KEY=VALUE$"):
        SmokeOptions.from_sources({"params": ["epochs"]}, pyproject={}, flags=PYTEST_FLAGS)
    with pytest.raises(InvalidInput, match="^--nb-smoke-cell-timeout: must be > 0 seconds"):
        SmokeOptions.from_sources({"cell_timeout": float("nan")}, pyproject={}, flags=PYTEST_FLAGS)
    with pytest.raises(InvalidInput, match=r"^\[tool.jupyter-mlops.smoke\] max-cell-output: expected a size"):
        SmokeOptions.from_sources({}, pyproject={"max-cell-output": "lots"})


def test_parameter_layers_table_then_files_then_flags(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops.smoke."*.ipynb"]\nepochs = 3\nlr = 0.5\n')
    (tmp_path / "p.yaml").write_text("epochs: 4\nunknown: 1\n")
    notebook = tmp_path / "a.ipynb"
    options = SmokeOptions.from_sources({"params": ["epochs=5"], "params_files": [str(tmp_path / "p.yaml")]},
                                        pyproject={})
    assert options.parameters_for(notebook, _nb()) == {"epochs": 5, "lr": 0.5}
    strict = SmokeOptions.from_sources({"params_files": [str(tmp_path / "p.yaml")], "strict_params": True},
                                       pyproject={})
    with pytest.raises(InvalidInput, match="unknown parameter unknown"):
        strict.parameters_for(notebook, _nb())


def test_the_gate_is_given_whole_and_never_with_no_track():
    options = SmokeOptions.from_sources({"gate_model": "churn", "gate_metrics": ("auc:max",),
                                         "gate_max_regressions": ("auc=1%",)}, pyproject={})
    assert options.gate is not None and options.gate.model == "churn" and options.gate.metrics == ("auc:max",)
    assert options.gate.max_regressions == ("auc=1%",) and options.gate.prefix == "--gate-"
    assert SmokeOptions.from_sources({}, pyproject={}).gate is None
    for given, message in [({"gate_metrics": ("auc:max",)}, "--gate-metric needs --gate-model"),
                           ({"gate_version": "1.0.0"}, "--gate-version needs --gate-model"),
                           ({"gate_model": "churn"}, "needs at least one --gate-metric"),
                           ({"gate_model": "churn", "gate_metrics": ("auc:max",), "no_track": True}, "--no-track")]:
        with pytest.raises(InvalidInput, match=message):
            SmokeOptions.from_sources(given, pyproject={})
    with pytest.raises(InvalidInput, match="--nb-smoke-gate-metric needs --nb-smoke-gate-model"):
        SmokeOptions.from_sources({"gate_metrics": ["auc:max"]}, pyproject={}, flags=PYTEST_FLAGS)


def test_the_data_baseline_is_carried_as_given_never_blank_never_with_no_track():
    assert SmokeOptions.from_sources({"data_against": " churn:1.0.0 "}, pyproject={}).data_against == "churn:1.0.0"
    assert SmokeOptions.from_sources({}, pyproject={}).data_against is None
    with pytest.raises(InvalidInput, match="^--data-against: give a run"):
        SmokeOptions.from_sources({"data_against": " "}, pyproject={})
    with pytest.raises(InvalidInput, match="--nb-smoke-no-track .* --nb-smoke-data-against checks the data"):
        SmokeOptions.from_sources({"data_against": "base", "no_track": True}, pyproject={}, flags=PYTEST_FLAGS)

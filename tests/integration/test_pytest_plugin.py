"""The pytest plugin: notebooks become items only under --nb-smoke, run by the nb-smoke runner, with xdist."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[1] / "data" / "notebooks" / "smoke"
pytest_plugins = ["pytester"]


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rf", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "nbs").mkdir()
    for name in ("passes--params.ipynb", "raises--two-errors.ipynb"):
        shutil.copy(FIXTURES / name, tmp_path / "nbs" / name)
    (tmp_path / "nbs" / ".ipynb_checkpoints").mkdir()
    shutil.copy(FIXTURES / "raises--two-errors.ipynb", tmp_path / "nbs" / ".ipynb_checkpoints" / "x.ipynb")
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops.smoke."nbs/passes--*.ipynb"]\nepochs = 3\n')
    return tmp_path


def test_notebooks_are_collected_only_with_the_flag_and_never_from_checkpoints(project: Path,
                                                                             pytester: pytest.Pytester):
    pytester.chdir()
    shutil.copytree(project / "nbs", pytester.path / "nbs")
    result = pytester.runpytest_inprocess("--collect-only", "-q", "nbs")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = pytester.runpytest_inprocess("--collect-only", "-q", "--nb-smoke", "nbs")
    assert sorted(line for line in result.outlines if ".ipynb" in line) == [
        "nbs/passes--params.ipynb::passes--params.ipynb", "nbs/raises--two-errors.ipynb::raises--two-errors.ipynb"]


@pytest.mark.requires_kernel
def test_nb_smoke_items_under_xdist_report_the_failing_cell(project: Path):
    out = pytest_run(project, "--nb-smoke", "-n", "2", "--nb-smoke-output-dir", "executed", "nbs")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 1 passed" in out.stdout
    assert "FAIL nbs/raises--two-errors.ipynb [cell-error] cell 1 (id c1): ZeroDivisionError: division by zero" \
        in out.stdout
    assert "| y = x / 0" in out.stdout
    executed = (project / "executed" / "nbs" / "passes--params.ipynb").read_text()
    assert "epochs = 3" in executed  # same parameters as nb-smoke: the pyproject glob table applied


def test_malformed_param_is_a_usage_error(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess("--nb-smoke", "--nb-smoke-param", "epochs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "expected KEY=VALUE" in "\n".join(result.errlines)


def test_a_param_no_collected_notebook_defines_is_a_usage_error(project: Path, pytester: pytest.Pytester):
    pytester.chdir()
    shutil.copytree(project / "nbs", pytester.path / "nbs")
    result = pytester.runpytest_inprocess("--nb-smoke", "--nb-smoke-param", "epoch=1", "nbs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "did you mean 'epochs'?" in "\n".join(result.errlines)
    result = pytester.runpytest_inprocess("--nb-smoke", "--nb-smoke-param", "epochs=1", "--collect-only", "nbs")
    assert result.ret == pytest.ExitCode.OK  # only passes--params defines it: the other notebook takes none


def test_output_caps_reach_the_runner_and_bad_ones_are_usage_errors(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess("--nb-smoke", "--nb-smoke-max-cell-output", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--nb-smoke-max-cell-output: expected a size" in "\n".join(result.errlines)
    pytester.makepyprojecttoml('[tool.jupyter-mlops.smoke]\nmax-notebook-output = "2kB"\n')
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {}, "outputs": [],
                     "source": "print('x' * 50_000)"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    pytester.makefile(".ipynb", loud=json.dumps(nb))
    result = pytester.runpytest_inprocess("--nb-smoke", "--nb-smoke-max-cell-output", "1kB",
                                          "--nb-smoke-output-dir", "executed", "loud.ipynb")
    assert result.ret == pytest.ExitCode.OK
    kept = json.loads((pytester.path / "executed" / "loud.ipynb").read_text())
    assert kept["metadata"]["jupyter_mlops"]["output_truncated"]["max_cell_output"] == 1000
    assert kept["metadata"]["jupyter_mlops"]["output_truncated"]["max_notebook_output"] == 2000

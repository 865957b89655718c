"""nb-smoke and pytest --nb-smoke build their options in one place (SmokeOptions.from_sources, ADR-044).

The same notebook, pyproject tables, parameters file and flags must give the same options and the same injected
parameters cell through both faces; a bad value is refused by both, each naming its own flag.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml  # noqa: F401 - pytester drops modules first imported in a test; yaml's C loader cannot be imported twice

from jupyter_mlops.cli.smoke import main, smoke, smoke_options
from jupyter_mlops.notebooks.io import read_notebook
from jupyter_mlops.notebooks.smoke.run import prepare
from jupyter_mlops.pytest_plugin import smoke_options as plugin_smoke_options

pytest_plugins = ["pytester"]

PYPROJECT = """\
[tool.jupyter-mlops.smoke]
max-cell-output = "2MiB"

[tool.jupyter-mlops.smoke."nbs/*.ipynb"]
epochs = 3
lr = 0.5
"""


def _notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]},
            "outputs": [], "source": source}
    run = {**cell, "id": "r", "metadata": {}, "source": "print(epochs, lr, batch, name)"}
    return json.dumps({"cells": [cell, run], "metadata": {"kernelspec": {"name": "python3", "language": "python",
                       "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    pytester.makepyprojecttoml(PYPROJECT)
    (pytester.path / "nbs").mkdir()
    (pytester.path / "nbs" / "train.ipynb").write_text(_notebook('epochs = 10\nlr = 0.1\nbatch = 32\nname = "a"\n'))
    (pytester.path / "params.yaml").write_text("batch: 16\nepochs: 4\n")
    return pytester.path


def _cli_options(*args: str):
    ctx = smoke.make_context("nb-smoke", list(args))
    return smoke_options(ctx.params.pop("paths"), ctx.params)


def test_cli_and_pytest_plugin_resolve_the_same_options_and_parameters(project: Path, pytester: pytest.Pytester):
    cli = _cli_options("nbs", "-p", "name", "run", "-p", "epochs=5", "-f", "params.yaml", "--cell-timeout", "30",
                       "--timeout", "300", "--keep-going", "--max-notebook-output", "8MiB", "--no-track",
                       "--output-dir", "out", "--kernel", "python3")
    config = pytester.parseconfig(
        "--nb-smoke", "--nb-smoke-param", "name=run", "--nb-smoke-param", "epochs=5", "--nb-smoke-params-file",
        "params.yaml", "--nb-smoke-cell-timeout", "30", "--nb-smoke-timeout", "300", "--nb-smoke-keep-going",
        "--nb-smoke-max-notebook-output", "8MiB", "--nb-smoke-no-track", "--nb-smoke-output-dir", "out",
        "--nb-smoke-kernel", "python3", "nbs")
    plugin = plugin_smoke_options(config)

    # Each pytest item runs one notebook (pytest-xdist spreads items), so the plugin starts no kernel ahead.
    assert (plugin.jobs, plugin.prestart) == (1, 0)
    neutral = {"paths": [], "jobs": None, "prestart": None}
    assert dataclasses.replace(cli, **neutral) == dataclasses.replace(plugin, **neutral)
    assert cli.limits.max_cell_output == 2 * 1024 * 1024  # from the pyproject table, in both
    assert cli.limits.cell_timeout == 30.0 and cli.limits.timeout == 300.0 and not cli.track

    notebook = project / "nbs" / "train.ipynb"
    expected = {"epochs": 5, "lr": 0.5, "batch": 16, "name": "run"}  # table < -f file < -p, typed by the defaults
    assert cli.parameters_for(notebook, read_notebook(notebook)) == expected
    assert plugin.parameters_for(notebook, read_notebook(notebook)) == expected
    cli_job, plugin_job = prepare(notebook, cli, None, {}), prepare(notebook, plugin, None, {})
    assert cli_job.parameters == plugin_job.parameters == expected
    injected = [[c.source for c in job.nb.cells] for job in (cli_job, plugin_job)]
    assert injected[0] == injected[1] and "epochs = 5" in injected[0][1]


def test_defaults_are_the_same_through_both_faces(project: Path, pytester: pytest.Pytester):
    cli = _cli_options("nbs")
    plugin = plugin_smoke_options(pytester.parseconfig("--nb-smoke", "nbs"))
    neutral = {"paths": [], "jobs": None, "prestart": None}
    assert dataclasses.replace(cli, **neutral) == dataclasses.replace(plugin, **neutral)
    assert cli.limits.cell_timeout == 600.0 and cli.limits.timeout is None


@pytest.mark.parametrize(("cli_args", "plugin_args", "message"), [
    (["--cell-timeout", "0"], ["--nb-smoke-cell-timeout", "0"], "cell-timeout: must be > 0 seconds"),
    (["--timeout", "-5"], ["--nb-smoke-timeout", "-5"], "timeout: must be > 0 seconds"),
    (["-f", "missing.yaml"], ["--nb-smoke-params-file", "missing.yaml"], "parameters file missing.yaml: no such file"),
    (["--max-cell-output", "lots"], ["--nb-smoke-max-cell-output", "lots"], "max-cell-output: expected a size"),
])
def test_a_bad_value_is_a_usage_error_in_both_faces(project: Path, pytester: pytest.Pytester,
                                                    capsys: pytest.CaptureFixture[str], cli_args: list[str],
                                                    plugin_args: list[str], message: str):
    with pytest.raises(SystemExit) as exit_info:
        main([*cli_args, "nbs"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err
    # Before ADR-044 the plugin ran cells with a zero timeout and ignored a missing -f file when nothing was collected.
    (project / "nbs" / "train.ipynb").unlink()
    result = pytester.runpytest_inprocess("--nb-smoke", *plugin_args, "nbs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in "\n".join(result.errlines)

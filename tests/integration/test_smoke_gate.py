"""``nb-smoke --gate-*`` and ``pytest --nb-smoke --nb-smoke-gate-*``: real kernels, a real registered champion.

The project (a ``pyproject.toml`` folder) holds the model registry in its default store; the notebook lives in a
sub-project with a ``pyproject.toml`` of its own, so without the gate's store hand-over its runs would land in
another store and the gate would find nothing. The notebook logs ``auc`` from its parameters cell, so ``-p auc=``
decides pass or regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.store import open_store
from jupyter_mlops.tracking import context, fluent

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
GATE = ("--gate-model", "churn", "--gate-metric", "auc:max")


def clean_env() -> dict[str, str]:
    """This process's environment without the store settings a test run may carry (each project has its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "pyproject.toml").write_text("[project]\nname = 'other'\n", encoding="utf-8")
    cells = [nbformat.v4.new_code_cell("auc = 0.9"),
             nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%track start trained"),
             nbformat.v4.new_code_cell("%track metric auc=auc\n%track stop")]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "notebooks" / "train.ipynb")
    url = f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"
    return {"root": tmp_path, "url": url}


def _champion(project: dict, auc: float = 0.8) -> str:
    """Register churn 1.0.0 from a run with ``auc`` and make it the champion; return that run's id."""
    from jupyter_mlops.app.models import set_alias
    from jupyter_mlops.app.workspace import Workspace

    data = project["root"] / "train.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    try:
        with mlops.start_run("champion", store=project["url"], auto_capture=False) as run:
            run.log_data(str(data), name="train")
            run.log_metric("auc", auc)
            run.log_model({"w": 1}, "churn")
    finally:
        fluent.end_run()
        context.drain()
    with Workspace.from_url(project["url"]) as workspace:
        set_alias(workspace, "churn:1.0.0", "champion", force=True, reason="test: no code recorded")
    return run.id


def nb_smoke(project: dict, *args: str) -> subprocess.CompletedProcess[str]:
    """``nb-smoke notebooks/train.ipynb --plain ARGS`` in the project, as a user runs it."""
    return subprocess.run([*NB_SMOKE, "notebooks/train.ipynb", "--plain", *args], cwd=project["root"], env=clean_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def smoke_report(project: dict) -> dict:
    """The one notebook's row of the project's ``--json r.json`` report."""
    (row,) = json.loads((project["root"] / "r.json").read_text())["notebooks"]
    return row


def test_a_run_that_beats_the_champion_passes_with_the_gate_in_every_report(project: dict) -> None:
    champion = _champion(project)
    out = nb_smoke(project, "-p", "auc=0.85", *GATE, "--json", "r.json", "--junit-xml", "r.xml", "--github")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS notebooks/train.ipynb" in out.stdout and "Gate PASS" in out.stdout, out.stdout
    row = smoke_report(project)
    assert row["passed"] and row["gate"]["verdict"] == "pass"
    assert row["gate"]["baseline"]["run"] == champion and row["gate"]["baseline"]["model"].startswith("churn@champion")
    assert row["gate"]["metrics"][0]["candidate"] == 0.85
    # the notebook's run went to the project store (where the registry is), not its own folder's
    runs = open_store(project["url"]).search_runs('tag = "smoke"').items
    assert [run.id for run in runs] == [row["gate"]["candidate"]["run"]]
    assert not (project["root"] / "notebooks" / ".mlops" / "mlops.db").exists()
    case = ET.parse(project["root"] / "r.xml").getroot().find("testcase")
    assert case.find("failure") is None and "Gate PASS" in case.find("system-out").text


def test_a_regression_fails_the_notebook_exit_1_in_every_report(project: dict) -> None:
    _champion(project)
    out = nb_smoke(project, "-p", "auc=0.7", *GATE, "--gate-max-regression", "auc=0.05", "--json", "r.json",
                   "--junit-xml", "r.xml", "--github")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Gate REGRESSION" in out.stdout and "failed: notebooks/train.ipynb [gate-regression]" in out.stdout
    row = smoke_report(project)
    assert not row["passed"] and row["reason"] == "gate-regression" and row["message"].startswith("Gate REGRESSION")
    assert row["gate"]["metrics"][0]["verdict"] == "regression"
    assert any("auc" in line and "regression" in line for line in row["gate_lines"]), row["gate_lines"]
    failure = ET.parse(project["root"] / "r.xml").getroot().find("testcase").find("failure")
    assert failure.attrib["type"] == "gate-regression" and "max-regression" in failure.text
    (annotation,) = [line for line in out.stdout.splitlines() if line.startswith("::error ")]
    assert "gate-regression" in annotation and "Gate REGRESSION" in annotation
    # within the tolerance it passes
    assert nb_smoke(project, "-p", "auc=0.78", *GATE, "--gate-max-regression", "auc=0.05").returncode == 0


def test_no_champion_is_a_gate_error_exit_2(project: dict) -> None:
    out = nb_smoke(project, "-p", "auc=0.85", *GATE, "--json", "r.json")
    assert out.returncode == 2, out.stdout + out.stderr
    row = smoke_report(project)
    assert row["reason"] == "gate-error" and "churn" in row["message"] and row["gate"]["verdict"] == "error"
    assert "Traceback" not in out.stdout + out.stderr
    # a metric the notebook did not log cannot be judged either: an error, never a pass
    _champion(project)
    missing = nb_smoke(project, "-p", "auc=0.85", *GATE, "--gate-metric", "loss:min", "--json", "r.json")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert smoke_report(project)["reason"] == "gate-error"


@pytest.mark.parametrize(("args", "needle"), [
    (("--gate-metric", "auc:max"), "--gate-metric needs --gate-model"),
    (("--gate-model", "churn"), "needs at least one --gate-metric"),
    (("--gate-model", "churn", "--gate-metric", "auc:up"), "--gate-metric"),
    (("--gate-model", "churn", "--gate-metric", "auc:max", "--gate-min-delta", "loss=1"), "--gate-min-delta"),
    (("--no-track", *GATE), "--no-track"),
])
def test_bad_gate_options_are_one_line_usage_errors_before_any_kernel(project: dict, args: tuple[str, ...],
                                                                    needle: str) -> None:
    out = nb_smoke(project, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "nb-smoke: 1 notebook" not in out.stdout  # refused before anything ran


def test_pytest_nb_smoke_gate_options(project: dict) -> None:
    _champion(project)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nb-smoke",
                               "notebooks/train.ipynb", "--nb-smoke-gate-model", "churn",
                               "--nb-smoke-gate-metric", "auc:max", *args], cwd=project["root"], env=clean_env(),
                              capture_output=True, text=True, timeout=300, check=False)

    worse = run("--nb-smoke-param", "auc=0.7")
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "[gate-regression] Gate REGRESSION" in worse.stdout, worse.stdout
    better = run("--nb-smoke-param", "auc=0.9")
    assert better.returncode == 0, better.stdout + better.stderr
    bad = run("--nb-smoke-gate-max-regression", "auc=x")
    assert bad.returncode == pytest.ExitCode.USAGE_ERROR and "--nb-smoke-gate-max-regression" in bad.stderr

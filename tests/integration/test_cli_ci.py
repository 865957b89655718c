"""``jupyter-mlops ci`` on an example project: real kernels, a real CSV profiled by a real registered champion.

The project (``pyproject.toml`` with ``[tool.jupyter-mlops.ci]``) has ``notebooks/train.ipynb`` (in a
sub-project of its own, so its runs reach the project store only through ci's store hand-over), which tracks a
run with ``auc`` overall and per region; ``data/train.csv``, profiled by the champion's run; and ``churn``'s
champion (auc 0.8, EU 0.8). ``ci`` passes on it and fails at the right step, named, for each planted fault.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from test_cli_data import write
from test_cli_runs import invoke as cli_invoke

import jupyter_mlops as mlops
from jupyter_mlops.app.models import set_alias
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.tracking import context, fluent

KERNEL = pytest.mark.requires_kernel
SLOW = pytest.mark.slow

CONFIG = """
[project]
name = "demo"

[tool.jupyter-mlops.ci.smoke]
notebooks = ["notebooks/train.ipynb"]
cell-timeout = 120

[tool.jupyter-mlops.ci.data]
paths = ["data/train.csv"]
against = "churn@champion"

[tool.jupyter-mlops.ci.gate]
model = "churn"
metrics = ["auc:max"]
per-slice = ["region"]
max-regression = ["0.02"]
"""

DATA_ONLY = """
[tool.jupyter-mlops.ci.data]
paths = ["data/train.csv"]
against = "churn@champion"
"""

TRACK = ("import jupyter_mlops as mlops\n"
         "with mlops.start_run('trained', auto_capture=False) as run:\n"
         "    run.log_metric('auc', auc)\n"
         "    run.log_metric('auc', auc_eu, slice={'region': 'EU'})\n")


def notebook(root: Path, *, auc: float = 0.85, auc_eu: float = 0.85, broken: bool = False) -> None:
    cells = [nbformat.v4.new_code_cell(f"auc = {auc}\nauc_eu = {auc_eu}"), nbformat.v4.new_code_cell(TRACK)]
    cells[0].metadata["tags"] = ["parameters"]
    if broken:
        cells.insert(1, nbformat.v4.new_code_cell("raise RuntimeError('planted fault')"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebooks" / "train.ipynb")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "pyproject.toml").write_text("[project]\nname = 'other'\n", encoding="utf-8")
    notebook(tmp_path)
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "train.csv", 1)
    url = f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"
    try:
        with mlops.start_run("champion", store=url, auto_capture=False) as run:
            run.log_data(str(tmp_path / "data" / "train.csv"), name="train.csv")
            run.log_metric("auc", 0.8)
            run.log_metric("auc", 0.8, slice={"region": "EU"})
            run.log_model({"w": 1}, "churn")
    finally:
        fluent.end_run()
        context.drain()
    with Workspace.from_url(url) as workspace:
        set_alias(workspace, "churn:1.0.0", "champion", force=True, reason="test: no code recorded")
    return tmp_path


def ci(*args: str) -> tuple[int, str, str]:
    return cli_invoke("ci", *args)


def statuses(out: str) -> dict[str, str]:
    return {step["name"]: step["status"] for step in json.loads(out)["steps"]}


@KERNEL
@SLOW
def test_the_example_project_passes_every_step_with_one_combined_report(project: Path) -> None:
    code, out, err = ci("--junit-xml", "ci.xml", "--json", "ci.json", "--github")
    assert code == 0, out + err
    report = json.loads((project / "ci.json").read_text())
    assert report["exit_code"] == 0 and report["failed_step"] is None
    assert [(s["name"], s["status"]) for s in report["steps"]] == [("smoke", "pass"), ("data", "pass"),
                                                                   ("gate", "pass")]
    assert [m.get("slice") for m in report["steps"][2]["result"]["metrics"]] == [None, "region=EU"]
    assert "== smoke: PASS" in out and "== data: PASS" in out and "== gate: PASS" in out, out
    assert "ci PASSED: 3 steps (smoke, data, gate)" in out
    assert "::notice title=ci passed::" in out
    suites = ET.parse(project / "ci.xml").getroot()
    assert suites.tag == "testsuites"
    assert [s.get("name") for s in suites.findall("testsuite")] == ["smoke", "data", "gate"]
    assert not suites.findall(".//failure") and not suites.findall(".//error")
    # the gate judged the run the notebook just made (it reached the project store, not notebooks/.mlops)
    assert not (project / "notebooks" / ".mlops" / "mlops.db").exists()


@KERNEL
@SLOW
def test_a_failing_notebook_fails_at_smoke_and_skips_the_rest(project: Path) -> None:
    notebook(project, broken=True)
    code, out, err = ci("--junit-xml", "ci.xml")
    assert code == 1, out + err
    assert "ci FAILED at step smoke (failed, exit 1)" in out and "planted fault" in out, out
    assert "to see more, run: nb-smoke notebooks/train.ipynb" in out
    assert "== data: SKIPPED" in out and "== gate: SKIPPED" in out
    (line,) = err.strip().splitlines()[-1:]
    assert line.startswith("Error: ci FAILED at step smoke") and "RuntimeError: planted fault" in line, err
    suites = ET.parse(project / "ci.xml").getroot()
    assert suites.find("testsuite[@name='smoke']").find(".//failure") is not None
    assert suites.find("testsuite[@name='gate']").find(".//skipped") is not None


@KERNEL
@SLOW
def test_drifted_data_fails_at_data_check_and_keep_going_still_runs_the_gate(project: Path) -> None:
    write(project / "data" / "train.csv", 3, changed=True)
    code, out, err = ci("--format", "json", "--keep-going")
    assert code == 1, out + err
    report = json.loads(out)
    assert report["failed_step"] == "data" and report["exit_code"] == 1
    assert statuses(out) == {"smoke": "pass", "data": "fail", "gate": "pass"}
    data = report["steps"][1]
    assert data["command"] == "jupyter-mlops data check data/train.csv --against churn@champion"
    kinds = {a["kind"] for d in data["result"]["datasets"] for a in d["anomalies"]}
    assert kinds == {"out_of_range", "drift", "new_category", "dtype_change", "extra_column"}, kinds
    assert "to see more, run: jupyter-mlops data check" in report["message"]


@KERNEL
@SLOW
def test_a_regressed_metric_fails_at_the_gate(project: Path) -> None:
    notebook(project, auc=0.7, auc_eu=0.7)
    code, out, err = ci("--github")
    assert code == 1, out + err
    assert "ci FAILED at step gate (failed, exit 1): Gate REGRESSION" in out, out
    assert "to see more, run: jupyter-mlops gate --model churn --last --metric auc:max" in out
    assert "::error title=ci step gate failed::" in out


@KERNEL
@SLOW
def test_better_overall_but_worse_on_a_slice_fails_at_the_gate_naming_the_slice(project: Path) -> None:
    notebook(project, auc=0.9, auc_eu=0.7)
    code, out, err = ci()
    assert code == 1, out + err
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("ci FAILED at step gate") and "region=EU" in verdict, out


@pytest.mark.parametrize(("table", "needle"), [
    ("[project]\nname = 'x'\n", "no [tool.jupyter-mlops.ci] table"),
    ("[tool.jupyter-mlops.ci]\n", "configures no step"),
    ("[tool.jupyter-mlops.ci]\nsmoky = 1\n", "unknown key 'smoky'"),
    ("[tool.jupyter-mlops.ci.data]\npaths = ['a.csv']\npsi = 'high'\n", "psi must be a number"),
    ("[tool.jupyter-mlops.ci.data]\npaths = 'a.csv'\n", "paths must be a list of strings"),
    ("[tool.jupyter-mlops.ci.gate]\nmodel = 'm'\nmetrics = ['auc:max']\nthreshold = 1\n", "unknown key 'threshold'"),
    ("[tool.jupyter-mlops.ci.gate]\nmodel = 'm'\n", "needs 'metrics'"),
    ("[tool.jupyter-mlops.ci.gate]\nmetrics = ['auc:max']\n", "model = NAME or baseline = RUN"),
    ("[tool.jupyter-mlops.ci.gate]\nmodel = 'm'\nmetrics = ['auc:up']\n", "[tool.jupyter-mlops.ci.gate]"),
    ("[tool.jupyter-mlops.ci]\nkeep-going = 'yes'\n", "keep-going must be true or false"),
    ("[tool.jupyter-mlops.ci.smoke]\nnotebooks = ['a.ipynb']\njobs = true\n", "jobs must be an integer"),
])
def test_a_bad_config_is_one_line_exit_2_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               table: str, needle: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(table, encoding="utf-8")
    code, out, err = ci()
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0], err
    assert out == "" and "Traceback" not in err


def test_config_flag_names_another_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = ci("--config", "missing/pyproject.toml")
    assert code == 2 and "config file not found: missing/pyproject.toml" in err


def test_only_the_configured_steps_run(project: Path) -> None:
    (project / "pyproject.toml").write_text(DATA_ONLY, encoding="utf-8")
    code, out, err = ci("--format", "json")
    assert code == 0, out + err
    assert statuses(out) == {"data": "pass"}


def test_a_step_that_cannot_run_is_exit_2_named_in_every_report(project: Path) -> None:
    gate = '[tool.jupyter-mlops.ci.gate]\nmodel = "absent"\nmetrics = ["auc:max"]\n'
    (project / "pyproject.toml").write_text(DATA_ONLY + gate, encoding="utf-8")
    code, out, err = ci("--junit-xml", "ci.xml", "--github")
    assert code == 2, out + err
    assert "ci FAILED at step gate (could not run, exit 2)" in out and "absent" in out, out
    assert "to see more, run: jupyter-mlops gate --model absent" in out
    assert "Traceback" not in out + err
    gate = ET.parse(project / "ci.xml").getroot().find("testsuite[@name='gate']")
    assert gate.find(".//error") is not None and "absent" in gate.find(".//error").get("message")
    assert "::error title=ci step gate failed::" in out


def test_the_servable_step_keys_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.jupyter-mlops.ci.servable]\nmodel = 'churn@champion'\nsample = 's.csv'\nn = 'many'\n", encoding="utf-8")
    code, _, err = ci()
    assert code == 2 and "[tool.jupyter-mlops.ci.servable] n must be an integer" in err, err
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops.ci.servable]\nmodel = 'churn@champion'\n",
                                             encoding="utf-8")
    code, _, err = ci()
    assert code == 2 and "needs 'sample'" in err, err


SERVABLE = """
[tool.jupyter-mlops.ci.servable]
model = "scorer:latest"
sample = "data/sample.csv"
n = 20
latency-p95 = "{bound}"
"""


@pytest.fixture
def servable_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registered scikit-learn model and a sample; ``ci`` configured with only the servability step."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    rows = ["a,b"] + [f"{i},{i % 7}" for i in range(40)]
    (tmp_path / "data" / "sample.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    frame = pd.read_csv(tmp_path / "data" / "sample.csv")
    model = LogisticRegression().fit(frame, [i % 2 for i in range(40)])
    try:
        with mlops.start_run("fit", store=f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}", auto_capture=False) as run:
            run.log_model(model, "scorer")
    finally:
        fluent.end_run()
        context.drain()
    return tmp_path


@SLOW
def test_the_servable_step_checks_the_model_and_fails_there_when_too_slow(servable_project: Path) -> None:
    (servable_project / "pyproject.toml").write_text(SERVABLE.format(bound="60s"), encoding="utf-8")
    code, out, err = ci("--junit-xml", "ci.xml", "--github")
    assert code == 0, out + err
    assert "== servable: PASS" in out and "Servability of scorer:1.0.0: SERVABLE (20 rows" in out, out
    suites = ET.parse(servable_project / "ci.xml").getroot()
    assert [s.get("name") for s in suites.findall("testsuite")] == ["servable"]

    (servable_project / "pyproject.toml").write_text(SERVABLE.format(bound="1us"), encoding="utf-8")
    code, out, err = ci("--format", "json", "--github")
    assert code == 1, out + err
    report = json.loads(out[:out.index("\n::")] if "\n::" in out else out)
    assert report["failed_step"] == "servable" and report["steps"][0]["status"] == "fail"
    assert "::error title=not servable::scorer:1.0.0: latency:" in out, out
    assert "ci FAILED at step servable" in err or "ci FAILED at step servable" in out

"""``nb-smoke --data-against`` and ``pytest --nb-smoke --nb-smoke-data-against``: real kernels, a real baseline run.

The project (a ``pyproject.toml`` folder) holds the baseline run, which profiled ``train.csv``, in its default
store; the notebook lives in a sub-project of its own, so its runs reach the baseline's store only through the
check's store hand-over. The notebook reads the CSV its ``data`` parameter names and records it with
``mlops.log_data``, so ``-p data=`` decides clean or drifted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from test_smoke_gate import clean_env, nb_smoke, smoke_report

import jupyter_mlops as mlops
from jupyter_mlops.tracking import context, fluent

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

N = 2000


def _write(path: Path, seed: int, *, shifted: bool = False) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 90, N), "income": rng.normal(50, 10, N).round(3),
                          "plan": rng.choice(["basic", "pro"], N)})
    if shifted:
        frame["income"] = frame["income"] + 8  # a shifted distribution
    frame.to_csv(path, index=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    root = tmp_path
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "pyproject.toml").write_text("[project]\nname = 'other'\n", encoding="utf-8")
    _write(root / "train.csv", 1)
    _write(root / "fresh.csv", 2)
    _write(root / "drifted.csv", 3, shifted=True)
    cells = [nbformat.v4.new_code_cell(f"data = {str(root / 'fresh.csv')!r}"),
             nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%track start trained"),
             nbformat.v4.new_code_cell("import jupyter_mlops as mlops\nmlops.log_data(data, name='train.csv')"),
             nbformat.v4.new_code_cell("%track stop")]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebooks" / "train.ipynb")
    url = f"sqlite:///{root / '.mlops' / 'mlops.db'}"
    try:
        with mlops.start_run("base", store=url, auto_capture=False) as run:
            run.log_data(str(root / "train.csv"), name="train.csv")
            run.log_model({"w": 1}, "churn")
    finally:
        fluent.end_run()
        context.drain()
    return {"root": root, "url": url, "run": run.id}


def test_clean_data_passes_with_the_check_in_every_report(project: dict) -> None:
    out = nb_smoke(project, "--data-against", "base", "--json", "r.json", "--junit-xml", "r.xml", "--github")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS notebooks/train.ipynb" in out.stdout and "Data check clean: 1 file against run base" in out.stdout
    row = smoke_report(project)
    assert row["passed"] and row["data_check"]["verdict"] == "clean"
    assert row["data_check"]["baseline_kind"] == "run" and row["data_check"]["datasets"][0]["name"] == "train.csv"
    assert row["data_check"]["run"] != project["run"]  # the notebook's own run, in the project store
    assert not (project["root"] / "notebooks" / ".mlops" / "mlops.db").exists()
    case = ET.parse(project["root"] / "r.xml").getroot().find("testcase")
    assert case.find("failure") is None and "Data check clean" in case.find("system-out").text
    # a model version names the run that produced it: the same baseline
    assert nb_smoke(project, "--data-against", "churn:1.0.0").returncode == 0


def test_drifted_data_fails_the_notebook_naming_the_column_exit_1(project: dict) -> None:
    drifted = str(project["root"] / "drifted.csv")
    out = nb_smoke(project, "-p", f"data={drifted}", "--data-against", "base", "--json", "r.json",
                   "--junit-xml", "r.xml", "--github")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "failed: notebooks/train.ipynb [data-anomaly]" in out.stdout
    row = smoke_report(project)
    assert not row["passed"] and row["reason"] == "data-anomaly"
    assert "train.csv:income drift" in row["message"], row["message"]
    found = {(a["column"], a["kind"]) for a in row["data_check"]["datasets"][0]["anomalies"]}
    assert ("income", "drift") in found and not {column for column, _ in found} - {"income"}, found
    assert any("income" in line and "drift" in line for line in row["data_lines"][1:]), row["data_lines"]
    failure = ET.parse(project["root"] / "r.xml").getroot().find("testcase").find("failure")
    assert failure.attrib["type"] == "data-anomaly" and "income" in failure.attrib["message"]
    (annotation,) = [line for line in out.stdout.splitlines() if line.startswith("::error ")]
    assert "data-anomaly" in annotation and "income drift" in annotation


def test_a_schema_file_validates_the_file_the_run_read_and_no_data_is_a_data_error_exit_2(project: dict) -> None:
    # the inferred expectation file, edited by hand: a wider income range, and a column renamed
    schema = project["root"] / "schema.yaml"
    code = subprocess.run([sys.executable, "-m", "jupyter_mlops", "data", "schema", "infer", "train.csv"],
                          cwd=project["root"], env=clean_env(), capture_output=True, text=True, timeout=120,
                          check=False)
    assert code.returncode == 0, code.stderr
    expected = yaml.safe_load(code.stdout)
    expected["columns"]["income"].update(greater_than_or_equal_to=0.0, less_than_or_equal_to=200.0)
    schema.write_text(yaml.safe_dump(expected), encoding="utf-8")
    assert nb_smoke(project, "--data-against", "schema.yaml").returncode == 0
    expected["columns"]["tier"] = expected["columns"].pop("plan")
    schema.write_text(yaml.safe_dump(expected), encoding="utf-8")
    out = nb_smoke(project, "--data-against", "schema.yaml", "--json", "r.json")
    assert out.returncode == 1, out.stdout + out.stderr
    row = smoke_report(project)
    assert row["data_check"]["baseline_kind"] == "schema" and row["reason"] == "data-anomaly"
    assert "train.csv:tier missing_column" in row["message"] and "train.csv:plan extra_column" in row["message"]
    # a notebook whose run recorded no data: nothing checked is an error, never a pass
    nb = nbformat.read(project["root"] / "notebooks" / "train.ipynb", as_version=4)
    nb.cells[2].source = "pass"
    nbformat.write(nb, project["root"] / "notebooks" / "train.ipynb")
    empty = nb_smoke(project, "--data-against", "base", "--json", "r.json")
    assert empty.returncode == 2, empty.stdout + empty.stderr
    row = smoke_report(project)
    assert row["reason"] == "data-error" and "no profiled data input" in row["message"]
    assert "Traceback" not in empty.stdout + empty.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (("--data-against", "nosuchrun"), "--data-against: no run, model version or schema file matches 'nosuchrun'"),
    (("--data-against", "missing.yaml"), "--data-against: schema file not found: missing.yaml"),
    (("--data-against", "base", "--no-track"), "--no-track"),
])
def test_a_bad_baseline_is_a_one_line_usage_error_before_any_kernel(project: dict, args: tuple[str, ...],
                                                                   needle: str) -> None:
    out = nb_smoke(project, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "nb-smoke: 1 notebook" not in out.stdout  # refused before anything ran


def test_pytest_nb_smoke_data_against(project: dict) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nb-smoke",
                               "notebooks/train.ipynb", *args], cwd=project["root"], env=clean_env(),
                              capture_output=True, text=True, timeout=300, check=False)

    drifted = run("--nb-smoke-data-against", "base", "--nb-smoke-param", f"data={project['root'] / 'drifted.csv'}")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "[data-anomaly]" in drifted.stdout and "income drift" in drifted.stdout, drifted.stdout
    clean = run("--nb-smoke-data-against", "base")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    bad = run("--nb-smoke-data-against", "nosuchrun")
    assert bad.returncode == pytest.ExitCode.USAGE_ERROR and "--nb-smoke-data-against" in bad.stderr


def test_the_thresholds_are_data_checks_options_and_reach_the_check(project: dict) -> None:
    drifted = str(project["root"] / "drifted.csv")
    # Thresholds wide enough for the shifted income: the same data that fails by default now passes.
    out = nb_smoke(project, "-p", f"data={drifted}", "--data-against", "base", "--psi", "100",
                   "--range-slack", "5", "--null-increase", "0.5", "--json", "r.json")
    assert out.returncode == 0, out.stdout + out.stderr
    row = smoke_report(project)
    assert row["passed"] and row["data_check"]["verdict"] == "clean"
    assert row["data_check"]["limits"] == {"psi": 100.0, "null_increase": 0.5, "range_slack": 5.0}
    # A threshold alone keeps the others at data check's defaults: drift stays hidden, the range does not.
    out = nb_smoke(project, "-p", f"data={drifted}", "--data-against", "base", "--psi", "100", "--json", "r.json")
    row = smoke_report(project)
    assert row["data_check"]["limits"] == {"psi": 100.0, "null_increase": 0.01, "range_slack": 0.1}
    kinds = {a["kind"] for a in row["data_check"]["datasets"][0]["anomalies"]}
    assert "drift" not in kinds and (out.returncode == 1) == bool(kinds), (kinds, out.stdout)


@pytest.mark.parametrize(("args", "needle"), [
    (("--psi", "0.3"), "--psi sets a data check threshold: it needs --data-against"),
    (("--data-against", "base", "--range-slack", "-1"), "--range-slack must not be negative; got -1.0"),
])
def test_a_threshold_without_a_check_or_below_zero_is_a_usage_error(project: dict, args: tuple[str, ...],
                                                                   needle: str) -> None:
    out = nb_smoke(project, *args)
    assert out.returncode == 2 and needle in out.stderr, out.stdout + out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "nb-smoke: 1 notebook" not in out.stdout

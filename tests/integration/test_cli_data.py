"""``jupyter-mlops data check|schema infer|profile`` end to end: real CSV files, runs recorded through the tracking
API into a real SQLite store, the real ``main`` and the reports it writes; ``runs show`` with profiles.

Exit codes are the contract CI reads: 0 clean, 1 anomalies, 2 error (one line on stderr).
"""

from __future__ import annotations

import json
import types
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from test_cli_gate import one_line_error
from test_cli_runs import invoke as cli_invoke

import jupyter_mlops as mlops

N = 3000


def write(path, seed: int, *, changed: bool = False) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(18, 90, N),
        "income": rng.normal(50, 10, N).round(3),
        "color": rng.choice(["red", "green", "blue"], N),
        "plan": rng.choice(["basic", "pro"], N),
    })
    if changed:
        frame["income"] = frame["income"] + 8  # shifted distribution
        frame.loc[3, "age"] = 150  # out of range
        frame.loc[7, "color"] = "purple"  # category added
        frame["plan"] = frame["plan"].map({"basic": 0, "pro": 1})  # dtype change
        frame["extra"] = 1  # new column
    frame.to_csv(path, index=False)


@pytest.fixture
def project(tmp_path, project_store):
    url = project_store
    write(tmp_path / "train.csv", 1)
    with mlops.start_run("base", experiment="churn", store=url, auto_capture=False) as run:
        mlops.log_data(tmp_path / "train.csv", name="train.csv")
        run.log_model({"w": 1}, "churn")
    write(tmp_path / "new.csv", 2)
    write(tmp_path / "bad.csv", 3, changed=True)
    return types.SimpleNamespace(root=tmp_path, url=url, run_id=run.id)


def invoke(*args: str) -> tuple[int, str, str]:
    return cli_invoke("data", *args)


def test_unchanged_and_freshly_sampled_data_are_clean(project):
    for path in ("train.csv", "new.csv"):
        code, out, err = invoke("check", path, "--against", "base")
        assert code == 0, out + err
        assert out.startswith("Data check clean: 1 file against run base")


def test_each_planted_anomaly_is_named_and_exits_1(project):
    code, out, err = invoke("check", "bad.csv", "--against", "base")
    assert code == 1, err
    rows = {tuple(line.split()[1:3]) for line in out.splitlines()[3:]}
    assert {("age", "out_of_range"), ("income", "drift"), ("color", "new_category"), ("plan", "dtype_change"),
            ("extra", "extra_column")} <= rows
    assert "'purple'" in out and "max 150 > 89" in out and "str → int64" in out


def test_json_junit_and_github(project):
    code, out, _ = invoke("check", "bad.csv", "new.csv", "--against", "base", "--format", "json",
                          "--junit-xml", "data.xml", "--github")
    assert code == 1
    wire = json.loads(out[: out.index("\n::")])
    assert wire["verdict"] == "anomalies" and wire["baseline_kind"] == "run" and wire["anomalies"] >= 5
    assert [d["name"] for d in wire["datasets"]] == ["bad.csv", "new.csv"]
    assert wire["datasets"][1]["anomalies"] == [] and wire["datasets"][0]["drift"]["income"] > 0.2
    annotations = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(annotations) == wire["anomalies"]
    assert all(line.startswith("::error file=bad.csv,title=data ") for line in annotations)
    suite = ET.parse(project.root / "data.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("6", "5")
    assert {c.get("name") for c in suite if c.find("failure") is not None} == {
        "bad.csv:age", "bad.csv:income", "bad.csv:color", "bad.csv:plan", "bad.csv:extra"}


def test_a_model_version_and_the_latest_run_are_baselines(project):
    code, out, _ = invoke("check", "bad.csv", "--against", "churn:1.0.0")
    assert code == 1 and "against model churn:1.0.0, run base" in out
    code, out, _ = invoke("check", "train.csv")
    assert code == 0 and "against run base" in out


def test_inferred_schema_edited_by_hand_is_enforced(project):
    code, text, err = invoke("schema", "infer", "train.csv", "--from", "base")
    assert code == 0, err
    assert "in_range" in text and "isin" in text and "strict: true" in text
    (project.root / "data-schema.yaml").write_text(text)
    code, out, _ = invoke("check", "train.csv", "--against", "data-schema.yaml")
    assert code == 0, out
    code, out, _ = invoke("check", "bad.csv", "--against", "data-schema.yaml")
    assert code == 1
    found = {tuple(line.split()[1:3]) for line in out.splitlines()[3:]}
    assert {("age", "out_of_range"), ("color", "new_category"), ("extra", "extra_column"),
            ("plan", "dtype_change")} <= found
    # by hand: accept purple, allow ages up to 200, drop the extra-column rule
    edited = text.replace("- blue", "- blue\n    - purple").replace("max_value: 89", "max_value: 200")
    edited = edited.replace("strict: true", "strict: false")
    (project.root / "data-schema.yaml").write_text(edited)
    code, out, _ = invoke("check", "bad.csv", "--against", "data-schema.yaml")
    found = {tuple(line.split()[1:3]) for line in out.splitlines()[3:]}
    assert code == 1 and ("age", "out_of_range") not in found and ("color", "new_category") not in found
    assert ("extra", "extra_column") not in found and ("plan", "dtype_change") in found


def test_schema_inferred_from_the_file(project):
    code, text, _ = invoke("schema", "infer", "train.csv", "-o", "s.yaml")
    assert code == 0 and text == ""
    assert "greater_than_or_equal_to: 18" in (project.root / "s.yaml").read_text()
    assert invoke("check", "train.csv", "--against", "s.yaml")[0] == 0


@pytest.mark.parametrize("args, needle", [
    (("check", "missing.csv", "--against", "base"), "data file not found: missing.csv"),
    (("check", "train.csv", "--against", "nosuchrun"), "no run, model version or schema file matches"),
    (("check", "train.csv", "--against", "churn:9.9.9"), "no run, model version or schema file matches"),
    (("check", "train.csv", "--against", "nothere.yaml"), "schema file not found"),
    (("check", "train.csv", "--against", "broken.yaml"), "broken.yaml is not a valid pandera schema"),
    (("check", "notes.txt", "--against", "base"), "cannot read notes.txt"),
    (("check", "--against", "base"), "give at least one data file"),
    (("check", "train.csv", "--psi", "-1"), "--psi must not be negative"),
    (("schema", "infer", "missing.csv"), "data file not found"),
    (("schema", "infer", "train.csv", "--from", "nosuchrun"), "no run, model version or schema file matches"),
])
def test_bad_input_exits_2_in_one_line(project, args, needle):
    (project.root / "broken.yaml").write_text("columns: [1, 2\n")
    (project.root / "notes.txt").write_text("hello")
    one_line_error(*invoke(*args)[::2], needle)


def test_a_run_without_a_profile_says_why(project):
    (project.root / "tree").mkdir()
    with mlops.start_run("folder", store=project.url, auto_capture=False):
        mlops.log_data(project.root / "tree", name="train.csv")
    one_line_error(*invoke("check", "train.csv", "--against", "folder")[::2], "without a profile")


def test_profile_command_and_runs_show(project):
    code, out, _ = invoke("profile", "train.csv")
    assert code == 0 and out.startswith("Profile of train.csv: 3000 rows") and "color" in out
    code, out, err = cli_invoke("runs", "show", "base")
    assert code == 0, err
    assert "Profile of train.csv: 3000 rows" in out and "red" in out
    code, out, _ = cli_invoke("runs", "show", "base", "--format", "json")
    profile = json.loads(out)["profiles"]["train.csv"]
    assert [c["name"] for c in profile["columns"]] == ["age", "income", "color", "plan"]
    assert json.loads(out)["run"]["data_inputs"][0]["schema"]["profile"].startswith("xxh3_128:")


def test_runs_compare_names_drifted_columns(project):
    (project.root / "train.csv").write_bytes((project.root / "bad.csv").read_bytes())
    with mlops.start_run("shifted", store=project.url, auto_capture=False):
        mlops.log_data(project.root / "train.csv", name="train.csv")
    code, out, err = cli_invoke("runs", "compare", "base", "shifted", "--format", "json")
    assert code == 0, err
    change = json.loads(out)["data"][0]["changes"][0]
    drifted = {d["column"]: d["psi"] for d in change["drift"]}
    assert drifted["income"] > 0.2 and "age" not in drifted
    code, out, _ = cli_invoke("runs", "compare", "base", "shifted")
    assert "income drifted (PSI" in out


def test_a_cold_check_against_a_run_imports_neither_sqlalchemy_nor_pandera(project):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import jupyter_mlops

    root = str(Path(jupyter_mlops.__file__).resolve().parents[1])  # this tree, wherever the test runs from
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    script = ("import runpy, sys\nsys.argv = ['jupyter-mlops', 'data', 'check', 'bad.csv', '--against', 'base']\n"
              "try:\n    runpy.run_module('jupyter_mlops', run_name='__main__')\nexcept SystemExit as exit:\n"
              "    print(exit.code, 'sqlalchemy' in sys.modules, 'pandera' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=project.root,
                          timeout=120, env=env)
    assert done.stderr.strip().splitlines()[-1] == "1 False False", done.stderr

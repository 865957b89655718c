"""Metrics on slices end to end (ADR-070/071): runs logged through the tracking API into a real SQLite store,
then ``runs show``, ``runs compare`` (text and JSON) and ``gate --per-slice`` through the real ``main``, and a
cold gate process that reads the slices with the standard library alone."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest
from test_cli_runs import invoke

import jupyter_mlops as mlops

GATE = ("gate", "--baseline", "base", "--candidate", "cand", "--metric", "auc:max", "--per-slice", "region",
        "--max-regression", "2%")


@pytest.fixture
def project(tmp_path, project_store):
    """A project with its own store; ``log(name, auc, {region: auc})`` records a finished run."""
    url = project_store

    def log(name: str, auc: float, regions: dict[str, float]) -> str:
        with mlops.start_run(name, store=url, auto_capture=False) as run:
            run.log_metric("auc", auc)
            for region, value in regions.items():
                run.log_metric("auc", value, slice={"region": region})
        return run.id

    return types.SimpleNamespace(root=tmp_path, url=url, log=log)


def test_better_overall_worse_on_one_slice_exits_1_naming_the_slice(project):
    project.log("base", 0.90, {"EU": 0.88, "US": 0.91})
    project.log("cand", 0.93, {"EU": 0.84, "US": 0.95})
    code, out, err = invoke(*GATE)
    assert code == 1, out + err
    assert out.splitlines()[0].endswith("1 of 3 regressed (auc [region=EU])")
    row = next(line for line in out.splitlines() if line.startswith("auc [region=EU]"))
    assert row.split()[-1] == "regression"
    assert "auc [region=EU]: worse by 0.04; the candidate may be worse by at most 2%" in out
    code, out, _ = invoke(*GATE[:-2])  # no tolerance: the overall metric still passes, the slice does not
    assert code == 1


def test_all_slices_fine_exits_0(project):
    project.log("base", 0.90, {"EU": 0.88, "US": 0.91})
    project.log("cand", 0.91, {"EU": 0.875, "US": 0.92})
    code, out, err = invoke(*GATE)
    assert code == 0, out + err
    assert out.startswith("Gate PASS") and "3 of 3 passed" in out


def test_a_slice_missing_in_the_candidate_exits_2_naming_it(project):
    project.log("base", 0.90, {"EU": 0.88, "US": 0.91})
    project.log("cand", 0.95, {"US": 0.95})
    code, out, err = invoke(*GATE)
    assert code == 2
    assert err.strip() == "Error: auc on slice region=EU is missing on the candidate run"


def test_junit_and_json_reports_carry_the_slice(project, tmp_path):
    project.log("base", 0.90, {"EU": 0.88})
    project.log("cand", 0.93, {"EU": 0.80})
    code, _, _ = invoke(*GATE, "--junit-xml", str(tmp_path / "g.xml"), "--github")
    assert code == 1
    xml = (tmp_path / "g.xml").read_text()
    assert 'name="auc [region=EU]:max"' in xml and "<failure" in xml


def test_bad_per_slice_option_exits_2(project):
    code, _, err = invoke("gate", "--baseline", "a", "--candidate", "b", "--metric", "auc:max", "--per-slice", ",")
    assert code == 2 and err.startswith("Error: --per-slice must name slice dimensions")


def test_runs_show_and_compare_list_slices(project):
    project.log("base", 0.90, {"EU": 0.88, "US": 0.91})
    project.log("cand", 0.93, {"EU": 0.84})
    code, out, _ = invoke("runs", "show", "cand")
    assert code == 0 and "Metrics on slices" in out and "auc [region=EU]" in out
    code, out, _ = invoke("runs", "compare", "base", "cand")
    assert code == 0 and "Metrics on slices" in out and "region=US" in out
    code, out, _ = invoke("runs", "compare", "base", "cand", "--format", "json")
    slices = json.loads(out)["slices"]
    assert slices == [
        {"key": "auc", "slice": "region=EU", "dims": {"region": "EU"}, "values": [0.88, 0.84],
         "deltas": [0.0, pytest.approx(-0.04)], "best": 0, "goal": "max"},
        {"key": "auc", "slice": "region=US", "dims": {"region": "US"}, "values": [0.91, None],
         "deltas": [0.0, None], "best": 0, "goal": "max"}]
    code, out, _ = invoke("runs", "show", "cand", "--format", "json")
    assert json.loads(out)["run"]["slices"] == {"auc": {"region=EU": 0.84}}


def test_a_cold_gate_reads_slices_without_sqlalchemy(project):
    project.log("base", 0.90, {"EU": 0.88, "US": 0.91})
    project.log("cand", 0.93, {"EU": 0.84, "US": 0.95})
    program = ("import sys\nfrom jupyter_mlops.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
               "    print(e.code, 'sqlalchemy' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", program, *GATE], capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.stderr == "1 False\n", done.stderr
    assert "auc [region=EU]" in done.stdout

"""``jupyter-mlops gate`` end to end: runs logged through the tracking API into a real SQLite store, the real
``main`` (its single error translation), and the reports it writes.

Exit codes are the contract CI reads: 0 pass, 1 regression, 2 error (every error, a missing run as much as a bad
option), each error one line on stderr.
"""

from __future__ import annotations

import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from test_cli_runs import invoke as cli_invoke

import jupyter_mlops as mlops
from jupyter_mlops.store import open_store


@pytest.fixture
def project(tmp_path, project_store):
    """A project folder with its own store; ``log(name, metrics, params, data)`` records a finished run."""
    url = project_store

    def log(name: str, metrics: dict[str, float], params: dict[str, Any] | None = None,
            data: str = "age,y\n30,1\n") -> str:
        (tmp_path / "train.csv").write_text(data, encoding="utf-8")
        with mlops.start_run(name, experiment="churn", store=url, auto_capture=False) as run:
            mlops.log_params(params or {"lr": 0.1})
            mlops.log_metrics(metrics)
            mlops.log_data(tmp_path / "train.csv", name="train.csv")
        return run.id

    return types.SimpleNamespace(root=tmp_path, url=url, log=log)


def invoke(*args: str) -> tuple[int, str, str]:
    """``jupyter-mlops gate ARGS`` through ``main``: (exit code, stdout, stderr)."""
    return cli_invoke("gate", *args)


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


GATE = ("--baseline", "base", "--candidate", "cand")


# -- verdicts ----------------------------------------------------------------------------------------------------
def test_pass_prints_both_values_delta_and_verdict(project):
    project.log("base", {"auc": 0.91, "latency_ms": 12.0})
    project.log("cand", {"auc": 0.93, "latency_ms": 11.0})
    code, out, err = invoke(*GATE, "--metric", "auc:max", "--metric", "latency_ms:min")
    assert code == 0, out + err
    assert out.startswith("Gate PASS: candidate cand (")
    auc = next(line for line in out.splitlines() if line.startswith("auc "))
    assert auc.split()[:5] == ["auc", "max", "0.91", "0.93", "+0.02"] and auc.split()[-1] == "pass"
    latency = next(line for line in out.splitlines() if line.startswith("latency_ms "))
    assert latency.split()[:5] == ["latency_ms", "min", "12", "11", "-1"] and latency.split()[-1] == "pass"


@pytest.mark.parametrize(("metric", "base", "cand"), [("auc:max", 0.91, 0.90), ("latency_ms:min", 12.0, 12.5)])
def test_regression_in_either_direction_exits_1(project, metric, base, cand):
    key = metric.split(":")[0]
    project.log("base", {key: base})
    project.log("cand", {key: cand})
    code, out, err = invoke(*GATE, "--metric", metric)
    assert code == 1, out + err
    assert out.startswith("Gate REGRESSION") and "1 of 1 regressed" in out
    row = next(line for line in out.splitlines() if line.startswith(f"{key} "))
    assert row.split()[-1] == "regression"
    assert f"{key}: worse by" in out


def test_equal_values_pass_without_a_tolerance(project):
    project.log("base", {"auc": 0.9})
    project.log("cand", {"auc": 0.9})
    code, out, _ = invoke(*GATE, "--metric", "auc:max")
    row = next(line for line in out.splitlines() if line.startswith("auc "))
    assert code == 0 and row.split() == ["auc", "max", "0.9", "0.9", "+0", "(+0.00%)", "no", "worse", "pass"]
    code, out, _ = invoke(*GATE, "--metric", "auc:max", "--min-delta", "auc=0.001")
    assert code == 1 and "auc: equal to the baseline; the candidate must be better by at least 0.001" in out


# Each tolerance kind, just inside and just outside it (baseline auc 0.90 / latency 100 ms).
TOLERANCES = [
    ("auc:max", "--min-delta", "auc=0.01", 0.90, 0.911, 0),       # absolute: beat by >= 0.01
    ("auc:max", "--min-delta", "auc=0.01", 0.90, 0.905, 1),
    ("auc:max", "--min-delta", "auc=0.01", 0.90, 0.91, 0),        # exactly on it passes (float rounding aside)
    ("auc:max", "--min-delta", "auc=2%", 0.90, 0.92, 0),          # relative: 2% of 0.90 = 0.018
    ("auc:max", "--min-delta", "auc=2%", 0.90, 0.915, 1),
    ("latency_ms:min", "--max-regression", "latency_ms=3", 100.0, 102.5, 0),   # absolute: worse by <= 3 ms
    ("latency_ms:min", "--max-regression", "latency_ms=3", 100.0, 103.5, 1),
    ("latency_ms:min", "--max-regression", "latency_ms=5%", 100.0, 105.0, 0),  # relative: 5% of 100 = 5 ms
    ("latency_ms:min", "--max-regression", "latency_ms=5%", 100.0, 105.5, 1),
    ("auc:max", "--max-regression", "auc=0.005", 0.90, 0.896, 0),
    ("latency_ms:min", "--min-delta", "latency_ms=10%", 100.0, 89.0, 0),       # min direction must drop by 10
    ("latency_ms:min", "--min-delta", "latency_ms=10%", 100.0, 95.0, 1),
]


@pytest.mark.parametrize(("metric", "option", "tolerance", "base", "cand", "expected"), TOLERANCES)
def test_every_tolerance_kind(project, metric, option, tolerance, base, cand, expected):
    key = metric.split(":")[0]
    project.log("base", {key: base})
    project.log("cand", {key: cand})
    code, out, err = invoke(*GATE, "--metric", metric, option, tolerance)
    assert code == expected, out + err
    rule = "min-delta" if option == "--min-delta" else "max-regression"
    assert f"{rule} {tolerance.split('=')[1]}" in out


def test_missing_metric_is_an_error_not_a_pass(project):
    project.log("base", {"auc": 0.9, "latency_ms": 10.0})
    project.log("cand", {"auc": 0.95})
    code, out, err = invoke(*GATE, "--metric", "auc:max", "--metric", "latency_ms:min")
    one_line_error(code, err, "latency_ms is missing on the candidate run")
    assert out.startswith("Gate ERROR") and "1 of 2 could not be judged" in out


# -- bad input: exit 2, one line, nothing judged -------------------------------------------------------------------
@pytest.mark.parametrize(("args", "needle"), [
    (("--metric", "auc"), "--metric must be KEY:max or KEY:min"),
    (("--metric", "auc:up"), "direction must be max or min"),
    (("--metric", "auc:max", "--min-delta", "auc"), "--min-delta must be KEY=NUMBER"),
    (("--metric", "auc:max", "--min-delta", "auc=abc"), "--min-delta must be KEY=NUMBER"),
    (("--metric", "auc:max", "--max-regression", "auc=5%%"), "--max-regression must be KEY=NUMBER"),
    (("--metric", "auc:max", "--max-regression", "auc=-1"), "must not be negative"),
    (("--metric", "auc:max", "--max-regression", "auc=nan"), "--max-regression must be KEY=NUMBER"),
    (("--metric", "auc:max", "--min-delta", "f1=0.1"), "no such --metric"),
    (("--metric", "auc:max", "--min-delta", "auc=0.1", "--max-regression", "auc=1%"), "give one"),
    (("--metric", "auc:max", "--metric", "auc:min"), "more than once"),
    ((), "name at least one metric"),
])
def test_bad_rules_exit_2_in_one_line(project, args, needle):
    project.log("base", {"auc": 0.9})
    project.log("cand", {"auc": 0.95})
    code, out, err = invoke(*GATE, *args)
    one_line_error(code, err, needle)
    assert out == ""


@pytest.mark.parametrize(("args", "needle"), [
    (("--candidate", "cand"), "--model NAME [--version V] or --baseline RUN"),
    (("--baseline", "base"), "--candidate RUN or --last"),
    (("--baseline", "base", "--candidate", "cand", "--last"), "--candidate RUN or --last"),
    (("--baseline", "nope", "--candidate", "cand"), "nope"),  # not found: exit 2 here, not the usual 1
    (("--baseline", "base", "--candidate", "base"), "the candidate is the baseline run itself"),
    (("--baseline", "base", "--candidate", "cand", "--version", "1.0.0"), "--version needs --model"),
    (("--baseline", "base", "--last", "--filter", "name = "), "invalid filter"),
])
def test_bad_choice_of_runs_exits_2_in_one_line(project, args, needle):
    project.log("base", {"auc": 0.9})
    project.log("cand", {"auc": 0.95})
    code, out, err = invoke(*args, "--metric", "auc:max")
    one_line_error(code, err, needle)


def test_last_and_filter_choose_the_candidate(project):
    project.log("base", {"auc": 0.90})
    project.log("good", {"auc": 0.95}, params={"lr": 0.05})
    project.log("bad", {"auc": 0.80}, params={"lr": 0.5})
    code, out, _ = invoke("--baseline", "base", "--last", "--metric", "auc:max")
    assert code == 1 and "candidate bad (" in out
    code, out, _ = invoke("--baseline", "base", "--last", "--filter", "params.lr < 0.1", "--metric", "auc:max")
    assert code == 0 and "candidate good (" in out


# -- lineage -----------------------------------------------------------------------------------------------------
def test_lineage_names_the_changed_data_hash_and_param(project):
    base = project.log("base", {"auc": 0.9}, params={"lr": 0.1, "depth": 3}, data="age,y\n30,1\n")
    cand = project.log("cand", {"auc": 0.95}, params={"lr": 0.05, "depth": 3}, data="age,y\n31,1\n")
    code, out, _ = invoke(*GATE, "--metric", "auc:max")
    assert code == 0
    lineage = out.split("Lineage:", 1)[1]
    with open_store(project.url, create=False) as store:
        old, new = (store.get_run(i).data_inputs[0].hash for i in (base, cand))
    assert old != new
    digest = lambda h: h.split(":", 1)[1][:16]  # noqa: E731 - the text report shows 16 digest characters
    assert f"data changed: train.csv {old.split(':')[0]}:{digest(old)}" in lineage and digest(new) in lineage
    assert "param changed: lr 0.1 → 0.05" in lineage
    assert "depth" not in lineage  # unchanged params are not lineage changes


def test_identical_making_says_so(project):
    project.log("base", {"auc": 0.9})
    project.log("cand", {"auc": 0.95})
    _, out, _ = invoke(*GATE, "--metric", "auc:max")
    assert "no recorded difference in data, params, code or packages" in out


# -- reports -----------------------------------------------------------------------------------------------------
@pytest.fixture
def regressed(project):
    """auc passes its min-delta, latency regresses past 5%, f1 is missing on the candidate; data and lr changed."""
    project.log("base", {"auc": 0.90, "latency_ms": 100.0, "f1": 0.7}, params={"lr": 0.1}, data="a\n1\n")
    project.log("cand", {"auc": 0.92, "latency_ms": 107.0}, params={"lr": 0.2}, data="a\n2\n")
    return project


ARGS = (*GATE, "--metric", "auc:max", "--metric", "latency_ms:min", "--metric", "f1:max",
        "--min-delta", "auc=0.01", "--max-regression", "latency_ms=5%")


def test_junit_xml_has_a_testcase_per_metric(regressed):
    target = regressed.root / "gate.xml"
    code, _, _ = invoke(*ARGS, "--junit-xml", str(target))
    assert code == 2  # an unjudged metric outranks the regression
    suite = ET.parse(target).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"auc:max", "latency_ms:min", "f1:max"}
    assert list(cases["auc:max"]) == []
    failure = cases["latency_ms:min"].find("failure")
    assert failure is not None and "at most 5%" in failure.get("message") and "107" in failure.text
    error = cases["f1:max"].find("error")
    assert error is not None and "f1 is missing on the candidate run" in error.get("message")
    assert "param changed: lr 0.1 → 0.2" in suite.find("system-out").text


def test_junit_xml_counts_a_clean_pass(project):
    project.log("base", {"auc": 0.9})
    project.log("cand", {"auc": 0.95})
    target = project.root / "pass.xml"
    assert invoke(*GATE, "--metric", "auc:max", "--junit-xml", str(target))[0] == 0
    suite = ET.parse(target).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")


def test_markdown_is_a_table_for_a_pr_comment(regressed):
    target = regressed.root / "gate.md"
    invoke(*ARGS, "--markdown", str(target))
    text = target.read_text(encoding="utf-8")
    assert text.startswith("## ⚠️ Model gate: ERROR")
    assert "| Metric | Direction | Baseline | Candidate | Delta | Rule | Verdict |" in text
    assert "| latency_ms | min | 100 | 107 | +7 (+7.00%) | max-regression 5% | ❌ regression |" in text
    assert "| auc | max | 0.9 | 0.92 | +0.02 (+2.22%) | min-delta 0.01 | ✅ pass |" in text
    assert "| f1 | max | 0.7 | — | — | no worse | ⚠️ error |" in text
    assert "### Lineage difference" in text and "- param changed: lr 0.1 → 0.2" in text
    assert "- data changed: train.csv" in text


def test_github_annotations(regressed):
    code, out, _ = invoke(*ARGS, "--github")
    rows = [line for line in out.splitlines() if line.startswith("::")]
    errors = [r for r in rows if r.startswith("::error ")]
    notices = [r for r in rows if r.startswith("::notice ")]
    assert len(errors) == 2 and len(notices) == 2
    assert any("title=gate regression%3A latency_ms::" in r and "max-regression 5%25" in r for r in errors)
    assert any("title=gate error%3A f1::" in r for r in errors)
    assert any("title=gate pass%3A auc::" in r for r in notices)
    lineage = next(r for r in notices if "title=gate lineage::" in r)
    assert "%0Aparam changed: lr 0.1 → 0.2" in lineage and "\n" not in lineage


def test_unwritable_report_path_is_one_line(project):
    project.log("base", {"auc": 0.9})
    project.log("cand", {"auc": 0.95})
    code, _, err = invoke(*GATE, "--metric", "auc:max", "--junit-xml", str(project.root / "no" / "such" / "g.xml"))
    one_line_error(code, err, "cannot write")


# -- the model path (the registry is faked: it is built elsewhere) -------------------------------------------------
def fake_registry(monkeypatch, versions: dict[str, tuple[str, str]]) -> list[str]:
    """Install a stand-in ``jupyter_mlops.app.models``: ``{ref: (run_id, version)}``; returns the refs asked for."""
    asked: list[str] = []

    def resolve_version(workspace: Any, ref: str) -> Any:
        asked.append(ref)
        run_id, version = versions[ref]
        return types.SimpleNamespace(run_id=run_id, version=version, name=ref.split("@")[0].split(":")[0])

    module = types.ModuleType("jupyter_mlops.app.models")
    module.resolve_version = resolve_version  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jupyter_mlops.app.models", module)
    return asked


def test_model_champion_and_version_read_the_versions_run(project, monkeypatch):
    champion = project.log("v1", {"auc": 0.90})
    older = project.log("v0", {"auc": 0.80})
    project.log("cand", {"auc": 0.85})
    asked = fake_registry(monkeypatch, {"churn@champion": (champion, "1.0.0"), "churn:0.9.0": (older, "0.9.0")})

    code, out, _ = invoke("--model", "churn", "--candidate", "cand", "--metric", "auc:max")
    assert asked == ["churn@champion"]
    assert code == 1 and f"vs churn@champion (1.0.0), baseline v1 ({champion[:8]})" in out

    code, out, _ = invoke("--model", "churn", "--version", "0.9.0", "--candidate", "cand", "--metric", "auc:max")
    assert asked[-1] == "churn:0.9.0"
    assert code == 0 and f"vs churn:0.9.0, baseline v0 ({older[:8]})" in out


def test_model_champion_from_the_real_registry(project):
    """--model reads the registry: the champion alias names a version, whose run is the baseline."""
    from jupyter_mlops.app.models import set_alias
    from jupyter_mlops.app.workspace import Workspace

    project.log("v1", {"auc": 0.90})  # a run without a model: never a baseline for --model
    with mlops.start_run("trained", experiment="churn", store=project.url, auto_capture=False) as trained:
        mlops.log_metrics({"auc": 0.92})
        mlops.log_data(project.root / "train.csv", name="train.csv")
        mlops.log_model({"weights": [1, 2, 3]}, "churn")
    with Workspace.from_url(project.url) as workspace:
        set_alias(workspace, "churn:1.0.0", "champion", force=True, reason="test: no code recorded")
    project.log("cand-worse", {"auc": 0.91})
    project.log("cand-better", {"auc": 0.95})

    code, out, _ = invoke("--model", "churn", "--candidate", "cand-worse", "--metric", "auc:max")
    assert code == 1 and f"vs churn@champion (1.0.0), baseline trained ({trained.id[:8]})" in out, out
    code, out, _ = invoke("--model", "churn", "--version", "1.0.0", "--candidate", "cand-better", "--metric", "auc:max")
    assert code == 0, out
    code, _, err = invoke("--model", "churn", "--version", "9.9.9", "--candidate", "cand-better", "--metric", "auc:max")
    one_line_error(code, err, "9.9.9")


def test_console_script_exit_code(project):
    project.log("base", {"auc": 0.91})
    project.log("cand", {"auc": 0.90})
    script = Path(sys.executable).parent / "jupyter-mlops"
    out = subprocess.run([str(script), "gate", *GATE, "--metric", "auc:max"], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 1 and "Gate REGRESSION" in out.stdout and out.stderr == ""


def test_a_cold_gate_on_a_sqlite_store_never_imports_sqlalchemy(project):
    # Importing SQLAlchemy was ~0.2 s of a cold gate (ADR-059): the runs come straight from the file instead
    # (tests/unit/app/test_gate_quick_loading.py checks that answer against the store's).
    project.log("base", {"auc": 0.91}, {"lr": 0.1})
    project.log("cand", {"auc": 0.90}, {"lr": 0.2}, data="age,y\n31,0\n")
    program = ("import sys\nfrom jupyter_mlops.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
               "    print(e.code, 'sqlalchemy' in sys.modules, file=sys.stderr)")

    def cold(*refs: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", program, "gate", *refs, "--metric", "auc:max"],
                              capture_output=True, text=True, check=False, timeout=120)

    judged = cold(*GATE)
    assert judged.stderr == "1 False\n", judged.stderr
    assert all(text in judged.stdout for text in ("Gate REGRESSION", "data changed", "param changed: lr"))
    missing = cold("--baseline", "base", "--candidate", "nope")
    assert missing.stderr.splitlines() == ["Error: no run matches 'nope' (by id, id prefix or name)", "2 False"]

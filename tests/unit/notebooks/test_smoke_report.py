"""Smoke report renderings: text lines, exit codes, JUnit XML, JSON, GitHub annotations; CLI usage errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jupyter_mlops.cli.smoke import join_param_pairs, main
from jupyter_mlops.notebooks.smoke.execute import _Deadlines, cell_timeout
from jupyter_mlops.notebooks.smoke.limits import Limits
from jupyter_mlops.notebooks.smoke.report import (
    CellFailure,
    NotebookResult,
    SmokeReport,
    github_annotations,
    junit_xml,
    write_json,
)
from jupyter_mlops.notebooks.smoke.run import cell_lines


def report() -> SmokeReport:
    failure = CellFailure(index=3, cell_id="abc", source="x = 1\ny = x / 0", ename="ZeroDivisionError",
                          evalue="division by zero", traceback=["\x1b[31mZeroDivisionError\x1b[0m: boom\x07"], line=40)
    return SmokeReport(results=[
        NotebookResult(path="nbs/good.ipynb", passed=True, duration=1.25),
        NotebookResult(path="nbs/bad, one.ipynb", passed=False, reason="cell-error",
                       message=failure.headline(), failures=[failure], executed_path=".mlops/smoke/nbs/bad.ipynb",
                       duration=2.0),
        NotebookResult(path="broken.ipynb", passed=False, reason="bad-notebook", message="not valid notebook JSON"),
    ], wall=3.5)


def test_lines_name_reason_cell_source_and_executed_notebook():
    lines = report().results[1].lines()
    assert lines[0] == "FAIL nbs/bad, one.ipynb [cell-error] cell 3 (id abc): ZeroDivisionError: division by zero"
    assert "    | y = x / 0" in lines
    assert lines[-1] == "  executed notebook: .mlops/smoke/nbs/bad.ipynb"
    assert report().results[0].lines() == ["PASS nbs/good.ipynb (1.2s)"]
    assert report().summary() == "3 notebooks: 1 passed, 2 failed in 3.5s"


def test_exit_codes():
    assert report().exit_code == 1
    assert SmokeReport(results=[NotebookResult(path="a", passed=True)]).exit_code == 0
    bad_param = NotebookResult(path="b", passed=False, reason="bad-parameter", message="unknown parameter x")
    assert SmokeReport(results=[bad_param]).exit_code == 2


def test_junit_xml_has_one_testcase_per_notebook_and_failure_details():
    root = ET.fromstring(junit_xml(report()))
    assert root.attrib["tests"] == "3" and root.attrib["failures"] == "2"
    cases = root.findall("testcase")
    assert [c.attrib["name"] for c in cases] == ["good.ipynb", "bad, one.ipynb", "broken.ipynb"]
    failure = cases[1].find("failure")
    assert failure is not None and failure.attrib["type"] == "cell-error"
    assert "y = x / 0" in failure.text and "ZeroDivisionError: boom" in failure.text and "\x1b" not in failure.text
    assert cases[0].find("failure") is None


def test_json_report_round_trips_with_durations(tmp_path: Path):
    write_json(report(), tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"] == {"total": 3, "passed": 1, "failed": 2, "wall": 3.5, "exit_code": 1}
    assert data["notebooks"][1]["failures"][0]["cell_id"] == "abc"
    assert [n["duration"] for n in data["notebooks"]] == [1.25, 2.0, 0.0]


def test_github_annotations_point_at_the_notebook_and_cell_line_with_escaping():
    rows = github_annotations(report())
    assert rows[0] == ("::error file=nbs/bad%2C one.ipynb,line=40,title=nb-smoke cell-error::"
                       "nbs/bad, one.ipynb: cell 3 (id abc): ZeroDivisionError: division by zero")
    assert rows[1].startswith("::error file=broken.ipynb,title=nb-smoke bad-notebook::")


def test_cell_lines_find_each_cell_in_the_file():
    raw = b'{\n "cells": [\n  {\n   "cell_type": "code"\n  },\n  {\n   "cell_type": "markdown"\n  }\n ]\n}'
    assert cell_lines(raw, 2) == [4, 7]
    assert cell_lines(raw, 3) == [None, None, None]


def test_cell_timeouts_from_metadata_tags_and_the_notebook_deadline():
    cell = {"metadata": {"jupyter_mlops": {"timeout": 5}}}
    assert cell_timeout(cell, 600) == 5.0
    assert cell_timeout({"metadata": {"tags": ["timeout=2.5"]}}, 600) == 2.5
    assert cell_timeout({"metadata": {"tags": ["timeout=x"]}}, 600) == 600
    deadlines = _Deadlines(Limits(cell_timeout=600, timeout=30))
    assert deadlines(cell) == 5.0 and not deadlines.by_notebook
    assert 0 < deadlines({"metadata": {}}) <= 30 and deadlines.by_notebook


def test_param_pairs_are_joined():
    assert join_param_pairs(["-p", "epochs", "2", "-p", "lr=0.1", "nbs"]) == ["-p", "epochs=2", "-p", "lr=0.1", "nbs"]
    assert join_param_pairs(["--param", "a", "b", "--", "-p", "x", "y"]) == ["--param", "a=b", "--", "-p", "x", "y"]


@pytest.mark.parametrize(("args", "message"), [
    (["missing-folder"], "no such file or directory"),
    (["--shard", "3/2", "."], "expected K/N"),
    (["-p", "novalue"], "expected KEY=VALUE"),
    (["--jobs", "0", "."], "Invalid value"),
    (["--cell-timeout", "-1", "."], "must be > 0"),
    (["--changed-since", "HEAD", "."], "--changed-since"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], args: list[str], message: str):
    (tmp_path / "a.ipynb").write_text("{}")  # never executed: each call stops at its usage error
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--jobs", "--param", "--shard", "--changed-since", "--junit-xml", "--github", "--no-track"):
        assert option in out


def _job(*cells):
    from nbformat.v4 import new_notebook

    from jupyter_mlops.notebooks.smoke.execute import Job

    nb = new_notebook(cells=list(cells))
    return Job(path=Path("x.ipynb"), key="x.ipynb", nb=nb, origin=list(range(len(nb.cells))),
               lines=[None] * len(nb.cells))


def test_silent_pass_guard():
    from nbformat.v4 import new_code_cell, new_output

    from jupyter_mlops.notebooks.smoke.execute import check_cell

    ran = new_code_cell("a = 1", execution_count=1)
    never_ran = new_code_cell("b = 2")
    silent = new_code_cell("c = 3", execution_count=3)
    raised = new_code_cell("1/0", execution_count=4, outputs=[
        new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["tb"])])
    allowed = new_code_cell("1/0", execution_count=5, metadata={"tags": ["raises-exception"]},
                            outputs=raised.outputs)
    job = _job(ran, never_ran, silent, raised, allowed)
    ok, error = {"content": {"status": "ok"}}, {"content": {"status": "error", "ename": "X"}}
    assert check_cell(job, 0, ok) is None
    assert check_cell(job, 1, ok).ename == "NotExecuted"
    assert "silent failure" in check_cell(job, 2, {"content": {"status": "error"}}).evalue
    assert check_cell(job, 2, error).ename == "X"  # a reply that names its error is reported with it
    assert check_cell(job, 2, {"content": {"status": "aborted"}}).ename == "Aborted"
    assert check_cell(job, 3, error).ename == "ZeroDivisionError"
    assert check_cell(job, 4, error) is None


def test_rich_display_prints_results_verbatim(capsys: pytest.CaptureFixture[str]):
    from jupyter_mlops.cli.smoke import _Display

    with _Display(3, live=True) as display:
        display.started("nbs/bad, one.ipynb")
        for result in report().results:
            display.finished(result)
    out = capsys.readouterr().out
    assert "FAIL nbs/bad, one.ipynb [cell-error] cell 3" in out and "[bad-notebook]" in out


def test_a_gate_verdict_becomes_part_of_the_notebook_result():
    passed = NotebookResult(path="a.ipynb", passed=True)
    passed.add_gate("pass", {"metrics": []}, ["Gate PASS: candidate x", "auc ok"])
    regressed = NotebookResult(path="b.ipynb", passed=True)
    regressed.add_gate("regression", {"metrics": []}, ["Gate REGRESSION: candidate y", "auc worse"])
    assert passed.passed and passed.gate == {"metrics": [], "verdict": "pass"}
    assert passed.lines()[1:] == ["  gate: Gate PASS: candidate x", "  gate: auc ok"]
    assert not regressed.passed and regressed.reason == "gate-regression"
    assert regressed.lines() == ["FAIL b.ipynb [gate-regression] Gate REGRESSION: candidate y", "  gate: auc worse"]
    assert SmokeReport([passed, regressed]).exit_code == 1
    errored = NotebookResult(path="c.ipynb", passed=True)
    errored.add_gate("error", {"message": "no champion"}, ["Gate ERROR: no champion"])
    assert errored.reason == "gate-error" and SmokeReport([passed, regressed, errored]).exit_code == 2
    cases = {c.attrib["name"]: c for c in ET.fromstring(junit_xml(SmokeReport([passed, regressed]))).iter("testcase")}
    assert cases["a.ipynb"].find("system-out").text.startswith("Gate PASS")
    assert cases["b.ipynb"].find("failure").attrib["type"] == "gate-regression"
    (annotation,) = github_annotations(SmokeReport([passed, regressed]))
    assert "gate-regression" in annotation and "Gate REGRESSION" in annotation


def test_a_data_check_becomes_part_of_the_notebook_result_after_the_gate():
    clean = NotebookResult(path="a.ipynb", passed=True)
    clean.add_gate("pass", {}, ["Gate PASS: candidate x"])
    clean.add_data("clean", {"datasets": []}, ["Data check clean: 1 file against run base"])
    drifted = NotebookResult(path="b.ipynb", passed=True)
    drifted.add_data("anomalies", {}, ["Data check: 1 anomaly (train.csv:income drift)", "train.csv  income  drift"])
    assert clean.passed and clean.data_check == {"datasets": [], "verdict": "clean"}
    assert clean.lines()[1:] == ["  gate: Gate PASS: candidate x", "  data: Data check clean: 1 file against run base"]
    assert not drifted.passed and drifted.reason == "data-anomaly"
    assert drifted.lines() == ["FAIL b.ipynb [data-anomaly] Data check: 1 anomaly (train.csv:income drift)",
                               "  data: train.csv  income  drift"]
    assert SmokeReport([clean, drifted]).exit_code == 1
    errored = NotebookResult(path="c.ipynb", passed=True)
    errored.add_data("error", {"message": "no data"}, ["Data check ERROR: no data"])
    assert errored.reason == "data-error" and SmokeReport([clean, drifted, errored]).exit_code == 2
    cases = {c.attrib["name"]: c for c in ET.fromstring(junit_xml(SmokeReport([clean, drifted]))).iter("testcase")}
    assert cases["a.ipynb"].find("system-out").text == ("Gate PASS: candidate x\n"
                                                        "Data check clean: 1 file against run base")
    assert cases["b.ipynb"].find("failure").attrib["type"] == "data-anomaly"
    (annotation,) = github_annotations(SmokeReport([clean, drifted]))
    assert "data-anomaly" in annotation and "income drift" in annotation
    # a notebook the gate already failed is not failed again by its data
    regressed = NotebookResult(path="d.ipynb", passed=True)
    regressed.add_gate("regression", {}, ["Gate REGRESSION: y"])
    regressed.add_data("anomalies", {}, ["Data check: 1 anomaly"])
    assert regressed.reason == "gate-regression" and regressed.message == "Gate REGRESSION: y"

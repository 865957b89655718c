"""nb-smoke end to end with real kernels: every bad input of the issue in one call, plus keep-going, the
notebook timeout, a missing --kernel and bad parameters.

Kernel starts are the cost here (~1 s each), so the bad-input fixtures all run in ONE ``nb-smoke -j 2`` call
(module fixture) and the tests read its exit code, reports and executed notebooks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.requires_kernel

FIXTURES = Path(__file__).parents[1] / "data" / "notebooks" / "smoke"
NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]

EXPECTED = {
    "bad--invalid.ipynb": "bad-notebook",
    "bad--non-utf8.ipynb": "bad-notebook",
    "bad--not-a-notebook.ipynb": "bad-notebook",
    "bad--truncated.ipynb": "bad-notebook",
    "bad--v3.ipynb": "bad-notebook",
    "empty--no-cells.ipynb": "bad-notebook",
    "hangs--cell-timeout.ipynb": "timeout",
    "kernel-dies--os-exit.ipynb": "kernel-died",
    "kernel-missing--unknown-language.ipynb": "kernel-missing",
    "passes--params.ipynb": None,
    "raises--two-errors.ipynb": "cell-error",
    "silent--error-reply.ipynb": "cell-error",
    "tags--raises-and-skip.ipynb": None,
}
# Made by the fixture (issue 8 §5): 200,000 nested `[` in the metadata, and two symlinks pointing at each other.
GENERATED = {"bad--deep-json.ipynb": "bad-notebook", "loop--a.ipynb": "bad-notebook", "loop--b.ipynb": "bad-notebook"}


def nb_smoke(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NB_SMOKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("smoke")
    for name in EXPECTED:
        shutil.copy(FIXTURES / name, work / name)
    (work / "pyproject.toml").write_text('[tool.jupyter-mlops.smoke."passes--*.ipynb"]\nepochs = 3\n')
    deep = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")], metadata={"deep": "DEEP"})
    (work / "bad--deep-json.ipynb").write_text(json.dumps(deep).replace('"DEEP"', "[" * 200_000 + "]" * 200_000))
    (work / "loop--a.ipynb").symlink_to("loop--b.ipynb")
    (work / "loop--b.ipynb").symlink_to("loop--a.ipynb")
    before = {name: (work / name).read_bytes() for name in EXPECTED}
    out = nb_smoke(work, ".", "-j", "2", "--plain", "--no-track", "--json", "r.json", "--junit-xml", "r.xml",
                   "--github", "--output-dir", "executed")
    report = json.loads((work / "r.json").read_text())
    return {"work": work, "out": out, "before": before,
            "results": {row["path"]: row for row in report["notebooks"]}, "report": report}


def test_every_bad_input_gets_its_reason_and_the_others_still_run(batch: dict):
    assert batch["out"].returncode == 1, batch["out"].stderr
    reasons = {path: row["reason"] for path, row in batch["results"].items()}
    assert reasons == {**EXPECTED, **GENERATED}
    assert "Traceback" not in batch["out"].stderr
    assert batch["results"]["bad--deep-json.ipynb"]["message"].startswith("JSON nested too deeply")
    assert batch["results"]["loop--a.ipynb"]["message"].startswith("symlink loop")
    for name, reason in {**EXPECTED, **GENERATED}.items():  # one clear line per notebook
        prefix = f"PASS {name}" if reason is None else f"FAIL {name} [{reason}]"
        assert any(line.startswith(prefix) for line in batch["out"].stdout.splitlines()), name


def test_no_input_file_is_modified(batch: dict):
    assert {name: (batch["work"] / name).read_bytes() for name in EXPECTED} == batch["before"]


def test_parameters_and_smoke_context_reach_the_kernel(batch: dict):
    executed = nbformat.read(batch["work"] / "executed" / "passes--params.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "epochs = 3" in injected[0].source
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "3 0.1 base False ['smoke']" in printed
    assert batch["results"]["passes--params.ipynb"]["parameters"] == {"epochs": 3}


def test_cell_error_names_the_cell_and_stops_there(batch: dict):
    row = batch["results"]["raises--two-errors.ipynb"]
    assert len(row["failures"]) == 1
    failure = row["failures"][0]
    assert (failure["index"], failure["cell_id"], failure["ename"]) == (1, "c1", "ZeroDivisionError")
    assert "y = x / 0" in failure["source"] and failure["line"] is not None
    executed = nbformat.read(batch["work"] / row["executed_path"], as_version=4)
    assert executed.cells[2].execution_count is None  # not run after the failure


def test_timeout_kernel_death_and_silent_errors(batch: dict):
    hang = batch["results"]["hangs--cell-timeout.ipynb"]
    assert "cell exceeded its timeout of 2s" in hang["message"]
    partial = nbformat.read(batch["work"] / hang["executed_path"], as_version=4)
    assert partial.cells[0].execution_count == 1  # the partial executed notebook is kept
    died = batch["results"]["kernel-dies--os-exit.ipynb"]
    assert died["failures"][0]["index"] == 1 and "exit code 3" in died["message"]
    silent = batch["results"]["silent--error-reply.ipynb"]
    assert "silent failure" in silent["message"]


def test_junit_and_github_outputs(batch: dict):
    root = ET.parse(batch["work"] / "r.xml").getroot()
    assert root.attrib["tests"] == str(len(EXPECTED) + len(GENERATED)) and root.attrib["failures"] == "14"
    failed = {case.attrib["name"]: case.find("failure") for case in root.iter("testcase")}
    assert failed["passes--params.ipynb"] is None
    assert "y = x / 0" in failed["raises--two-errors.ipynb"].text
    annotations = [line for line in batch["out"].stdout.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 14
    assert any(a.startswith("::error file=raises--two-errors.ipynb,line=") for a in annotations)


def test_keep_going_reports_every_failing_cell_and_notebook_timeout(tmp_path: Path):
    shutil.copy(FIXTURES / "raises--two-errors.ipynb", tmp_path)
    sleeper = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(120)")])
    nbformat.write(sleeper, tmp_path / "sleeps.ipynb")
    out = nb_smoke(tmp_path, ".", "--keep-going", "--timeout", "4", "--plain", "--json", "r.json")
    assert out.returncode == 1
    rows = {r["path"]: r for r in json.loads((tmp_path / "r.json").read_text())["notebooks"]}
    failures = rows["raises--two-errors.ipynb"]["failures"]
    assert [(f["index"], f["ename"]) for f in failures] == [(1, "ZeroDivisionError"), (3, "ValueError")]
    assert rows["sleeps.ipynb"]["reason"] == "timeout"
    assert "notebook exceeded --timeout 4s" in rows["sleeps.ipynb"]["message"]


def test_missing_kernel_and_bad_parameters_start_no_kernel(tmp_path: Path):
    shutil.copy(FIXTURES / "passes--params.ipynb", tmp_path)
    out = nb_smoke(tmp_path, ".", "--kernel", "no-such-kernel", "--plain")
    assert out.returncode == 1
    assert "[kernel-missing] no kernel named 'no-such-kernel'" in out.stdout
    out = nb_smoke(tmp_path, "passes--params.ipynb", "-p", "epochs", "2.5", "--plain")
    assert out.returncode == 2
    assert "[bad-parameter] parameter epochs: '2.5' is not a valid int" in out.stdout
    out = nb_smoke(tmp_path, "passes--params.ipynb", "-p", "epoch=1", "--plain")
    assert out.returncode == 2 and "unknown parameter epoch" in out.stderr  # a usage error, before any kernel


def _params_notebook(path: Path, params: str | None, body: str) -> None:
    cells = [] if params is None else [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nbformat.write(nbformat.v4.new_notebook(cells=[*cells, nbformat.v4.new_code_cell(body)]), path)


def test_a_folder_parameter_goes_to_the_notebooks_that_define_it(tmp_path: Path):
    # The README's CI line: one -p for a folder whose notebooks differ in their parameters.
    _params_notebook(tmp_path / "train.ipynb", "epochs = 10", "print('epochs', epochs)")
    _params_notebook(tmp_path / "data.ipynb", "version = 1", "print('version', version)")
    _params_notebook(tmp_path / "plain.ipynb", None, "print('no parameters')")
    out = nb_smoke(tmp_path, ".", "-j", "2", "-p", "epochs=1", "--plain", "--no-track", "--output-dir", "run")
    assert out.returncode == 0, out.stdout + out.stderr
    executed = {name: nbformat.read(tmp_path / "run" / name, as_version=4) for name in
                ("train.ipynb", "data.ipynb", "plain.ipynb")}
    assert executed["train.ipynb"].cells[-1].outputs[0]["text"] == "epochs 1\n"
    assert executed["data.ipynb"].cells[-1].outputs[0]["text"] == "version 1\n"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for name in ("data.ipynb", "plain.ipynb")
                   for c in executed[name].cells)

    out = nb_smoke(tmp_path, ".", "-p", "epoch=1", "--plain", "--no-track")
    assert out.returncode == 2
    assert "unknown parameter epoch: no selected notebook's parameters cell defines it" in out.stderr
    assert "did you mean 'epochs'?" in out.stderr and "Traceback" not in out.stderr
    assert "PASS" not in out.stdout  # refused before any kernel started

    out = nb_smoke(tmp_path, ".", "-p", "epochs=1", "--strict-params", "--plain", "--no-track")
    assert out.returncode == 2
    assert "FAIL data.ipynb [bad-parameter] unknown parameter epochs" in out.stdout
    assert "FAIL plain.ipynb [bad-parameter]" in out.stdout and "PASS train.ipynb" in out.stdout


def test_a_parameters_cell_that_does_not_parse_is_named_as_the_reason(tmp_path: Path):
    _params_notebook(tmp_path / "broken.ipynb", "a = 1\nb = (2", "print(a)")
    out = nb_smoke(tmp_path, "broken.ipynb", "-p", "a=3", "--plain", "--no-track")
    assert out.returncode == 2
    assert "[bad-parameter] the parameters cell (cell 0) does not parse: line 2:" in out.stdout

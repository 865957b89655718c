"""nb-smoke tells the truth about a failed run (issue 9, items 6-8), with real kernels.

The kept executed notebook shows which cells ran (item 6), a kernel start that lost a port race is retried and
reported while a kernel that cannot start is still ``kernel-died`` (item 7), and an error reply's own
``ename``/``evalue`` is the reported error (item 8).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.requires_kernel

FIXTURES = Path(__file__).parents[1] / "data" / "notebooks" / "smoke"
NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
STALE = "stale--fails-at-cell-0.ipynb"
MAGIC = "usage-error--unknown-magic.ipynb"


def nb_smoke(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NB_SMOKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})})


def run(work: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = nb_smoke(work, *args, "--plain", "--no-track", "--json", "r.json", "--output-dir", "executed", env=env)
    assert (work / "r.json").exists(), out.stderr
    report = json.loads((work / "r.json").read_text())
    return out, {row["path"]: row for row in report["notebooks"]}


def smoke_state(cell: dict) -> tuple[str, str]:
    return cell.metadata["jupyter_mlops"]["smoke"], cell.metadata["papermill"]["status"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("honest")
    for name in (STALE, MAGIC):
        shutil.copy(FIXTURES / name, work / name)
    ipc = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import json\nfrom ipykernel.connect import get_connection_info\n"
        "transport = json.loads(get_connection_info())['transport']\n"
        "assert transport == 'ipc', transport")])
    nbformat.write(ipc, work / "ipc--transport.ipynb")
    tmp = work / "tmp"
    tmp.mkdir()
    out, results = run(work, ".", "-j", "3", env={"TMPDIR": str(tmp)})
    return {"work": work, "out": out, "results": results, "tmp": tmp}


def test_cells_after_a_failure_are_cleared_and_marked_not_run(batch: dict):
    row = batch["results"][STALE]
    assert row["reason"] == "cell-error" and row["failures"][0]["index"] == 0
    executed = nbformat.read(batch["work"] / row["executed_path"], as_version=4)
    failed, after, skipped, _markdown, last = executed.cells
    # The input stored `result 41` with execution count 2 in cell 1: nothing of it may survive.
    for cell in (after, skipped, last):
        assert (cell.outputs, cell.execution_count) == ([], None)
    assert smoke_state(failed) == ("failed", "failed") and failed.metadata["papermill"]["exception"] is True
    assert smoke_state(after) == smoke_state(last) == ("not-run", "pending")
    assert smoke_state(skipped) == ("skipped", "pending")


def test_keep_going_marks_the_cells_that_ran_after_a_failure(tmp_path: Path):
    shutil.copy(FIXTURES / STALE, tmp_path / STALE)
    _, results = run(tmp_path, STALE, "--keep-going")
    executed = nbformat.read(tmp_path / results[STALE]["executed_path"], as_version=4)
    failed, after, skipped, _markdown, last = executed.cells
    assert smoke_state(failed)[0] == "failed"
    assert smoke_state(after) == ("completed", "completed") and after.execution_count == 2
    assert [o.text for o in after.outputs] == ["result 42\n"]  # this run's output, not the stored `result 41`
    assert smoke_state(last)[0] == "completed" and [o.text for o in last.outputs] == ["done\n"]
    assert smoke_state(skipped)[0] == "skipped" and skipped.outputs == [] and skipped.execution_count is None


def test_an_error_reply_is_reported_with_its_own_text(batch: dict):
    row = batch["results"][MAGIC]
    assert row["reason"] == "cell-error"
    failure = row["failures"][0]
    assert (failure["index"], failure["ename"]) == (1, "UsageError")
    assert failure["evalue"] == "Line magic function `%not_a_real_magic` not found."
    assert "silent failure" not in row["message"]
    assert f"FAIL {MAGIC} [cell-error] cell 1 (id c1): UsageError: Line magic function" in batch["out"].stdout


@pytest.mark.skipif(os.name != "posix", reason="the ipc transport is for POSIX only")
def test_the_default_kernel_talks_over_ipc_and_leaves_no_sockets(batch: dict):
    row = batch["results"]["ipc--transport.ipynb"]
    assert row["passed"], row["message"]
    assert row["kernel_start_retries"] == []
    assert not any(p.name.startswith("nb-smoke-ipc-") for p in batch["tmp"].iterdir())


LAUNCHER = '''
import json, os, socket, subprocess, sys
from pathlib import Path

connection_file, state = sys.argv[1], Path(os.environ["RACY_STATE"])
name = Path(os.environ["JPY_SESSION_NAME"]).stem
with (state / f"{name}.starts").open("a") as starts:
    starts.write("start\\n")
count = len((state / f"{name}.starts").read_text().splitlines())
kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *sys.argv[2:]]
if name == "dies-at-start":
    sys.stderr.write("ImportError: this kernel cannot start\\n")
    sys.exit(1)
if name == "race-always" or (name == "race-once" and count == 1):
    # Take the shell port first, as another process under load does: the real kernel then fails to bind it.
    info = json.loads(Path(connection_file).read_text())
    taken = socket.socket()
    taken.bind((info["ip"], info["shell_port"]))
    taken.listen()
    sys.exit(subprocess.call(kernel))
os.execv(sys.executable, kernel)
'''


def test_a_start_that_lost_a_port_race_is_retried_and_reported(tmp_path: Path):
    state, kernels = tmp_path / "state", tmp_path / "jupyter" / "kernels" / "racy"
    state.mkdir()
    kernels.mkdir(parents=True)
    (kernels / "launcher.py").write_text(LAUNCHER)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(kernels / "launcher.py"), "{connection_file}"],
        "display_name": "racy", "language": "python", "env": {"RACY_STATE": str(state)}}))
    work = tmp_path / "work"
    work.mkdir()
    for name in ("race-once", "race-always", "dies-at-start"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]),
                       work / f"{name}.ipynb")
    out, results = run(work, ".", "--kernel", "racy", "-j", "3", env={"JUPYTER_PATH": str(tmp_path / "jupyter")})

    starts = {p.stem: len(p.read_text().splitlines()) for p in state.glob("*.starts")}
    assert starts == {"race-once": 2, "race-always": 3, "dies-at-start": 1}
    once = results["race-once.ipynb"]
    assert once["passed"], once["message"]
    assert len(once["kernel_start_retries"]) == 1 and "Address already in use" in once["kernel_start_retries"][0]
    assert "kernel start retried after: kernel failed to start" in out.stdout
    always = results["race-always.ipynb"]
    assert always["reason"] == "kernel-died" and "on each of 3 starts" in always["message"]
    assert len(always["kernel_start_retries"]) == 2
    dies = results["dies-at-start.ipynb"]  # a real death is reported as before, without a retry
    assert dies["reason"] == "kernel-died" and dies["kernel_start_retries"] == []
    assert out.returncode == 1

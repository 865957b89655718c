"""``slice``: tricky notebooks run as tracked runs in a real kernel (re-runs, out-of-order, edits), then sliced.

Each notebook under ``tests/data/notebooks/slicing`` carries its test in its metadata (``make_notebooks.py``):
the order the kernel runs its cells (a cell edited and re-run included), the metric, its value and the execution
counts the slice must keep. Every slice is then executed in a fresh kernel (``--verify``) and must give the value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from kernel_session import KernelSession

from jupyter_mlops.app.slicing import slice_run
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.store import open_store

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

DATA = Path(__file__).parents[1] / "data" / "notebooks" / "slicing"
NOTEBOOKS = sorted(path.stem for path in DATA.glob("*.ipynb"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return {"root": tmp_path, "url": f"sqlite:///{tmp_path / 'mlops.db'}"}


def _record(project: dict, name: str) -> tuple[str, dict]:
    """Run the notebook's cells in its recorded order in a real kernel; return the run id and the test's spec."""
    nb = nbformat.read(DATA / f"{name}.ipynb", as_version=4)
    spec = nb.metadata["slice_test"]
    path = project["root"] / f"{name}.ipynb"
    nbformat.write(nb, path)
    kernel = KernelSession(path, project["url"])
    try:
        for step in spec["order"]:
            index, source = (step, nb.cells[step].source) if isinstance(step, int) else step
            reply = kernel.run(source, nb.cells[index].id)
            assert reply["status"] == "ok", reply
    finally:
        kernel.shutdown()
    (run,) = open_store(project["url"]).search_runs().items
    return run.id, spec


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_slice_keeps_exactly_the_producing_cells_and_verifies(project: dict, name: str) -> None:
    run_id, spec = _record(project, name)
    with Workspace.from_url(project["url"]) as workspace:
        result = slice_run(workspace, run_id, spec["metric"], verify=True)
    counts = [result.cells[p].execution_count for p in result.piece.cells]
    assert counts == spec["expected"], result.script
    assert result.recorded == spec["value"]
    assert result.verification is not None
    assert result.verification.outcome == "reproduced", (result.verification.reason, result.script)
    assert result.exit_code == 0
    assert result.piece.unsure == []


def test_cli_writes_a_script_a_notebook_and_a_package_and_exits_by_the_verdict(project: dict) -> None:
    run_id, spec = _record(project, "function--global")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jupyter_mlops", "slice", "--store", project["url"], *args],
                              cwd=project["root"], env=env, capture_output=True, text=True, timeout=600)

    done = cli(run_id[:8], "p", "--to", "script", "p.py", "--verify", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["verification"]["outcome"] == "reproduced"
    assert [cell["execution_count"] for cell in report["cells"]] == spec["expected"]
    script = (project["root"] / "p.py").read_text()
    assert "mlops.log_metrics({'p': p})" in script and "other = 7" not in script and "%track" not in script
    assert cli(run_id[:8], "p", "--to", "notebook", "p.ipynb").returncode == 0
    saved = nbformat.read(project["root"] / "p.ipynb", as_version=4)
    code = [cell for cell in saved.cells if cell.cell_type == "code"]
    assert code[0].metadata["tags"] == ["parameters"] and code[0].source == "scale = 2"
    assert cli(run_id[:8], "p", "--to", "package", "p_pipeline").returncode == 0
    assert (project["root"] / "p_pipeline" / "pipeline.py").is_file()
    # the package logs the same value, into the project's store
    ran = subprocess.run([sys.executable, "-m", "p_pipeline"], cwd=project["root"], capture_output=True, text=True,
                         env={**env, "JUPYTER_MLOPS_STORE": project["url"]}, timeout=300)
    assert ran.returncode == 0, ran.stderr
    newest = open_store(project["url"]).search_runs(order_by=["start_time DESC"], limit=1).items[0]
    assert newest.id != run_id and newest.metrics == {"p": spec["value"]}
    # the output exists: refused without --force (a Conflict, as convert refuses), nothing changed
    again = cli(run_id[:8], "p", "--to", "script", "p.py")
    assert again.returncode == 1 and "already exists" in again.stderr
    # a metric no cell logged is bad input
    unknown = cli(run_id[:8], "nope")
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_verify_exits_1_when_the_slice_gives_another_value(project: dict) -> None:
    run_id, _ = _record(project, "file--written-read")
    (project["root"] / "numbers.txt").write_text("0")  # the slice rewrites it: still the recorded value
    with Workspace.from_url(project["url"]) as workspace:
        assert slice_run(workspace, run_id, "s", verify=True).verification.outcome == "reproduced"
        # the recorded value changed (a later point): the slice now differs
        store = workspace.store
        store.log_metric(run_id, "s", 13.0, step=5)
        result = slice_run(workspace, run_id, "s", verify=True)
    assert result.verification is not None and result.verification.outcome == "diverged"
    assert result.exit_code == 1


def _output(kernel: KernelSession, source: str) -> tuple[str, dict]:
    """Run one cell; its stdout, stderr and error text, and the execute_reply."""
    content = {"code": source, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": False}
    msg = kernel.client.session.msg("execute_request", content)
    kernel.client.shell_channel.send(msg)
    text: list[str] = []
    while True:
        message = kernel.client.get_iopub_msg(timeout=120)
        if message["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind, body = message["msg_type"], message["content"]
        if kind == "stream":
            text.append(body["text"])
        elif kind == "error":
            text.append(f"{body['ename']}: {body['evalue']}")
        elif kind == "status" and body["execution_state"] == "idle":
            break
    while True:
        reply = kernel.client.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            return "".join(text), reply["content"]


def test_track_slice_slices_the_live_sessions_cells_and_verifies_against_the_active_run(project: dict) -> None:
    path = project["root"] / "live.ipynb"
    kernel = KernelSession(path, project["url"])
    try:
        for source in ["%load_ext jupyter_mlops", "scale = 3", "%track start live", "base = 1", "noise = 5",
                       "base = 2", "total = base * scale\n%track metric total=total"]:
            assert _output(kernel, source)[1]["status"] == "ok"
        text, reply = _output(kernel, "%track slice total --verify")
        assert reply["status"] == "ok", text
        assert "Slice for metric 'total': 4 of 7 executed cells" in text
        assert [line.split()[0] for line in text.splitlines() if line.startswith("  In[")] == [
            "In[2]", "In[3]", "In[6]", "In[7]"]
        assert "Verified: total = 6.0" in text
        # a variable of the live session, written as a notebook
        text, reply = _output(kernel, "%track slice base --to notebook base.ipynb")
        assert reply["status"] == "ok" and "Wrote base.ipynb" in text, text
        code = [c.source for c in nbformat.read(project["root"] / "base.ipynb", as_version=4).cells
                if c.cell_type == "code"]
        assert code == ["scale = 3", "base = 2"]
        # misuse: one line, no traceback
        text, reply = _output(kernel, "%track slice nope --verify")
        assert reply["status"] == "error" and text.strip().startswith("UsageError: ") and "\n" not in text.strip()
    finally:
        kernel.shutdown()

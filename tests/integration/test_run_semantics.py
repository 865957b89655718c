"""What a notebook run records, in real kernels: its own code, an honest end status, restarts on the right run.

Each case is a user's session replayed through jupyter_client (cell ids and restart requests as JupyterLab sends
them), papermill, or a plain ``python`` process, against its own SQLite store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kernel_session import KernelSession, notebook, save

from jupyter_mlops.app.compare import compare_runs
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

NO_FLAGS = {"out_of_order": False, "edited_after_run": False, "kernel_restarted": False, "cells_rerun": False}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    return {"root": tmp_path, "url": url, "blobs": BlobStore(tmp_path / "blobs")}


def _runs(project: dict) -> list:
    return list(open_store(project["url"]).search_runs(order_by=["start_time ASC"]).items)


def _code(project: dict, run) -> dict:
    return project["blobs"].get_json(run.code_hash)


# -- 1. a run's executed code is that run's code ----------------------------------------------------------------
RUN_ALL = [
    "%load_ext jupyter_mlops\nimport math",
    "C = 1.0",
    "%track start",
    "score = math.sqrt(C)\n%track metric score=score",
    "%track stop",
    "%track compare --last 2",
]


def test_two_run_alls_in_one_kernel_compare_as_the_one_changed_parameter(project: dict) -> None:
    path = project["root"] / "train.ipynb"
    nb = notebook(path, RUN_ALL)
    kernel = KernelSession(path, project["url"])
    try:
        kernel.run_cells(nb.cells)
        nb.cells[1].source = "C = 10.0"
        save(nb, path, {})
        replies = kernel.run_cells(nb.cells)
    finally:
        kernel.shutdown()
    assert replies[-1]["status"] == "ok", replies[-1]
    first, second = _runs(project)
    assert (first.metrics, second.metrics) == ({"score": 1.0}, {"score": 10.0 ** 0.5})
    assert (first.params, second.params) == ({"C": 1.0}, {"C": 10.0})
    # the second run holds neither the first run's cells nor its `%track stop`/`%track compare`
    sources = [(c["source"], c.get("context", False)) for c in _code(project, second)["cells"]]
    assert sources == [("%load_ext jupyter_mlops\nimport math", True), ("C = 10.0", True),
                       ("%track start", False), (RUN_ALL[3], False)]
    comparison = compare_runs(open_store(project["url"]), project["blobs"], [first.id, second.id])
    (diff,) = comparison.code
    assert [(c["change"], c["a_source"], c["b_source"]) for c in diff.cells] == [("changed", "C = 1.0", "C = 10.0")]
    assert first.flags == NO_FLAGS and second.flags == NO_FLAGS  # a top-to-bottom Run All is in order


def test_flags_name_the_cells_that_raised_them(project: dict) -> None:
    # As in JupyterLab: cells carry ids; the user runs cell 4 before cell 3, then cell 4 again, then edits cell 3.
    path = project["root"] / "order.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops", "%track start", "a = 1", "b = 2", "%track stop"])
    kernel = KernelSession(path, project["url"])
    try:
        for index in (0, 1, 3, 2, 3):
            kernel.run(nb.cells[index].source, nb.cells[index].id)
        nb.cells[2].source = "a = 2"
        save(nb, path, {})
        kernel.run(nb.cells[4].source, nb.cells[4].id)
    finally:
        kernel.shutdown()
    (run,) = _runs(project)
    assert run.flags == {**NO_FLAGS, "out_of_order": True, "edited_after_run": True, "cells_rerun": True}
    # 1-based cells of the saved notebook; `out_of_order` lists them in the order they ran
    assert run.flag_cells == {"out_of_order": [2, 4, 3, 4], "edited_after_run": [3], "cells_rerun": [4]}


# -- 2. failures read as failures --------------------------------------------------------------------------------
def test_papermill_notebook_raising_after_start_is_failed_with_its_error(project: dict, monkeypatch) -> None:
    import papermill

    path = project["root"] / "fails.ipynb"
    notebook(path, ["%load_ext jupyter_mlops\n%track start", "x = 1", "raise ValueError('bad batch 7')", "y = 2"])
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", project["url"])
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(path), str(project["root"] / "out.ipynb"), cwd=str(project["root"]),
                                   kernel_name="python3", progress_bar=False)
    (run,) = _runs(project)
    assert run.status.value == "failed"
    code = _code(project, run)
    assert code["error"] == {"ename": "ValueError", "evalue": "bad batch 7"}
    assert code["cells"][-1]["error"] == {"ename": "ValueError", "evalue": "bad batch 7"}
    assert [r.id for r in open_store(project["url"]).search_runs("status = finished").items] == []


def test_nb_smoke_notebook_raising_after_start_is_failed(project: dict) -> None:
    notebook(project["root"] / "smoke.ipynb", ["%load_ext jupyter_mlops\n%track start", "raise KeyError('label')"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = project["url"]
    done = subprocess.run([sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()", "smoke.ipynb",
                           "--plain"], cwd=project["root"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    (run,) = _runs(project)
    assert run.status.value == "failed" and _code(project, run)["error"] == {"ename": "KeyError", "evalue": "'label'"}


def test_error_by_hand_then_kernel_shutdown_is_failed(project: dict) -> None:
    path = project["root"] / "by_hand.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops\n%track start", "x = 1", "1 / 0"])
    kernel = KernelSession(path, project["url"])
    replies = kernel.run_cells(nb.cells)
    kernel.shutdown()
    assert replies[-1]["ename"] == "ZeroDivisionError"
    (run,) = _runs(project)
    assert run.status.value == "failed"
    assert _code(project, run)["error"] == {"ename": "ZeroDivisionError", "evalue": "division by zero"}
    from jupyter_mlops import get_run

    assert get_run(run.id, store=project["url"]).error == {"ename": "ZeroDivisionError", "evalue": "division by zero"}


def test_error_then_a_good_cell_then_shutdown_is_finished(project: dict) -> None:
    # only the last executed cell decides: the user fixed the mistake and went on
    path = project["root"] / "fixed.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops\n%track start", "1 / 0", "x = 1"])
    kernel = KernelSession(path, project["url"])
    kernel.run_cells(nb.cells)
    kernel.shutdown()
    (run,) = _runs(project)
    assert run.status.value == "finished" and "error" not in _code(project, run)


def test_interrupted_cell_then_shutdown_is_crashed(project: dict) -> None:
    path = project["root"] / "interrupted.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops\n%track start", "import time\nfor _ in range(600): time.sleep(0.1)"])
    kernel = KernelSession(path, project["url"])
    kernel.run(nb.cells[0].source, nb.cells[0].id)
    msg_id = kernel.client.execute(nb.cells[1].source)
    while not _is(kernel.client.get_iopub_msg(timeout=60), "execute_input", msg_id):
        pass
    time.sleep(0.5)  # inside the loop, not in the kernel's own code between messages
    kernel.manager.interrupt_kernel()
    while (reply := kernel.client.get_shell_msg(timeout=60))["parent_header"].get("msg_id") != msg_id:
        pass
    kernel.shutdown()
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    (run,) = _runs(project)
    assert run.status.value == "crashed"


def _is(message: dict, kind: str, parent: str) -> bool:
    return message["msg_type"] == kind and message["parent_header"].get("msg_id") == parent


PACKAGE_MAIN = textwrap.dedent(
    """
    import jupyter_mlops as mlops

    mlops.start_run("converted")
    mlops.log_param("lr", 0.1)
    raise RuntimeError("no data for 2024-02-30")
    mlops.end_run()
    """
)


def test_script_module_that_raises_without_end_run_is_failed(project: dict) -> None:
    # a hand-written package: start_run at the top, end_run at the bottom, an uncaught exception in between
    package = project["root"] / "train_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(PACKAGE_MAIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env.update({"JUPYTER_MLOPS_STORE": project["url"], "PYTHONPATH": os.pathsep.join(
        [str(project["root"]), os.environ.get("PYTHONPATH", "")])})
    done = subprocess.run([sys.executable, "-m", "train_pkg"], cwd=project["root"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "no data for 2024-02-30" in done.stderr
    (run,) = _runs(project)
    assert run.status.value == "failed" and run.params == {"lr": 0.1}


def test_package_converted_from_a_raising_notebook_is_failed(project: dict) -> None:
    from jupyter_mlops.notebooks.convert import convert_notebook

    path = project["root"] / "train.ipynb"
    notebook(path, ["%track start converted", "lr = 0.1", "raise RuntimeError(f'diverged at lr={lr}')",
                    "%track stop"])
    convert_notebook(path, output=project["root"] / "converted")
    (main,) = (project["root"] / "converted").rglob("__main__.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env.update({"JUPYTER_MLOPS_STORE": project["url"], "PYTHONPATH": os.pathsep.join(
        [str(main.parent.parent), os.environ.get("PYTHONPATH", "")])})
    done = subprocess.run([sys.executable, "-m", main.parent.name], cwd=project["root"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "diverged at lr=0.1" in done.stderr, done.stderr[-2000:]
    (run,) = _runs(project)
    assert run.name == "converted" and run.status.value == "failed"


def test_script_that_exits_cleanly_without_end_run_is_finished(project: dict) -> None:
    script = project["root"] / "ok.py"
    script.write_text("import jupyter_mlops as mlops\nmlops.start_run('ok')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = project["url"]
    subprocess.run([sys.executable, str(script)], cwd=project["root"], env=env, check=True, timeout=120)
    (run,) = _runs(project)
    assert run.status.value == "finished"


# -- 3. kernel_restarted lands on the run the restart cut short ---------------------------------------------------
SESSION = ["%load_ext jupyter_mlops\n%track start", "a = 1", "b = a + 1", "print(b)", "%track stop"]


@pytest.mark.parametrize("saved", ["before_restart", "after_run_all"])
def test_restart_marks_the_open_run_crashed_and_restarted_not_the_next_one(project: dict, saved: str) -> None:
    path = project["root"] / "restart.ipynb"
    nb = notebook(path, SESSION)
    kernel = KernelSession(path, project["url"])
    try:
        for n in range(5):  # scratch work first, so the first session's counts run higher than the second's
            kernel.run(f"scratch_{n} = {n}")
        kernel.run_cells(nb.cells[:4])  # start the run and run 4 cells
        if saved == "before_restart":
            save(nb, path, {f"c{i}": 6 + i for i in range(4)})
        kernel.restart()
        kernel.run_cells(nb.cells)  # Run All in the fresh kernel
        if saved == "after_run_all":
            save(nb, path, {f"c{i}": 1 + i for i in range(5)})
    finally:
        kernel.shutdown()
    interrupted, clean = _runs(project)
    assert interrupted.status.value == "crashed"
    assert interrupted.flags == {**NO_FLAGS, "kernel_restarted": True}
    assert [c["source"] for c in _code(project, interrupted)["cells"]] == SESSION[:4]
    assert clean.status.value == "finished" and clean.flags == NO_FLAGS
    assert [r.id for r in open_store(project["url"]).search_runs("status = crashed").items] == [interrupted.id]


# -- runs started with the Python API in a notebook record their cells too ---------------------------------------
API_CELLS = [
    "import jupyter_mlops as mlops\nx = 3",
    "with mlops.start_run('in-one-cell'):\n    mlops.log_metric('a', x)",
    "y = x + 1",
    "quiet = mlops.start_run('no-capture', auto_capture=False)\nmlops.log_metric('b', y)",
    "mlops.end_run()",
    "active = mlops.start_run('over-cells')",
    "mlops.log_metric('c', y * 2)",
    "mlops.end_run()",
]


@pytest.mark.parametrize("loaded", [False, True], ids=["without-load-ext", "after-load-ext"])
def test_runs_started_by_the_api_in_a_kernel_record_the_cells_they_ran(project: dict, loaded: bool) -> None:
    path = project["root"] / "api.ipynb"
    nb = notebook(path, (["%load_ext jupyter_mlops"] if loaded else []) + API_CELLS)
    kernel = KernelSession(path, project["url"])
    try:
        replies = kernel.run_cells(nb.cells)
    finally:
        kernel.shutdown()
    assert all(reply["status"] == "ok" for reply in replies), replies
    one_cell, quiet, over_cells = _runs(project)
    first = 2 if loaded else 1

    def cells(run) -> list[tuple[int, str, bool, list[str]]]:
        return [(c["execution_count"], c["source"], c.get("context", False), c.get("metrics", []))
                for c in _code(project, run)["cells"]]

    # the `with` block's cell is the run's code although the run ended inside it, with the metric it logged
    assert cells(one_cell) == [(first, API_CELLS[0], True, []), (first + 1, API_CELLS[1], False, ["a"])]
    assert quiet.code_hash is None  # auto_capture=False captures nothing, as documented
    assert cells(over_cells)[-3:] == [(first + 5, API_CELLS[5], False, []), (first + 6, API_CELLS[6], False, ["c"]),
                                      (first + 7, API_CELLS[7], False, [])]
    assert (first + 2, API_CELLS[2], True, []) in cells(over_cells)  # y's cell: context of the run's cells


def test_a_kernel_that_hangs_after_a_shutdown_request_still_ends_its_run(project: dict) -> None:
    # ipykernel sometimes hangs cleaning up after the request; jupyter_client then kills it and no exit handler runs.
    # An exit handler that sleeps stands in for that hang (handlers run last-registered first: it runs before ours).
    path = project["root"] / "hangs.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops\n%track start", "x = 1",
                         "import atexit, time\natexit.register(time.sleep, 120)"])
    kernel = KernelSession(path, project["url"])
    kernel.manager.shutdown_wait_time = 2.0
    replies = kernel.run_cells(nb.cells)
    kernel.shutdown()
    assert all(reply["status"] == "ok" for reply in replies), replies
    (run,) = _runs(project)
    assert run.status.value == "finished"
    assert [c["source"] for c in _code(project, run)["cells"]][-1] == nb.cells[2].source

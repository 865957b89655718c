"""The notebook session without IPython: cells handed over as plain values, recorded through ActiveRun only."""

from __future__ import annotations

import ast
import logging
import threading

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.tracking import context, notebook_session, snapshots
from jupyter_mlops.tracking.notebook_session import NotebookSession, parse_cell


def attached(name: str) -> tuple[NotebookSession, mlops.ActiveRun]:
    run = mlops.start_run(name, user_ns={})  # as in a kernel: the code snapshot is the session's, not a script's
    session = NotebookSession(lambda: run if not run.ended else None)
    session.attach(run)
    return session, run


def finish(session: NotebookSession, source: str, count: int, error: dict | None = None) -> None:
    session.cell_finished(source, count, None, error, parse_cell(source))


def test_cells_become_params_data_and_the_code_snapshot(project):
    (project / "train.csv").write_text("a,b\n1,2\n")
    session, run = attached("plain")
    finish(session, "lr = 0.1\nepochs = 3\n", 1)
    finish(session, "import pandas as pd\nframe = pd.read_csv('train.csv')\n", 2)
    assert session.run_cells == 2
    run.end()
    context.drain()
    view = mlops.get_run(run.id)
    assert view.params == {"lr": 0.1, "epochs": 3}
    assert [d.name for d in view.data_inputs] == ["train.csv"]
    assert [c["source"] for c in view.code["cells"]] == ["lr = 0.1\nepochs = 3\n",
                                                        "import pandas as pd\nframe = pd.read_csv('train.csv')\n"]


def test_history_before_the_run_gives_its_parameters_and_context(project):
    session = NotebookSession(lambda: None)
    # The kernel stores the loading cell in its history before it finishes: it is logged once, not twice.
    session.backfill(["alpha = 0.5\n", "base = alpha * 2\n", "%load_ext jupyter_mlops\n"], parse_cell)
    finish(session, "%load_ext jupyter_mlops\n", 3)
    assert len(session.log) == 3
    run = mlops.start_run("history", user_ns={})
    session.active_run = lambda: run if not run.ended else None
    session.attach(run)
    finish(session, "result = base + 1\n", 4)
    run.end()
    view = mlops.get_run(run.id)
    assert view.params == {"alpha": 0.5}
    cells = view.code["cells"]
    assert [(c["source"], c.get("context", False)) for c in cells] == [
        ("alpha = 0.5\n", True), ("base = alpha * 2\n", True), ("result = base + 1\n", False)]


@pytest.mark.parametrize(("error", "restart", "status"), [
    ({"ename": "ValueError", "evalue": "bad"}, False, "failed"),
    ({"ename": "KeyboardInterrupt", "evalue": ""}, False, "crashed"),
    (None, True, "crashed"),
    (None, False, "finished"),
])
def test_the_kernels_end_decides_the_status(project, error, restart, status):
    session, run = attached("end")
    finish(session, "x = 1\n", 1, error)
    if restart:
        session.restart_requested()
    session.end_at_exit()
    view = mlops.get_run(run.id)
    assert view.status == status
    assert view.code.get("error") == (error if status == "failed" else None)


def test_a_counter_going_back_flags_a_restart(project):
    session, run = attached("counter")
    finish(session, "a = 1\n", 5)
    finish(session, "b = 2\n", 1)
    run.end()
    assert mlops.get_run(run.id).flags["kernel_restarted"] is True


def test_a_failure_inside_the_session_becomes_one_warning(project, caplog, monkeypatch):
    session, run = attached("fragile")
    monkeypatch.setattr(session, "_params", lambda *a: (_ for _ in ()).throw(RuntimeError("exploded")))
    with caplog.at_level(logging.WARNING):
        finish(session, "a = 1\n", 1)
        finish(session, "b = 2\n", 2)
    run.end()
    assert caplog.text.count("exploded") == 1
    assert len(mlops.get_run(run.id).code["cells"]) == 2  # the cells are still logged


def test_data_hashed_after_the_run_ended_is_refused_not_written(project, caplog, monkeypatch):
    (project / "slow.csv").write_text("a\n1\n")
    release = threading.Event()
    describe = snapshots.describe_path

    def slow_describe(*args, **kwargs):
        release.wait(10)
        return describe(*args, **kwargs)

    monkeypatch.setattr(snapshots, "describe_path", slow_describe)
    monkeypatch.setattr(NotebookSession._wait_for_data, "__defaults__", (0.05,))  # the end waits 30 s in a kernel
    session, run = attached("late")
    with caplog.at_level(logging.WARNING):
        finish(session, "text = open('slow.csv').read()\n", 1)
        run.end()  # gives up waiting for the hash
        release.set()
        assert context.drain()
    assert mlops.get_run(run.id).data_inputs == ()
    assert "not recorded" in caplog.text


def test_parse_cell_is_none_for_ipython_syntax():
    assert isinstance(parse_cell("x = 1"), ast.Module)
    assert parse_cell("%timeit x") is None and parse_cell("!ls") is None
    assert notebook_session.__name__ == "jupyter_mlops.tracking.notebook_session"


def test_each_cell_records_the_metric_keys_it_logged(project):
    session, run = attached("which-cell")
    finish(session, "x = 1\n", 1)
    run.log_metric("loss", 0.5)
    run.log_metrics({"auc": 0.9, "f1": 0.8})
    finish(session, "log the three\n", 2)
    finish(session, "y = 2\n", 3)
    run.end()
    cells = mlops.get_run(run.id).code["cells"]
    assert [c.get("metrics") for c in cells] == [None, ["auc", "f1", "loss"], None]

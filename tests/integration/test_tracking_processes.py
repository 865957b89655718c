"""Tracking across real processes: concurrent writers, a SIGKILLed run, and a papermill-executed notebook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.store import open_store

PROJECT = "[tool.jupyter-mlops]\nheartbeat_interval = 0.2\nflush_interval = 0.1\nstale_after = 1.5\n"


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = f"sqlite:///{tmp_path / 'mlops.db'}"
    return tmp_path, env


WRITER = textwrap.dedent(
    """
    import sys, jupyter_mlops as mlops
    with mlops.start_run(f"proc{sys.argv[1]}") as run:
        for step in range(20_000):
            run.log_metric("loss", step * 0.5)
    """
)


@pytest.mark.slow
def test_eight_processes_write_every_point(tmp_path):
    root, env = _project(tmp_path)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(i)], cwd=root, env=env, stderr=subprocess.PIPE, text=True)
        for i in range(8)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert not any("locked" in e for e in errors), errors
    store = open_store(env["JUPYTER_MLOPS_STORE"])
    runs = store.search_runs().items
    assert len(runs) == 8 and {r.status.value for r in runs} == {"finished"}
    for run in runs:
        history = store.metric_history(run.id, "loss")
        assert [m.step for m in history] == list(range(20_000))
        assert run.metrics["loss"] == 19_999 * 0.5


VICTIM = textwrap.dedent(
    """
    import sys, time, jupyter_mlops as mlops
    run = mlops.start_run("victim")
    print(run.id, flush=True)
    step = 0
    while True:
        run.log_metric("x", float(step), step=step)
        print(step, flush=True)
        step += 1
        time.sleep(0.01)
    """
)


@pytest.mark.slow
def test_sigkilled_run_reads_crashed_and_keeps_what_was_flushed(tmp_path):
    root, env = _project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", VICTIM], cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    logged_before = -1
    started = None
    for line in proc.stdout:
        step = int(line)
        if started is None:
            started = time.monotonic()
        if time.monotonic() - started >= 1.0 and logged_before < 0:
            logged_before = step  # everything up to here was logged >= 1 s before the kill below
            marker = time.monotonic()
        if logged_before >= 0 and time.monotonic() - marker >= 1.05:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = open_store(env["JUPYTER_MLOPS_STORE"], stale_after=1.5)
    steps = {m.step for m in store.metric_history(run_id, "x")}
    assert set(range(logged_before + 1)) <= steps
    deadline = time.monotonic() + 30
    while store.get_run(run_id).status.value != "crashed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.get_run(run_id).status.value == "crashed"


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%track start papermill-run --tag nb"),
        nbformat.v4.new_code_cell("lr = 0.1\nepochs = 2\ndata_path = 'data.csv'"),
        nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('data.csv')\nrows = len(df)"),
        nbformat.v4.new_code_cell("%track metric rows=rows"),
    ]
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.requires_kernel
@pytest.mark.slow
def test_papermill_notebook_records_params_data_code_and_ends_finished(tmp_path, monkeypatch):
    import papermill

    root, env = _project(tmp_path)
    (root / "data.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    _notebook(root / "train.ipynb")
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", env["JUPYTER_MLOPS_STORE"])
    monkeypatch.setenv("JUPYTER_MLOPS_CONTEXT", json.dumps({"notebook_path": str(root / "train.ipynb")}))
    papermill.execute_notebook(
        str(root / "train.ipynb"), str(root / "out.ipynb"), parameters={"lr": 0.5}, cwd=str(root),
        kernel_name="python3", progress_bar=False,
    )
    store = open_store(env["JUPYTER_MLOPS_STORE"])
    (run,) = store.search_runs().items
    assert run.status.value == "finished"  # no %track stop: the kernel's shutdown ended it
    assert run.params == {"lr": 0.5, "epochs": 2, "data_path": "data.csv"}
    # the runner handed over the notebook path, so the tagged cell is found; papermill's values then override
    assert [(p.value, p.source) for p in store.param_history(run.id, "lr")] == [
        (0.1, "parameters:tagged"), (0.5, "parameters:injected")]
    assert run.metrics == {"rows": 3.0}
    (data,) = run.data_inputs
    assert data.name == "data.csv" and data.size == len("a,b\n1,2\n3,4\n5,6\n") and data.schema["rows"] == 3
    assert run.notebook_path == str(root / "train.ipynb") and run.notebook_hash
    from jupyter_mlops.store.blobs import BlobStore

    code = BlobStore(root / "blobs").get_json(run.code_hash)
    sources = [c["source"] for c in code["cells"]]
    assert sources[1] == "lr = 0.1\nepochs = 2\ndata_path = 'data.csv'" and sources[2].startswith("# Parameters")
    assert run.flags == {"out_of_order": False, "edited_after_run": False, "kernel_restarted": False,
                         "cells_rerun": False}
    assert run.env_hash and run.git_commit is None


SLICED_VICTIM = textwrap.dedent(
    """
    import time, jupyter_mlops as mlops
    run = mlops.start_run("sliced-victim")
    run.log_metric("auc", 0.9)
    for region in ("EU", "US"):
        run.log_metric("auc", 0.8, slice={"region": region})
    run.flush()
    print(run.id, flush=True)
    while True:
        time.sleep(0.05)
    """
)


@pytest.mark.slow
def test_a_sigkilled_run_keeps_its_flushed_slices(tmp_path):
    # ADR-070: sliced points go through the same writer; a killed process loses none that were flushed.
    root, env = _project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", SLICED_VICTIM], cwd=root, env=env, stdout=subprocess.PIPE,
                            text=True)
    run_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = open_store(env["JUPYTER_MLOPS_STORE"], stale_after=1.5)
    run = store.get_run(run_id)
    assert run.metrics == {"auc": 0.9} and run.slices == {"auc": {"region=EU": 0.8, "region=US": 0.8}}
    assert len(store.slice_history(run_id, "auc")) == 2

"""Tracking in real processes when writing fails: a full disk (RLIMIT_FSIZE) and a non-UTF-8 file name in argv.

A subprocess timeout is the hang detector here; nothing asserts speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_mlops.store import open_store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and bytes argv are POSIX")

PROJECT = "[tool.jupyter-mlops]\nheartbeat_interval = 0.2\nflush_interval = 0.05\n"

# The file-size limit makes every write past it fail with EFBIG, as a full disk fails with ENOSPC: SQLite reports
# "database or disk is full" (or an I/O error) and the store refuses writes until the limit is lifted again.
FULL_DISK = textwrap.dedent(
    """
    import os, resource, signal, sys, jupyter_mlops as mlops
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead of killing the process
    db = sys.argv[1]
    run = mlops.start_run("disk", auto_capture=False)
    for step in range(1000):
        run.log_metric("before", float(step))
    run.flush()
    largest = max(os.path.getsize(db + suffix) for suffix in ("", "-wal") if os.path.exists(db + suffix))
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 65536, resource.RLIM_INFINITY))
    for step in range(400_000):
        run.log_metric("during", float(step))
    print("logged", run.logging_errors > 0, flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # space returns
    run.flush()
    for step in range(100):
        run.log_metric("after", float(step))
    run.end()
    print(run.id)
    """
)


def _project(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = f"sqlite:///{tmp_path / 'mlops.db'}"
    return env


def test_a_full_disk_neither_hangs_the_program_nor_loses_the_run(tmp_path):
    env = _project(tmp_path)
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path / "mlops.db")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[:2] == ["logged", "True"]
    assert "database or disk is full" in done.stderr or "disk I/O error" in done.stderr
    assert "dropped" in done.stderr  # the visible warning that points are being shed
    store = open_store(env["JUPYTER_MLOPS_STORE"])
    run = store.get_run(lines[2])
    assert run.status.value == "finished"
    assert [m.step for m in store.metric_history(run.id, "before")] == list(range(1000))
    assert [m.step for m in store.metric_history(run.id, "after")] == list(range(100))
    during = len(store.metric_history(run.id, "during"))
    assert run.logging_errors > 0
    assert during + run.logging_errors == 400_000  # every point is either stored or counted as lost
    store.close()


ARGPARSE = textwrap.dedent(
    """
    import argparse, jupyter_mlops as mlops
    mlops.autolog_argparse()
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    args = parser.parse_args()
    with mlops.start_run("argv") as run:
        for step in range(1000):
            run.log_metric("loss", float(step))
    print(run.id)
    """
)


def test_a_non_utf8_file_name_in_argv_is_stored_escaped_with_every_point(tmp_path):
    env = _project(tmp_path)
    argv = [os.fsencode(sys.executable), b"-c", ARGPARSE.encode(), b"--data", b"caf\xe9.csv"]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"will retry" not in done.stderr and b"refused" not in done.stderr
    store = open_store(env["JUPYTER_MLOPS_STORE"])
    run = store.get_run(done.stdout.decode().split()[-1])
    assert run.params == {"data": "caf\\xe9.csv"}
    assert len(store.metric_history(run.id, "loss")) == 1000
    assert (run.status.value, run.logging_errors) == ("finished", 0)
    store.close()

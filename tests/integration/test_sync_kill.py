"""A ``sync push`` killed with SIGKILL mid-push: no partial run on the remote, and the next push completes it.

No timing race: the push runs with JUPYTER_MLOPS_SYNC_PAUSE_AFTER=N (batches of one run; the batch after N pauses
inside its remote transaction, its rows written but not committed, and says so on stderr). The test then looks at
the remote from outside, kills the process, and pushes again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jupyter_mlops.store import open_store

ROOT = Path(__file__).resolve().parents[2]
RUNS, POINTS, COMMITTED = 6, 300, 3


def push(local: str, remote: str, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "sync", "push", "--store", local,
                             "--remote", remote], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environ)


def test_sigkill_mid_push_then_resume(tmp_path: Path, remote: str) -> None:
    local = f"sqlite:///{tmp_path / 'laptop.db'}"
    store = open_store(local)
    ids = []
    for i in range(RUNS):
        run = store.create_run(name=f"run-{i}", tags=["t"])
        store.log_metric_rows(run.id, [("loss", 1.0 / (j + 1), j, run.start_time + j) for j in range(POINTS)])
        store.update_run(run.id, status="finished", end_time=run.start_time + POINTS)
        ids.append(run.id)
    store.close()

    first = push(local, remote, JUPYTER_MLOPS_SYNC_PAUSE_AFTER=str(COMMITTED))
    try:
        assert first.stderr is not None
        line = first.stderr.readline()  # blocks until the pause (or the end of a failed process)
        assert "sync paused before commit" in line, line + first.stderr.read()
        there = open_store(remote, create=False)
        try:
            visible = [r.id for r in there.search_runs(order_by=["start_time asc"]).items]
            # Exactly the committed batches; the paused run's rows are written but not visible.
            assert visible == ids[:COMMITTED]
            assert all(len(there.metric_history(i, "loss")) == POINTS for i in visible)
        finally:
            there.close()
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=60) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    time.sleep(0.1)
    second = push(local, remote)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert out.startswith(f"{RUNS - COMMITTED} run(s) pushed"), out

    there = open_store(remote, create=False)
    try:
        assert sorted(r.id for r in there.search_runs().items) == sorted(ids)
        for run_id in ids:
            history = there.metric_history(run_id, "loss")
            assert len(history) == POINTS and len({p.step for p in history}) == POINTS  # no duplicate points
            assert there.get_run(run_id).tags == ("t",)
    finally:
        there.close()
    third = push(local, remote)
    out, _ = third.communicate(timeout=120)
    assert third.returncode == 0 and out.startswith("nothing to push"), out

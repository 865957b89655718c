"""Many processes writing to one store at once: every point lands and nobody sees "database is locked"."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select

from jupyter_mlops.store import schema as s

PROCESSES = 8
POINTS = 20_000

_WRITER = """
import sys, time
from jupyter_mlops.entities import Metric
from jupyter_mlops.store import open_store

url, number, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = open_store(url)
run = store.create_run(name=f"writer-{number}")
now = time.time()
batch = 500
for start in range(0, points, batch):
    steps = range(start, min(points, start + batch))
    store.log_batch(run.id, metrics=[Metric("loss", float(i), i, now) for i in steps])
    store.heartbeat(run.id)
store.end_run(run.id)
store.close()
"""


@pytest.mark.slow
def test_eight_processes_write_every_point(store_url, store):
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, store_url, str(n), str(POINTS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(PROCESSES)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in out + err
    page = store.search_runs("name ~ 'writer-*' and status = finished")
    assert page.total == PROCESSES
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        per_run = dict(conn.execute(select(s.metrics.c.run_id, func.count()).group_by(s.metrics.c.run_id)).all())
        distinct = conn.scalar(select(func.count()).select_from(
            select(s.metrics.c.run_id, s.metrics.c.step).distinct().subquery()))
    assert sorted(per_run.values()) == [POINTS] * PROCESSES
    assert distinct == PROCESSES * POINTS
    for run in page.items:
        assert run.metrics == {"loss": float(POINTS - 1)}

"""Rollups are derived data (ADR-116): sync does not carry them, the receiving store builds them from the points.

SQLite -> SQLite and SQLite -> PostgreSQL: after a push (and a second push of a grown run) the remote's rollups equal
the ones the laptop's write path kept, and a compare on the remote reads the long history through them.
"""

from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy import select

from jupyter_mlops.app.chart_series import chart_series
from jupyter_mlops.app.sync import sync
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_store
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.rollup import BLOCK


def _workspace(tmp_path: Path) -> Workspace:
    settings = load_settings(store_url=f"sqlite:///{tmp_path / 'laptop' / 'mlops.db'}",
                             blobs_url=str(tmp_path / "laptop" / "blobs"), start=tmp_path, environ={})
    return Workspace(settings, create=True)


def _rollups(store) -> tuple[list[tuple], list[tuple]]:
    with store.engine.connect() as conn:
        blocks = [tuple(r) for r in conn.execute(select(s.metric_rollups).order_by(
            s.metric_rollups.c.run_id, s.metric_rollups.c.key, s.metric_rollups.c.block))]
        states = [tuple(r) for r in conn.execute(select(s.metric_rollup_state).order_by(
            s.metric_rollup_state.c.run_id, s.metric_rollup_state.c.key))]
    return blocks, states


def _log(store, run_id: str, steps: range) -> None:
    store.log_metric_rows(run_id, [("loss", math.nan if x % 301 == 0 else math.cos(x / 40), x, 1.0 + x)
                                   for x in steps])


def test_push_builds_the_remotes_rollups_and_its_compare_uses_them(tmp_path: Path, remote: str) -> None:
    with _workspace(tmp_path) as laptop:
        run = laptop.store.create_run(name="long", experiment="e")
        small = laptop.store.create_run(name="short", experiment="e")
        for start in range(0, 12 * BLOCK, 700):
            _log(laptop.store, run.id, range(start, min(start + 700, 12 * BLOCK + 3)))
        _log(laptop.store, small.id, range(20))
        bundle = laptop.store.read_bundles([run.id])[0]
        assert "metric_rollups" not in bundle.rows and "metric_rollup_state" not in bundle.rows
        assert sync(laptop, "push", remote=remote).runs == 2
        here = _rollups(laptop.store)
        assert len(here[0]) == 12 and len(here[1]) == 2
        there_store = open_store(remote, create=False)
        try:
            assert _rollups(there_store) == here
            steps, values, total = there_store.metric_chart_columns([run.id], ["loss"], 8 * BLOCK)[(run.id, "loss")]
            assert total == 12 * BLOCK + 3 and len(steps) <= 13 * 4
            series = chart_series(there_store, [(run.id, "loss")], 32)[(run.id, "loss")]
            assert series.downsampled and series.total == total and series.steps[-1] == 12 * BLOCK + 2
        finally:
            there_store.close()
        _log(laptop.store, run.id, range(12 * BLOCK + 3, 13 * BLOCK + 50))  # grows: the next push replaces it
        assert sync(laptop, "push", remote=remote).runs == 1
        here = _rollups(laptop.store)
    there_store = open_store(remote, create=False)
    try:
        assert _rollups(there_store) == here and len(here[0]) == 13
    finally:
        there_store.close()

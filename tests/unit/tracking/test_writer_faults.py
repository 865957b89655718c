"""BatchWriter under faults: a row the store refuses costs only that row; a store that accepts nothing never hangs
the caller; everything not stored is counted on the run. Real SQLite stores throughout."""

from __future__ import annotations

import logging
import threading

from jupyter_mlops.entities import Param
from jupyter_mlops.errors import StoreUnavailable
from jupyter_mlops.store import open_store
from jupyter_mlops.tracking.writer import BatchWriter


def _store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    return store, store.create_run(name="faults")


def test_one_row_the_store_refuses_costs_only_that_row(store, caplog):
    run = store.create_run(name="faults")  # on SQLite and PostgreSQL: each refuses these rows its own way
    writer = BatchWriter(store, run.id, flush_interval=30)
    for step in range(1000):
        writer.put_metric("loss", float(step), step, 0.0)
    writer.put_metric("loss", 1.0, 2**63, 0.0)  # slipped past the call's checks: SQLite cannot hold it
    writer.put_metric("caf\udce9", 1.0, 0, 0.0)  # a lone surrogate: not UTF-8
    for step in range(1000, 2000):
        writer.put_metric("loss", float(step), step, 0.0)
    writer.close()
    assert [m.step for m in store.metric_history(run.id, "loss")] == list(range(2000))
    assert writer.logging_errors == 2
    assert store.get_run(run.id).logging_errors == 2
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and "\n" not in refused[0].getMessage()


def test_a_refused_param_costs_only_that_param(store):
    run = store.create_run(name="faults")
    writer = BatchWriter(store, run.id, flush_interval=30)
    writer.put_params([Param("a", 1), Param("bad", "caf\udce9"), Param("b", [1, 2])])
    writer.put_metric("x", 1.0, 0, 0.0)
    writer.close()
    stored = store.get_run(run.id)
    assert stored.params == {"a": 1, "b": [1, 2]}
    assert stored.metrics == {"x": 1.0}
    assert stored.logging_errors == 1


class DownStore:
    """A real store that refuses every write while ``down`` is set, as a full disk does."""

    def __init__(self, store) -> None:
        self.store = store
        self.down = threading.Event()

    def log_metric_rows(self, run_id, rows):
        if self.down.is_set():
            raise StoreUnavailable("store x is unavailable: database or disk is full")
        self.store.log_metric_rows(run_id, rows)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_store_that_accepts_nothing_never_hangs_the_caller_and_resumes(tmp_path, caplog):
    store, run = _store(tmp_path)
    down = DownStore(store)
    writer = BatchWriter(down, run.id, flush_interval=0.01, heartbeat_interval=0, max_queue=100, block_seconds=0.1)
    for step in range(50):
        writer.put_metric("x", float(step), step, 0.0)
    assert writer.flush()
    down.down.set()
    done = threading.Event()

    def produce() -> None:
        for step in range(50, 2050):
            writer.put_metric("x", float(step), step, 0.0)
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    # Hang detector only: without the bound the producer waits for room forever.
    assert done.wait(60), "put_metric blocked on a store that accepts no writes"
    assert writer.logging_errors > 0
    down.down.clear()  # space returns: the queued points are written and new ones are taken again
    assert writer.flush()
    for step in range(2050, 2100):
        writer.put_metric("x", float(step), step, 0.0)
    writer.close()
    shed = writer.logging_errors
    steps = [m.step for m in store.metric_history(run.id, "x")]
    assert steps[:50] == list(range(50))  # what was stored before the outage survives
    assert steps[-50:] == list(range(2050, 2100))  # writing resumed
    assert len(steps) + shed == 2100  # every point is either stored or counted
    assert store.get_run(run.id).logging_errors == shed
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("dropped" in m for m in messages) == 1
    assert sum("will retry" in m for m in messages) == 1


def test_points_still_unwritable_at_close_are_counted(tmp_path, monkeypatch):
    from jupyter_mlops.tracking import writer as writer_module

    monkeypatch.setattr(writer_module, "CLOSE_RETRY_SECONDS", 0.2)
    store, run = _store(tmp_path)
    down = DownStore(store)
    down.down.set()
    writer = BatchWriter(down, run.id, flush_interval=30, heartbeat_interval=0)
    for step in range(10):
        writer.put_metric("x", 1.0, step, 0.0)
    writer.close()
    assert writer.logging_errors == 10 and writer.queued == 0
    assert store.get_run(run.id).logging_errors == 10  # the count itself still reaches the run (params path up)


def test_a_deleted_run_drops_its_points_once_counted(tmp_path):
    store, run = _store(tmp_path)
    writer = BatchWriter(store, run.id, flush_interval=30, heartbeat_interval=0)
    store.delete_run(run.id)
    for step in range(100):
        writer.put_metric("x", 1.0, step, 0.0)
    writer.close()
    assert writer.logging_errors == 100

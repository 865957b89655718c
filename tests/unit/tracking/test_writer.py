"""BatchWriter: batching, flushing, heartbeat, backpressure and retries against a real SQLite store."""

from __future__ import annotations

import time

from jupyter_mlops.entities import Param
from jupyter_mlops.store import open_store
from jupyter_mlops.tracking.writer import BatchWriter


def _wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_close_writes_every_point_in_order(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    run = store.create_run(name="w")
    writer = BatchWriter(store, run.id, flush_interval=10)
    for step in range(5000):
        writer.put_metric("loss", 1.0 / (step + 1), step, float(step))
    writer.put_params([Param("lr", 0.1)])
    writer.close()
    writer.close()  # idempotent
    history = store.metric_history(run.id, "loss")
    assert [m.step for m in history] == list(range(5000))
    assert store.get_run(run.id).params == {"lr": 0.1}
    assert store.get_run(run.id).metrics == {"loss": 1.0 / 5000}


def test_points_are_flushed_without_an_explicit_flush(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    run = store.create_run()
    writer = BatchWriter(store, run.id, flush_interval=0.02, heartbeat_interval=0)
    writer.put_metric("auc", 0.5, 0, 1.0)
    assert _wait_until(lambda: len(store.metric_history(run.id, "auc")) == 1)
    writer.close()


def test_flush_returns_after_the_points_are_stored(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    run = store.create_run()
    writer = BatchWriter(store, run.id, flush_interval=30)
    writer.put_metrics([("a", 1.0, 0, 1.0), ("a", 2.0, 1, 2.0)])
    assert writer.flush()
    assert [m.value for m in store.metric_history(run.id, "a")] == [1.0, 2.0]
    writer.close()


def test_heartbeat_advances_on_the_writer_thread(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    run = store.create_run(start_time=time.time() - 100)
    ticks = []
    writer = BatchWriter(store, run.id, heartbeat_interval=0.02, on_tick=lambda: ticks.append(1))
    assert _wait_until(lambda: (store.get_run(run.id).heartbeat or 0) > run.start_time + 50 and ticks)
    writer.close()


def test_full_queue_blocks_the_caller_instead_of_dropping(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    run = store.create_run()
    writer = BatchWriter(store, run.id, flush_interval=30, max_queue=50)
    most = 0
    for step in range(500):
        writer.put_metric("x", float(step), step, 0.0)
        most = max(most, len(writer._points))
    writer.close()
    assert most <= 50
    assert len(store.metric_history(run.id, "x")) == 500


class FlakyStore:
    """A real store whose first metric writes fail, as a database locked beyond its busy timeout would."""

    def __init__(self, store, failures: int) -> None:
        self.store, self.failures = store, failures

    def log_metric_rows(self, run_id, rows):
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("database is locked")
        self.store.log_metric_rows(run_id, rows)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_failed_writes_are_retried_not_lost(tmp_path, caplog):
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    run = store.create_run()
    flaky = FlakyStore(store, failures=3)
    writer = BatchWriter(flaky, run.id, flush_interval=0.01)
    for step in range(100):
        writer.put_metric("x", 1.0, step, 0.0)
    writer.close()
    assert len(store.metric_history(run.id, "x")) == 100
    assert sum("will retry" in r.getMessage() for r in caplog.records) == 1

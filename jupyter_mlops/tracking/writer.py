"""The batching writer: metric points go into a bounded in-memory queue that one daemon thread drains.

Assumptions:
    * The caller's path must stay cheap: ``put_metric`` appends one tuple to a ``deque`` (atomic under the GIL)
      and nothing else; building entities and talking to the database happen on the writer thread.
    * Points are flushed at least every ``flush_interval`` seconds, on :meth:`BatchWriter.flush`, on
      :meth:`BatchWriter.close` and at interpreter exit, so a killed process loses at most the last interval.
    * When the queue is full the caller blocks (briefly, until the thread has drained it) instead of dropping.
    * The same thread sends the heartbeat that keeps a running run from reading as crashed, and runs periodic
      hooks (e.g. refreshing the code snapshot) so nothing of that sits on the caller's path either.
    * A failing write (e.g. a database locked beyond its busy timeout) is retried with back-off; points are only
      given up on at close, after a warning.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from jupyter_mlops.entities import Param
from jupyter_mlops.store.base import Store

__all__ = ["BatchWriter", "MetricRow"]

logger = logging.getLogger(__name__)

#: ``(key, value, step, timestamp)`` — what the caller appends.
MetricRow = tuple[str, float, int, float]

#: Most points written in one ``log_metric_rows`` call (one transaction).
BATCH_SIZE = 20_000
#: Give up retrying a failing batch after this many seconds at close.
CLOSE_RETRY_SECONDS = 30.0

_LIVE: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


class BatchWriter:
    """Queue of metric points and params for one run, drained by a daemon thread.

    Args:
        store: where the points go.
        run_id: the run they belong to.
        flush_interval: the longest a point waits in the queue (seconds).
        heartbeat_interval: seconds between heartbeats (0 disables them).
        max_queue: queued points above which callers wait for the writer thread.
        on_tick: called on the writer thread after each heartbeat (exceptions are logged, never raised).

    Example:
        >>> from jupyter_mlops.store import open_store
        >>> store = open_store("sqlite:///:memory:")
        >>> run = store.create_run(name="demo")
        >>> writer = BatchWriter(store, run.id)
        >>> writer.put_metric("loss", 0.5, 0, 0.0)
        >>> writer.close()
        >>> [m.value for m in store.metric_history(run.id, "loss")]
        [0.5]
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        flush_interval: float = 0.5,
        heartbeat_interval: float = 5.0,
        max_queue: int = 200_000,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.flush_interval = max(0.01, float(flush_interval))
        self.heartbeat_interval = float(heartbeat_interval)
        self.max_queue = max(1, int(max_queue))
        self.on_tick = on_tick
        self._points: deque[MetricRow] = deque()
        self._params: deque[Param] = deque()
        self._wake = threading.Event()
        self._room = threading.Event()
        self._waiters: list[threading.Event] = []
        self._waiters_lock = threading.Lock()
        self._closing = False
        self._pending: list[MetricRow] = []  # a batch that failed to write, retried first
        self._warned = False
        self._thread = threading.Thread(target=self._loop, name=f"jupyter-mlops-writer-{run_id[:8]}", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    # -- caller side ------------------------------------------------------------------------------------
    def put_metric(self, key: str, value: float, step: int, timestamp: float) -> None:
        """Queue one point; returns at once unless the queue is full."""
        self._points.append((key, value, step, timestamp))
        if len(self._points) >= self.max_queue:
            self._wait_for_room()

    def put_metrics(self, rows: Sequence[MetricRow]) -> None:
        """Queue several points."""
        self._points.extend(rows)
        if len(self._points) >= self.max_queue:
            self._wait_for_room()

    def put_params(self, params: Sequence[Param]) -> None:
        """Queue params; they are written with the next flush, after the points queued before them."""
        self._params.extend(params)
        self._wake.set()

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Write everything queued so far; return False if the writer could not finish within ``timeout``."""
        if not self._thread.is_alive():
            self._drain()
            return True
        done = threading.Event()
        with self._waiters_lock:
            self._waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Flush, stop the thread and write whatever it left (idempotent)."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._drain(final=True)
        _LIVE.discard(self)

    @property
    def queued(self) -> int:
        """Points waiting to be written."""
        return len(self._points) + len(self._pending)

    def _wait_for_room(self) -> None:
        # Backpressure: wake the writer and wait until it has taken the queue, instead of dropping points.
        while len(self._points) >= self.max_queue and self._thread.is_alive() and not self._closing:
            self._room.clear()
            self._wake.set()
            self._room.wait(0.05)

    # -- writer thread -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_interval if self.heartbeat_interval > 0 else float("inf")
        while not self._closing:
            self._wake.wait(min(self.flush_interval, max(0.0, next_beat - time.monotonic())))
            self._wake.clear()
            with self._waiters_lock:
                waiters, self._waiters = self._waiters, []
            self._drain()
            for event in waiters:
                event.set()
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.heartbeat_interval
                self._beat()
        with self._waiters_lock:
            waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.set()

    def _beat(self) -> None:
        try:
            self.store.heartbeat(self.run_id)
        except Exception as exc:  # a missed heartbeat must not stop the writer
            self._warn_once(f"heartbeat failed: {exc}")
        if self.on_tick is not None:
            try:
                self.on_tick()
            except Exception as exc:
                self._warn_once(f"periodic capture failed: {exc}")

    def _take(self) -> list[MetricRow]:
        # popleft in a counted loop is safe against concurrent appends (they land after the counted items).
        points = self._points
        n = min(len(points), BATCH_SIZE)
        batch = [points.popleft() for _ in range(n)]
        self._room.set()
        return batch

    def _drain(self, final: bool = False) -> None:
        """Write queued params, then pending and queued points, batch by batch."""
        deadline = time.monotonic() + (CLOSE_RETRY_SECONDS if final else 0.0)
        while True:
            params = [self._params.popleft() for _ in range(len(self._params))]
            if params and not self._write(partial(self.store.log_batch, self.run_id, params=params)):
                self._params.extendleft(reversed(params))
            elif not self._pending:
                self._pending = self._take()
            rows = self._pending
            if rows and self._write(partial(self.store.log_metric_rows, self.run_id, rows)):
                self._pending = []
                continue
            if not rows and not self._params:
                return
            if time.monotonic() >= deadline:
                if final:
                    self._warn_once(f"gave up writing {self.queued} metric points of run {self.run_id[:8]}")
                return
            time.sleep(0.05)

    def _write(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except Exception as exc:  # retried by _drain; the user's code never sees it
            self._warn_once(f"writing to the store failed, will retry: {exc}")
            return False
        return True

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("jupyter_mlops: %s", message)


def _close_all() -> None:
    for writer in list(_LIVE):
        try:
            writer.close()
        except Exception as exc:  # at exit there is nobody left to raise to
            logger.warning("jupyter_mlops: could not flush run %s at exit: %s", writer.run_id[:8], exc)


atexit.register(_close_all)


def live_writers() -> list[Any]:
    """The writers not yet closed (for diagnostics and tests)."""
    return list(_LIVE)

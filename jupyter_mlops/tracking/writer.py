"""The batching writer: metric points go into a bounded in-memory queue that one daemon thread drains.

Assumptions:
    * The caller's path must stay cheap: ``put_metric`` appends one tuple to a ``deque`` (atomic under the GIL)
      and nothing else; building entities and talking to the database happen on the writer thread.
    * Points are flushed at least every ``flush_interval`` seconds, on :meth:`BatchWriter.flush`, on
      :meth:`BatchWriter.close` and at interpreter exit, so a killed process loses at most the last interval.
    * When the queue is full the caller waits for the thread to drain it, but never longer than ``block_seconds``
      (:data:`BLOCK_SECONDS`, 2 s) per episode: a store that accepts nothing (a full disk) must not hang the
      user's program. Past that, new points are shed (dropped and counted, one warning) until a write succeeds
      again; the queue itself (``max_queue`` points in memory) is the bounded journal that survives the outage.
    * The same thread sends the heartbeat that keeps a running run from reading as crashed, and runs periodic
      hooks (e.g. refreshing the code snapshot) so nothing of that sits on the caller's path either.
    * Failures are sorted by cause (ADR-017). The store being unavailable (locked beyond its busy timeout, disk
      full, I/O error) is retried with back-off, and writing resumes when it accepts writes again. A value it
      refuses (:class:`~jupyter_mlops.errors.InvalidInput`) costs only its own row: the batch is split in halves
      until the offending row is found and dropped. Retrying is given up at close after ``CLOSE_RETRY_SECONDS``.
    * Everything not stored (refused rows, shed points, points given up at close) is counted in
      :attr:`BatchWriter.logging_errors` and written to the run's ``logging_errors`` column once the store accepts
      writes, so no face shows the run as complete.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from jupyter_mlops.entities import Param, SliceMetric
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.store.base import Store

__all__ = ["BatchWriter", "MetricRow"]

logger = logging.getLogger(__name__)

#: ``(key, value, step, timestamp)`` — what the caller appends.
MetricRow = tuple[str, float, int, float]

#: Most points written in one ``log_metric_rows`` call (one transaction).
BATCH_SIZE = 20_000
#: Give up retrying a failing batch after this many seconds at close.
CLOSE_RETRY_SECONDS = 30.0
#: The longest a caller waits for room in a full queue before new points are shed (seconds).
BLOCK_SECONDS = 2.0
#: Errors that blame the rows written, not the store: split the batch and drop only the offending row.
_ROW_ERRORS = (InvalidInput, Conflict, ValueError, TypeError, OverflowError)

_LIVE: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


class BatchWriter:
    """Queue of metric points and params for one run, drained by a daemon thread.

    Args:
        store: where the points go.
        run_id: the run they belong to.
        flush_interval: the longest a point waits in the queue (seconds).
        heartbeat_interval: seconds between heartbeats (0 disables them).
        max_queue: queued points above which callers wait for the writer thread.
        block_seconds: the longest a caller waits for room; then new points are shed (counted) until a write
            succeeds again.
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
        block_seconds: float = BLOCK_SECONDS,
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
        self._sliced: deque[SliceMetric] = deque()
        self._wake = threading.Event()
        self._room = threading.Event()
        self._waiters: list[threading.Event] = []
        self._waiters_lock = threading.Lock()
        self._closing = False
        self.block_seconds = max(0.0, float(block_seconds))
        self._pending: list[MetricRow] = []  # rows of a batch that failed to write, retried first
        self._warned: set[str] = set()
        # Each count has one writing thread: shed on the caller's, refused and given up on the writer's.
        self._shed = 0
        self._refused = 0
        self._given_up = 0
        self._shedding = False
        self._recorded = 0  # the logging_errors value last written to the run
        self._last_error = ""
        self._thread = threading.Thread(target=self._loop, name=f"jupyter-mlops-writer-{run_id[:8]}", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    # -- caller side ------------------------------------------------------------------------------------
    def put_metric(self, key: str, value: float, step: int, timestamp: float) -> None:
        """Queue one point; returns at once unless the queue is full, and within ``block_seconds`` even then."""
        self._points.append((key, value, step, timestamp))
        if len(self._points) >= self.max_queue:
            self._make_room()

    def put_metrics(self, rows: Sequence[MetricRow]) -> None:
        """Queue several points (same bound as :meth:`put_metric`)."""
        self._points.extend(rows)
        if len(self._points) >= self.max_queue:
            self._make_room()

    def put_sliced(self, points: Sequence[SliceMetric]) -> None:
        """Queue sliced metric points (ADR-070); written with the next flush, like params."""
        self._sliced.extend(points)
        self._wake.set()

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

    @property
    def logging_errors(self) -> int:
        """Points and params that were not stored: refused by the store, shed while it was full, given up at close."""
        return self._shed + self._refused + self._given_up

    def _make_room(self) -> None:
        # Backpressure first: a slow store makes the caller wait for the writer thread rather than lose points.
        if not self._shedding:
            deadline = time.monotonic() + self.block_seconds
            while len(self._points) >= self.max_queue and self._thread.is_alive() and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._shedding = True  # until the writer thread stores something again
                    break
                self._room.clear()
                self._wake.set()
                self._room.wait(min(0.05, left))
        if not self._shedding:
            return
        # A store that took nothing for block_seconds (a full disk) must not hang the program: drop the newest.
        shed = 0
        while len(self._points) >= self.max_queue:
            self._points.pop()
            shed += 1
        self._shed += shed
        self._warn_once("shed", f"the store accepted no points for {self.block_seconds:g} s ({self._last_error}); "
                        f"new metric points of run {self.run_id[:8]} are dropped until it does, and counted "
                        "in the run's logging_errors")

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
            self._warn_once("heartbeat", f"heartbeat failed: {exc}")
        if self.on_tick is not None:
            try:
                self.on_tick()
            except Exception as exc:
                self._warn_once("tick", f"periodic capture failed: {exc}")

    def _take(self) -> list[MetricRow]:
        # popleft in a counted loop is safe against concurrent appends (they land after the counted items); a
        # shedding caller may pop from the right meanwhile, so the count can run out early.
        points = self._points
        batch: list[MetricRow] = []
        for _ in range(min(len(points), BATCH_SIZE)):
            try:
                batch.append(points.popleft())
            except IndexError:
                break
        self._room.set()
        return batch

    def _drain(self, final: bool = False) -> None:
        """Write queued params, then pending and queued points, batch by batch."""
        deadline = time.monotonic() + (CLOSE_RETRY_SECONDS if final else 0.0)
        while True:
            params = [self._params.popleft() for _ in range(len(self._params))]
            if params:
                self._params.extendleft(reversed(self._write_all(self._write_params, params)))
            sliced = [self._sliced.popleft() for _ in range(len(self._sliced))]
            if sliced:
                self._sliced.extendleft(reversed(self._write_all(self._write_sliced, sliced)))
            if not self._params and not self._pending:
                self._pending = self._take()
            if self._pending:
                self._pending = self._write_all(self._write_points, self._pending)
            if not self._pending and not self._params and not self._sliced:
                if self._points:
                    continue
                self._record_count()
                return
            if time.monotonic() >= deadline:  # the store refuses writes: retried on the next round
                if final:
                    self._give_up()
                    self._record_count()
                return
            time.sleep(0.05)

    def _write_points(self, rows: list[MetricRow]) -> None:
        self.store.log_metric_rows(self.run_id, rows)

    def _write_params(self, params: list[Param]) -> None:
        self.store.log_batch(self.run_id, params=params)

    def _write_sliced(self, points: list[SliceMetric]) -> None:
        self.store.log_batch(self.run_id, sliced=points)

    def _write_all(self, write: Callable[[list[Any]], None], rows: list[Any]) -> list[Any]:
        """Write ``rows`` in chunks; return those left for a retry because the store itself failed.

        A chunk the store refuses for its values is split in halves (about 2·log2(n) writes find one bad row among
        n); a single refused row is dropped and counted. A missing run (deleted meanwhile) drops the lot.
        """
        chunks = [rows]
        while chunks:
            chunk = chunks.pop()
            try:
                write(chunk)
            except NotFound as exc:  # the run was deleted meanwhile: nothing of it can be stored any more
                self._refused += len(chunk) + sum(len(c) for c in chunks)
                self._warn_once("gone", f"dropping what was logged to run {self.run_id[:8]}: {_first_line(exc)}")
                return []
            except _ROW_ERRORS as exc:
                if len(chunk) == 1:
                    self._refuse(1, exc)
                else:
                    middle = len(chunk) // 2
                    chunks += [chunk[middle:], chunk[:middle]]
                continue
            except Exception as exc:  # retried by _drain; the user's code never sees it
                self._last_error = _first_line(exc)
                self._warn_once("retry", f"writing to the store failed, will retry: {self._last_error}")
                return [*chunk, *(row for rest in reversed(chunks) for row in rest)]
            self._shedding = False
        return []

    def _refuse(self, count: int, exc: BaseException) -> None:
        self._refused += count
        self._warn_once("refused", f"the store refused a value of run {self.run_id[:8]}, which is dropped and "
                        f"counted in the run's logging_errors (only the offending rows): {_first_line(exc)}")

    def _give_up(self) -> None:
        lost_points, lost_params = self.queued + len(self._sliced), len(self._params)
        self._points.clear()
        self._pending, self._given_up = [], self._given_up + lost_points + lost_params
        self._params.clear()
        self._sliced.clear()
        logger.warning("jupyter_mlops: gave up writing %d metric points and %d params of run %s: %s",
                       lost_points, lost_params, self.run_id[:8], self._last_error or "the store refused writes")

    def _record_count(self) -> None:
        # The count goes on the run so every face (runs show, REST, sidebar) can tell an incomplete run.
        count = self.logging_errors
        if count == self._recorded:
            return
        try:
            self.store.patch_run(self.run_id, logging_errors=count)
        except Exception as exc:  # retried after the next successful drain, and by ActiveRun.end
            self._warn_once("count", f"could not record the logging errors of run {self.run_id[:8]}: {exc}")
            return
        self._recorded = count

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning("jupyter_mlops: %s", message)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


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

"""The server extension's one service object: the store and blob store, opened once, plus a small thread pool.

Built at extension load and injected through ``web_app.settings``; handlers only call its methods, which are
plain blocking functions over the library (the same ``compare_runs``/charts calls as the CLI), run off the event
loop by the handler. The store is opened eagerly when it already exists; a project with no ``.mlops`` yet gets
its database on first use, so merely starting JupyterLab in a folder does not create one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_mlops import charts
from jupyter_mlops.app.diff import OpenStores, diff_runs
from jupyter_mlops.compare import compare_runs, metric_histories
from jupyter_mlops.config import Settings
from jupyter_mlops.entities import Metric, Run
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.server.schemas import RunPatch
from jupyter_mlops.store.base import Store
from jupyter_mlops.tracking.edits import edit_run

#: Params shown as axes of the parallel-coordinates chart; more than this is unreadable.
MAX_PARAM_AXES = 8

Opener = Callable[[Settings], tuple[Store, Any]]


class MlopsService:
    """Store access for the REST handlers.

    Args:
        settings: resolved settings (store and blob URLs).
        opener: ``open_from_settings``-like callable; injectable for tests.
        workers: threads for blocking store calls.
    """

    def __init__(self, settings: Settings, opener: Opener, workers: int = 4) -> None:
        self.settings = settings
        self._opener = opener
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._blobs: Any = None
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jupyter-mlops")

    @property
    def store_url(self) -> str:
        """The store URL (unredacted; the handler redacts it)."""
        return self.settings.store_url

    def store_exists(self) -> bool:
        """False only for a SQLite file that is not there yet."""
        return self.settings.store_location.exists()

    def get_store(self) -> Store:
        """The store, opened on first use and then kept (a failed open is retried on the next call)."""
        with self._lock:
            if self._store is None:
                self._store, self._blobs = self._opener(self.settings)
            return self._store

    @property
    def blobs(self) -> Any:
        """The blob store that goes with :meth:`get_store`."""
        self.get_store()
        return self._blobs

    def close(self) -> None:
        """Close the store and stop the thread pool."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- operations (blocking; handlers run them on the executor) ------------------------------------------

    def run_detail(self, ref: str) -> tuple[Run, dict[str, Any] | None, dict[str, Any] | None]:
        """A run with its environment and executed-code snapshots (None when not stored or unreadable)."""
        store = self.get_store()
        run = store.get_run(store.resolve_run(ref))
        return run, self._json_blob(run.env_hash), self._json_blob(run.code_hash)

    def patch_run(self, ref: str, patch: RunPatch) -> Run:
        """Apply tags (the new full set), note and name, secrets masked (``edit_run``); return the updated run."""
        store = self.get_store()
        run_id = store.resolve_run(ref)
        return edit_run(
            store, run_id, tags=patch.tags, note=patch.note, name=patch.name, redact=self.settings.redact
        )

    def metric_history(self, ref: str, key: str) -> list[Metric]:
        """Every point of one metric of a run."""
        store = self.get_store()
        return store.metric_history(store.resolve_run(ref), key)

    def compare(self, refs: list[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """``compare_runs(...).to_dict()``, one history chart per metric, one params chart per metric.

        History charts carry at most :data:`jupyter_mlops.charts.MAX_POINTS` points per run and metric
        (LTTB-downsampled, shape and peaks kept); the full history is ``GET runs/{id}/metrics/{key}``.

        The params chart is a parallel-coordinates view of the differing params (at most
        :data:`MAX_PARAM_AXES`) against that metric, or a scatter of the param against the metric when only one
        param differs; it is omitted when no param differs.
        """
        store = self.get_store()
        comparison = compare_runs(store, self.blobs, refs)
        labels = charts.run_labels(comparison.runs)
        # A metric logged once per run is a single dot per run: the metrics table already says it all.
        series = {k: v for k, v in metric_histories(store, comparison).items() if any(len(h) > 1 for h in v.values())}
        # The default budget (MAX_POINTS), not COMPACT_MAX_POINTS: measured over HTTP with 10 runs x 1,000 steps,
        # downsampling to 500 cost more time than the smaller reply saved (docs/benchmarks/server.md).
        history = charts.metric_charts(series, labels)
        data = comparison.to_dict()
        axes = [row["key"] for row in data["params"] if row["differs"]][:MAX_PARAM_AXES]
        keys = sorted({key for run in comparison.runs for key in run.metrics})
        params = {key: _params_chart(comparison.runs, axes, key) for key in keys} if axes else {}
        return data, history, params

    def code_diff(self, a: str, b: str) -> dict[str, Any]:
        """The executed-code diff of run ``b`` against run ``a``: ``NotebookDiff.to_dict()``, as the CLI prints it."""
        store = self.get_store()
        return diff_runs(OpenStores(store, self.blobs), a, b).to_dict()

    def _json_blob(self, digest: str | None) -> dict[str, Any] | None:
        # A snapshot that is missing or unreadable leaves that panel empty rather than failing the request.
        if not digest or self._blobs is None:
            return None
        try:
            value = self._blobs.get_json(digest)
        except (MlopsError, OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None


def _params_chart(runs: Sequence[Run], axes: list[str], metric: str) -> dict[str, Any]:
    # One differing param: parallel coordinates would be two axes with nothing between them (the lab drew an
    # empty box, issue 9 item 25); a scatter of that param against the metric says the same thing readably.
    if len(axes) == 1:
        return charts.params_vs_metric_spec(runs, axes[0], metric)
    return charts.parallel_coordinates_spec(runs, axes, metric)

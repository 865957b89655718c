"""The module-level API (``import jupyter_mlops as mlops``): one active run per context, logging calls on it.

Assumptions:
    * The active run is held in a :class:`contextvars.ContextVar` whose default is one process-wide slot, so a
      run started in one notebook cell is still active in the next (IPython may run cells in fresh contexts),
      while code that wants its own run per task or thread calls :func:`isolated_context` first.
    * The store is resolved from :func:`jupyter_mlops.config.load_settings` (explicit argument > environment >
      pyproject > ``.mlops/mlops.db``) and opened once per URL per process.
"""

from __future__ import annotations

import contextvars
import logging
import math
import operator
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.entities import Artifact, DataInput, ModelVersion, Run
from jupyter_mlops.errors import Conflict, NoActiveRun
from jupyter_mlops.store.base import Store
from jupyter_mlops.tracking import run as run_module
from jupyter_mlops.tracking.run import ActiveRun
from jupyter_mlops.tracking.view import RunView

if TYPE_CHECKING:
    import pandas

__all__ = [
    "active_run",
    "end_run",
    "get_run",
    "isolated_context",
    "load_model",
    "log_artifact",
    "log_data",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "note",
    "open_stores",
    "runs",
    "set_tags",
    "start_run",
]


class _Slot:
    """A mutable holder, so every context that did not isolate itself shares the process's run."""

    __slots__ = ("run",)

    def __init__(self) -> None:
        self.run: ActiveRun | None = None


# The mutable default is the point: it is the process-wide slot that every non-isolated context shares.
_current: contextvars.ContextVar[_Slot] = contextvars.ContextVar(
    "jupyter_mlops_active_run", default=_Slot()  # noqa: B039
)
#: Called with each new run (e.g. autolog applies an argparse namespace parsed before the run started).
START_HOOKS: list[Callable[[ActiveRun], None]] = []
_opened: dict[tuple[str, str], tuple[Store, Any, Settings]] = {}
_opened_lock = threading.Lock()

StoreArg = Store | str | None


def isolated_context() -> None:
    """Give the current context (thread, task) its own active-run slot instead of the process's."""
    _current.set(_Slot())


def open_stores(store: StoreArg = None, blobs: Any = None) -> tuple[Store, Any, Settings]:
    """Resolve and open (once per process) the run store and blob store.

    Args:
        store: an open :class:`Store`, a store URL, or None for the configured default.
        blobs: a blob store (default: the one configured beside the store).

    Returns:
        ``(store, blobs, settings)``.
    """
    from jupyter_mlops.store import open_from_settings

    url = store.url if isinstance(store, Store) else store
    settings = load_settings(store_url=url)
    if isinstance(store, Store):
        if blobs is None:
            blobs = open_from_settings_blobs(settings)
        return store, blobs, settings
    key = (settings.store_url, settings.blobs_url)
    with _opened_lock:
        hit = _opened.get(key)
        if hit is None:
            opened_store, opened_blobs = open_from_settings(settings)
            hit = _opened[key] = (opened_store, opened_blobs, settings)
    return hit[0], blobs if blobs is not None else hit[1], hit[2]


def open_from_settings_blobs(settings: Settings) -> Any:
    """The blob store configured for ``settings`` (without opening a database)."""
    from jupyter_mlops.store import open_blobs

    return open_blobs(settings)


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    tags: Iterable[str] = (),
    note: str | None = None,
    *,
    store: StoreArg = None,
    blobs: Any = None,
    auto_capture: bool = True,
    redact: bool | None = None,
    user_ns: Mapping[str, Any] | None = None,
) -> ActiveRun:
    """Start a run and make it the active one; use it as a context manager or end it with :func:`end_run`.

    Environment (Python, packages, CPU/RAM/GPU) and git state are captured in the background.

    Args:
        name: run name (generated when omitted).
        experiment: experiment name (``default`` when omitted).
        tags: tags to set.
        note: free-text note.
        store: a :class:`Store`, a store URL, or None for the configured store.
        blobs: blob store (default: the configured one).
        auto_capture: capture environment, git and code snapshots (in a kernel also cell params and data).
        redact: store secret-looking params/tags as ``***`` (default: the ``redact`` setting, on).
        user_ns: the kernel namespace when started from a notebook (set by the magics).

    Raises:
        Conflict: another run is active in this context.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> store = f"sqlite:///{tempfile.mkdtemp()}/mlops.db"
        >>> with mlops.start_run("baseline", experiment="churn", tags=["lgbm"], store=store) as run:
        ...     mlops.log_params({"lr": 0.1, "num_leaves": 31})
        ...     mlops.log_metric("auc", 0.91)
        >>> mlops.get_run(run.id, store=store).status
        'finished'
    """
    slot = _current.get()
    if slot.run is not None and not slot.run.ended:
        raise Conflict(f"run {slot.run.name!r} ({slot.run.id[:8]}) is still active; end it first (mlops.end_run())")
    opened_store, opened_blobs, settings = open_stores(store, blobs)
    if auto_capture:
        _load_kernel_extension()
    active = run_module.start(
        opened_store,
        opened_blobs,
        settings,
        name=name,
        experiment=experiment,
        tags=tags,
        note=note,
        user_ns=user_ns,
        capture_context=auto_capture,
        redact=redact,
    )
    slot.run = active
    for hook in list(START_HOOKS):
        hook(active)
    return active


def _load_kernel_extension() -> None:
    """In a Jupyter kernel, load ``%load_ext jupyter_mlops`` if it is not loaded yet.

    A run started with ``mlops.start_run()`` in a notebook then records the cells it ran, the earlier ones as its
    context and the cell it ends in, as ``%track start`` does. IPython is looked up, never imported: a script
    has none. Only a kernel's shell (it has a ``kernel``): a terminal IPython, or one a test harness left behind,
    records cells once ``%load_ext`` is run there. A failure leaves the run without cells, with one warning.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    manager = getattr(shell, "extension_manager", None)
    if manager is None or getattr(shell, "kernel", None) is None or "jupyter_mlops" in getattr(manager, "loaded", ()):
        return
    try:
        manager.load_extension("jupyter_mlops")
    except Exception as exc:
        logging.getLogger(__name__).warning("jupyter_mlops: cells will not be recorded: %s", exc)


def active_run() -> ActiveRun | None:
    """The active run of this context, or None.

    Example:
        >>> import jupyter_mlops as mlops
        >>> mlops.active_run() is None
        True
    """
    slot = _current.get()
    if slot.run is not None and slot.run.ended:
        slot.run = None
    return slot.run


def end_run(status: str = "finished") -> Run | None:
    """End the active run (``finished`` or ``failed``); does nothing when no run is active.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> run = mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db")
        >>> mlops.end_run().status.value
        'finished'
    """
    slot = _current.get()
    active, slot.run = slot.run, None
    if active is None or active.ended:
        return None
    return active.end(status)


def _require() -> ActiveRun:
    active = active_run()
    if active is None:
        raise NoActiveRun("no active run: call mlops.start_run() (or %track start) first")
    return active


def log_param(key: str, value: Any) -> None:
    """Set a param of the active run (re-logging updates it and keeps its history).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     mlops.log_param("lr", 0.1)
    """
    _require().log_param(key, value)


def log_params(values: Mapping[str, Any]) -> None:
    """Set several params of the active run.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     mlops.log_params({"lr": 0.1, "layers": [64, 32]})
    """
    _require().log_params(values)


def log_metric(key: str, value: float, step: int | None = None,
               slice: Mapping[str, Any] | None = None) -> None:  # noqa: A002 - the public keyword
    """Append a metric point to the active run (``step`` auto-increments per key when omitted).

    ``slice={"region": "EU"}`` records the value on that slice of the data (ADR-070).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     for epoch in range(3):
        ...         mlops.log_metric("loss", 1.0 / (epoch + 1))
        ...     mlops.log_metric("auc", 0.87, slice={"region": "EU"})
    """
    _require().log_metric(key, value, step, slice=slice)


def log_sliced_metrics(frame: Any, by: str | Sequence[str], metrics: Mapping[str, Callable[[Any], Any]], *,
                       overall: bool = True, step: int | None = None) -> dict[str, dict[str, float]]:
    """Apply each metric function to each group of a DataFrame and log the values per slice (ADR-070).

    Args:
        frame: a pandas DataFrame (anything with ``groupby``); rows whose ``by`` value is missing form no slice.
        by: the column (or columns) whose values name the slices; at most 1,000 slices per call.
        metrics: ``{key: fn}``; ``fn(group)`` returns a number. One that raises on a group logs NaN for it (the
            gate then refuses to judge that slice) with a warning naming the slice.
        overall: also log ``fn(frame)`` as the unsliced metric ``key``.
        step: the step of every point (default: one more than that key and slice's previous step).

    Returns:
        ``{slice label: {key: value}}`` as logged; the whole frame's values under ``""``.

    Raises:
        InvalidInput: a bad frame, ``by``, metric function result or slice value (nothing is logged then).

    Example:
        >>> import jupyter_mlops as mlops, tempfile, pandas as pd
        >>> df = pd.DataFrame({"region": ["EU", "EU", "US"], "hit": [1, 0, 1]})
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     mlops.log_sliced_metrics(df, by="region", metrics={"acc": lambda g: g.hit.mean()})
        {'': {'acc': 0.6666666666666666}, 'region=EU': {'acc': 0.5}, 'region=US': {'acc': 1.0}}
    """
    return _require().log_sliced_metrics(frame, by, metrics, overall=overall, step=step)


def log_metrics(values: Mapping[str, float], step: int | None = None) -> None:
    """Append one point per metric to the active run.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     mlops.log_metrics({"auc": 0.91, "f1": 0.84}, step=1)
    """
    _require().log_metrics(values, step)


def log_data(path_or_object: Any, name: str | None = None, role: str = "input") -> DataInput:
    r"""Record a dataset (file, folder, DataFrame or array) on the active run: hash, size, schema.

    Example:
        >>> import jupyter_mlops as mlops, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "train.csv").write_text("x,y\n1,2\n")
        >>> with mlops.start_run(store=f"sqlite:///{folder}/mlops.db"):
        ...     mlops.log_data(folder / "train.csv").schema["rows"]
        1
    """
    return _require().log_data(path_or_object, name, role)


def log_artifact(path: str, name: str | None = None) -> list[Artifact]:
    """Store a file or folder with the active run.

    Example:
        >>> import jupyter_mlops as mlops, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "model.txt").write_text("weights")
        >>> with mlops.start_run(store=f"sqlite:///{folder}/mlops.db"):
        ...     [a.path for a in mlops.log_artifact(str(folder / "model.txt"))]
        ['model.txt']
    """
    return _require().log_artifact(path, name)


def log_model(obj_or_path: Any, name: str, flavor: str | None = None, version: str | None = None,
              parents: Iterable[str] = ()) -> ModelVersion:
    """Store a model on the active run as a new immutable version of ``name`` (see ``ActiveRun.log_model``).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     mlops.log_model({"weights": [1, 2]}, "toy").version
        '1.0.0'
    """
    return _require().log_model(obj_or_path, name, flavor, version, parents)


def load_model(ref: str, *, dest: str | None = None, store: StoreArg = None, blobs: Any = None) -> Any:
    """Load a model version by ``NAME:VERSION``, ``NAME:latest`` or ``NAME@ALIAS``, verifying its content hash.

    Objects come back as objects; a file or folder as the path of a verified copy (under ``dest``).

    Raises:
        InvalidInput: a malformed reference.
        NotFound: an unknown model, version or alias.
        Conflict: the stored content does not match its hash (nothing is unpickled).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> store = f"sqlite:///{tempfile.mkdtemp()}/mlops.db"
        >>> with mlops.start_run(store=store):
        ...     _ = mlops.log_model({"weights": [1, 2]}, "toy")
        >>> mlops.load_model("toy:latest", store=store)
        {'weights': [1, 2]}
    """
    from jupyter_mlops.tracking.models import load_version

    opened_store, opened_blobs, _ = open_stores(store, blobs)
    return load_version(opened_blobs, opened_store.resolve_model(ref), dest)


def set_tags(*tags: str) -> tuple[str, ...]:
    """Add tags to the active run; returns its tags.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     sorted(mlops.set_tags("baseline", "lgbm"))
        ['baseline', 'lgbm']
    """
    return _require().set_tags(*tags)


def note(text: str) -> None:
    """Set the active run's note.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db"):
        ...     mlops.note("more trees")
    """
    _require().note(text)


def get_run(run_id: str, *, store: StoreArg = None, blobs: Any = None) -> RunView:
    """A stored run by id, unique id prefix or unique name.

    Raises:
        NotFound: no such run.
        Conflict: the reference matches several runs.

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> store = f"sqlite:///{tempfile.mkdtemp()}/mlops.db"
        >>> with mlops.start_run("demo", store=store) as run:
        ...     mlops.log_metric("auc", 0.9)
        >>> mlops.get_run("demo", store=store).metrics
        {'auc': 0.9}
    """
    opened_store, opened_blobs, _ = open_stores(store, blobs)
    resolved = opened_store.resolve_run(str(run_id))
    active = active_run()
    if active is not None and active.id == resolved:
        active.flush()
    return RunView(opened_store.get_run(resolved), opened_store, opened_blobs)


def runs(
    filter: str | None = None,  # noqa: A002 - the documented name, as in MLflow's search_runs
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
    *,
    store: StoreArg = None,
) -> pandas.DataFrame:
    """Runs as a pandas DataFrame, one row per run (newest first unless ``order_by`` says otherwise).

    Columns: ``run_id, name, experiment, status, start_time, end_time``, one ``params.<key>`` and one
    ``metrics.<key>`` column per key (latest values), and ``tags`` (a list per run).

    Args:
        filter: a filter-language expression, e.g. ``"metrics.auc > 0.8 and params.lr = 0.1"``.
        order_by: e.g. ``"metrics.auc DESC"`` or a list of such terms.
        limit: at most this many runs.
        store: a :class:`Store`, a store URL, or None for the configured store.

    Raises:
        FilterSyntaxError: the filter does not parse (the message points at the column).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> store = f"sqlite:///{tempfile.mkdtemp()}/mlops.db"
        >>> for lr in (0.1, 0.2):
        ...     with mlops.start_run(store=store):
        ...         mlops.log_param("lr", lr)
        >>> mlops.runs("params.lr > 0.15", store=store)["params.lr"].tolist()
        [0.2]
    """
    opened_store, _, _ = open_stores(store)
    active = active_run()
    if active is not None:
        active.flush()
    terms = [order_by] if isinstance(order_by, str) else list(order_by or ())
    return frame_from_columns(opened_store.run_columns(filter or None, order_by=terms, limit=limit))


def runs_frame(items: Sequence[Run]) -> pandas.DataFrame:
    """The :func:`runs` DataFrame of given runs."""
    return frame_from_columns({
        "run_id": [r.id for r in items], "name": [r.name for r in items],
        "experiment": [r.experiment for r in items], "status": [r.status.value for r in items],
        "start_time": [r.start_time for r in items], "end_time": [r.end_time for r in items],
        "params": [r.params for r in items], "metrics": [r.metrics for r in items],
        "tags": [list(r.tags) for r in items],
    })


def frame_from_columns(columns: Mapping[str, list[Any]]) -> pandas.DataFrame:
    """The :func:`runs` DataFrame from :meth:`Store.run_columns` output, built from a dict of lists."""
    import pandas as pd

    ends = [math.nan if end is None else end for end in columns["end_time"]]
    frame: dict[str, Any] = {
        "run_id": columns["run_id"], "name": columns["name"], "experiment": columns["experiment"],
        "status": columns["status"],
        "start_time": pd.to_datetime(columns["start_time"], unit="s", utc=True),
        "end_time": pd.to_datetime(ends, unit="s", utc=True),
    }
    frame.update(_keyed_columns("params.", columns["params"], None))
    frame.update(_keyed_columns("metrics.", columns["metrics"], math.nan))
    frame["tags"] = columns["tags"]
    return pd.DataFrame(frame)


def _keyed_columns(prefix: str, values: list[Mapping[str, Any]], missing: Any) -> dict[str, list[Any]]:
    """One column per key (sorted) of per-run dicts; ``missing`` where a run lacks the key."""
    keys = sorted(set().union(*values)) if values else []
    if not keys:
        return {}
    try:
        # Most runs share one key set: one itemgetter call per run instead of one dict lookup per cell.
        rows = list(map(operator.itemgetter(*keys), values))
    except KeyError:
        return {prefix + key: [value.get(key, missing) for value in values] for key in keys}
    if len(keys) == 1:
        return {prefix + keys[0]: rows}
    return {prefix + key: list(column) for key, column in zip(keys, zip(*rows, strict=True), strict=True)}

"""The run lifecycle: :func:`start` creates a run, :class:`ActiveRun` logs to it and ends it.

Assumptions:
    * Metric points and params go through the run's :class:`~jupyter_mlops.tracking.writer.BatchWriter`, so the
      caller pays for a tuple append; data inputs, artifacts, tags and notes are explicit, rarer calls and are
      written synchronously so their errors reach the caller.
    * Environment, git state and the script snapshot are captured on the shared background thread
      (:func:`jupyter_mlops.tracking.context.submit`) and written with ``update_run`` when ready, possibly after
      the run ended; interpreter exit waits for them.
    * A run still open at interpreter exit (a script that never called ``end_run``) is ended as ``failed`` when
      the interpreter is exiting because of an uncaught exception, else as ``finished``. In a kernel the notebook
      session ends it first, from how the session ended (``notebook_session``). A killed process cannot end its
      run; the store reads it as ``crashed`` once its heartbeat is stale, and everything flushed before the kill
      is kept.
    * Every text a run stores goes through one redaction pass (``capture.redact``) unless the run opts out:
      run/experiment names, tags and notes (also those given to :func:`start`), param names and values, metric
      names (memoised per name, so the logging loop pays one dict lookup), the script snapshot, and the code and
      notebook snapshots a kernel's session stores through :meth:`ActiveRun.put_code_snapshot` and friends.
    * Values are checked at the call (:mod:`.checks`): a value the store could not hold raises a one-line
      InvalidInput for that call only, and nothing queued before it is harmed. What the writer still could not
      store is counted in the run's ``logging_errors`` (ADR-017).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_mlops.config import Settings
from jupyter_mlops.entities import Artifact, DataInput, ModelVersion, Param, Run, RunStatus
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store.base import Store
from jupyter_mlops.tracking import checks, context, slices, snapshots
from jupyter_mlops.tracking.checks import native
from jupyter_mlops.tracking.writer import BatchWriter

__all__ = ["ActiveRun", "native", "start"]

logger = logging.getLogger(__name__)

#: Hooks return ``update_run`` fields (``code_hash``, ``notebook_hash``, ``flags``...) for the end of a run.
EndHook = Callable[[], Mapping[str, Any]]

_OPEN: dict[str, ActiveRun] = {}
_OPEN_LOCK = threading.Lock()


class ActiveRun:
    """A running run: log params, metrics, data and artifacts to it, then end it.

    Usable as a context manager: leaving the block ends the run, ``failed`` when an exception escapes.

    Args:
        store: the run store.
        blobs: the blob store for artifacts and snapshots.
        run: the freshly created run.
        settings: flush/heartbeat intervals and the redaction default.
        redact: replace secret-looking params/tags with ``***`` (default: ``settings.redact``).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> store = f"sqlite:///{tempfile.mkdtemp()}/mlops.db"
        >>> with mlops.start_run("demo", store=store) as run:
        ...     run.log_param("lr", 0.1)
        ...     run.log_metric("loss", 0.5)
        >>> mlops.get_run(run.id, store=store).params
        {'lr': 0.1}
    """

    def __init__(
        self, store: Store, blobs: Any, run: Run, *, settings: Settings, redact: bool | None = None
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.settings = settings
        self.redact = settings.redact if redact is None else redact
        self._run = run
        self._steps: dict[str, int] = {}
        self._slice_steps: dict[tuple[str, str], int] = {}
        self._metric_names: dict[str, str] = {}  # name as logged -> name as stored (redacted)
        # Keys (as stored) logged since the notebook session last asked: which cell logged a metric (ADR-095).
        self._logged: set[str] = set()
        self._end_hooks: list[EndHook] = []
        self._tick_hooks: list[Callable[[], None]] = []
        self._ended = False
        self._ending = False  # inside end(): its hooks may still record what the run captured
        #: Whether the run captures its context (environment, git, a kernel's cells); ``start_run(auto_capture=)``.
        self.captures_context = True
        self._status: RunStatus = RunStatus.RUNNING
        self._writer = BatchWriter(
            store,
            run.id,
            flush_interval=settings.flush_interval,
            heartbeat_interval=settings.heartbeat_interval,
            on_tick=self._tick,
        )
        with _OPEN_LOCK:
            _OPEN[run.id] = self

    # -- identity -----------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The run id."""
        return self._run.id

    @property
    def name(self) -> str:
        """The run name."""
        return self._run.name

    @property
    def experiment(self) -> str:
        """The experiment the run belongs to."""
        return self._run.experiment

    @property
    def notebook_path(self) -> str | None:
        """The notebook the run was started from, when the kernel knows it."""
        return self._run.notebook_path

    @property
    def ended(self) -> bool:
        """True once :meth:`end` ran."""
        return self._ended

    @property
    def logging_errors(self) -> int:
        """Metric points and params logged to this run that could not be stored (see ``Run.logging_errors``)."""
        return self._writer.logging_errors

    @property
    def status(self) -> RunStatus:
        """``running`` until ended, then the final status."""
        return self._status

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.id[:8]} status={self._status.value}>"

    # -- values -------------------------------------------------------------------------------------------
    def log_param(self, key: str, value: Any, source: str = "api") -> None:
        """Set one param; logging it again updates the value and keeps the history.

        Example:
            >>> run.log_param("model", {"num_leaves": 31})  # doctest: +SKIP
        """
        self.log_params({key: value}, source=source)

    def log_params(self, values: Mapping[str, Any], source: str = "api") -> None:
        """Set several params (native types kept; secrets redacted unless the run opted out).

        Example:
            >>> run.log_params({"lr": 0.1, "epochs": 10})  # doctest: +SKIP
        """
        self._check_open()
        clean = {checks.name(k, "param name"): _param_value(k, v) for k, v in values.items()}
        if self.redact and clean:
            from jupyter_mlops.capture import redact

            clean = redact.redact_mapping(clean)
        self._writer.put_params([Param(k, v, source) for k, v in clean.items()])

    def log_metric(self, key: str, value: float, step: int | None = None, timestamp: float | None = None,
                   slice: Mapping[str, Any] | None = None) -> None:  # noqa: A002 - the public keyword (issue 12)
        """Append one metric point; ``step`` defaults to one more than the key's previous step (from 0).

        ``slice={"region": "EU"}`` records the value on that slice of the data instead (ADR-070): its own series
        next to the unsliced metric, shown and gated per slice.

        Example:
            >>> for epoch in range(3):  # doctest: +SKIP
            ...     run.log_metric("loss", 1 / (epoch + 1))
            >>> run.log_metric("auc", 0.87, slice={"region": "EU"})  # doctest: +SKIP
        """
        if slice is not None and (slice or not isinstance(slice, Mapping)):  # {} is the whole data
            self.log_sliced([(slice, {key: value})], step, timestamp)
            return
        # Every check is done here, where an error reaches the caller (checks.py); the common case (a known name,
        # a float, an int step in range) costs a few type tests.
        steps = self._steps
        previous = steps.get(key) if type(key) is str else None
        if previous is None:  # a name's first point: check (and escape) the name once
            key = checks.name(key, "metric name")
            previous = steps.get(key, -1)
        number = value if type(value) is float else checks.metric_number(key, value)
        if step is None:
            step = previous + 1
        # Literal bounds (folded constants, no global lookups) of the signed 64-bit step column: checks.STEP_MIN/MAX.
        if type(step) is not int or not -0x8000000000000000 <= step <= 0x7FFFFFFFFFFFFFFF:
            step = checks.metric_step(key, step)
        stamp = time.time() if timestamp is None else checks.metric_number(key, timestamp)
        if self._ended:
            self._check_open()
        steps[key] = step
        stored = self._metric_names.get(key) or self._metric_name(key)
        self._logged.add(stored)
        self._writer.put_metric(stored, number, step, stamp)

    def take_logged_metrics(self) -> tuple[str, ...]:
        """The metric keys (as stored) logged since the last call, sorted; the notebook session asks after each cell."""
        if not self._logged:
            return ()
        logged, self._logged = self._logged, set()
        return tuple(sorted(logged))

    def _metric_name(self, key: str) -> str:
        stored = self.clean_text(key)
        self._metric_names[key] = stored
        return stored

    def clean_text(self, text: str) -> str:
        """``text`` with its secrets masked, or unchanged when the run opted out of redaction."""
        if not self.redact:
            return text
        from jupyter_mlops.capture import redact

        return redact.redact_text(text)

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        """Append one point per metric; all share ``step`` when given.

        Example:
            >>> run.log_metrics({"auc": 0.91, "f1": 0.8}, step=3)  # doctest: +SKIP
        """
        now = time.time()
        points = []
        for key, value in values.items():  # every value is checked before any is queued: the call is all or nothing
            name = checks.name(key, "metric name")
            number = checks.metric_number(name, value)
            points.append((name, number, checks.metric_step(name, self._steps.get(name, -1) + 1 if step is None
                                                            else step), now))
        self._check_open()
        for name, _, point_step, _ in points:
            self._steps[name] = point_step
        names = self._metric_names
        rows = [(names.get(n) or self._metric_name(n), v, s, t) for n, v, s, t in points]
        self._logged.update(row[0] for row in rows)
        self._writer.put_metrics(rows)

    def log_sliced(self, values: Iterable[tuple[Any, Mapping[str, Any]]], step: int | None = None,
                   timestamp: float | None = None) -> None:
        """Append sliced points ``[(slice, {key: value}), ...]``, all checked before any is queued (ADR-070)."""
        points, steps = slices.sliced_points(values, step, timestamp, self._slice_steps, self.clean_text,
                                             slices.redact_dims if self.redact else None)
        self._check_open()
        self._slice_steps = steps
        self._writer.put_sliced(points)

    def log_sliced_metrics(self, frame: Any, by: str | Sequence[str], metrics: Mapping[str, Callable[[Any], Any]],
                           *, overall: bool = True, step: int | None = None) -> dict[str, dict[str, float]]:
        """Log each metric function's value on each group of a DataFrame: :func:`.slices.log_frame`."""
        return slices.log_frame(self, frame, by, metrics, overall=overall, step=step)

    def log_data(
        self, path_or_object: Any, name: str | None = None, role: str = "input"
    ) -> DataInput:
        """Record a dataset: a file or folder (content hash, size, schema) or a DataFrame/array in memory.

        A tabular file or a DataFrame also gets a per-column profile (``capture.profile``), stored as a blob whose
        hash is the schema's ``profile``: what ``jupyter-mlops data check`` compares new data against.

        Raises:
            NotFound: the path does not exist.
            InvalidInput: the object is neither a path nor something ``capture.frames`` can describe.

        Example:
            >>> run.log_data("data/train.csv")  # doctest: +SKIP
            >>> run.log_data(df, name="features")  # doctest: +SKIP
        """
        self._check_open()
        if role not in ("input", "output"):
            raise InvalidInput(f"role must be 'input' or 'output', not {role!r}")
        min_max: dict[int, tuple[Any, Any]] = {}  # the hashing pass's min/max, so profiling reads columns once
        if isinstance(path_or_object, (str, os.PathLike)):
            record = snapshots.describe_path(self.store, path_or_object, name, role)
        else:
            record = snapshots.describe_object(path_or_object, name, role, min_max)
        record = snapshots.with_profile(self.blobs, record, path_or_object, redact=self.redact, min_max=min_max)
        self._check_open()  # hashing a big file takes a while: the run may have ended meanwhile
        self.store.log_data_inputs(self.id, [record])
        return record

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> list[Artifact]:
        """Store a file (or every file of a folder) in the blob store and link it to the run.

        Example:
            >>> run.log_artifact("model.pkl")  # doctest: +SKIP
        """
        self._check_open()
        source = Path(path)
        if not source.exists():
            raise NotFound(f"artifact path not found: {path}")
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        base = name or source.name
        artifacts = []
        for file in files:
            digest, size = self.blobs.put_file(file)
            rel = base if file == source else f"{base}/{file.relative_to(source).as_posix()}"
            artifacts.append(Artifact(rel, digest, int(size)))
        self.store.log_artifacts(self.id, artifacts)
        return artifacts

    def log_model(self, obj_or_path: Any, name: str, flavor: str | None = None, version: str | None = None,
                  parents: Iterable[str] = ()) -> ModelVersion:
        """Store a model (object, file or folder) and register it as a new immutable version with this run's lineage.

        The version follows ADR-053 unless ``version`` names one never used; ``parents`` are model references.

        Example:
            >>> run.log_model(clf, "churn")  # doctest: +SKIP
        """
        self._check_open()
        from jupyter_mlops.tracking import models

        self.flush()  # the lineage must see every param and metric logged so far
        return models.register(self.store, self.blobs, self.id, obj_or_path, name, flavor, version, parents)

    def set_tags(self, *tags: str | Iterable[str], remove: Iterable[str] = ()) -> tuple[str, ...]:
        """Add (and remove) tags; returns the run's tags afterwards.

        Example:
            >>> run.set_tags("baseline", "lgbm")  # doctest: +SKIP
        """
        flat = [t for item in tags for t in ([item] if isinstance(item, str) else item)]
        removed = list(remove)
        if self.redact and (flat or removed):
            from jupyter_mlops.capture import redact

            flat, removed = redact.redact_tags(flat), redact.redact_tags(removed)
        return self.store.set_tags(self.id, add=flat, remove=removed)

    def note(self, text: str) -> None:
        """Set the run's free-text note.

        Example:
            >>> run.note("first try with the new features")  # doctest: +SKIP
        """
        self.store.patch_run(self.id, note=self.clean_text(str(text)))

    # -- snapshots ----------------------------------------------------------------------------------------
    def put_code_snapshot(self, snapshot: Mapping[str, Any]) -> str:
        """Store a code snapshot (``capture.code`` JSON, redacted unless the run opted out); return its hash.

        For an end hook, which returns the hash as the run's final ``code_hash`` (:meth:`add_end_hook`).

        Raises:
            Conflict: the run has ended (its end hooks may still call this).
        """
        self._check_open()
        return snapshots.code_blob(self.blobs, snapshot, redact=self.redact)

    def put_notebook_snapshot(self, data: bytes) -> str:
        """Store the saved notebook's bytes (redacted unless the run opted out); return the ``notebook_hash``.

        Raises:
            Conflict: the run has ended (its end hooks may still call this).
        """
        self._check_open()
        return snapshots.notebook_blob(self.blobs, data, redact=self.redact)

    def put_module_source(self, data: bytes) -> str:
        """Store a local module's source (redacted unless the run opted out, ADR-102); return its blob hash.

        Content-addressed: a module version stored by an earlier run is not stored again.
        """
        return snapshots.module_blob(self.blobs, data, redact=self.redact)

    def refresh_code_snapshot(self, snapshot: Mapping[str, Any]) -> bool:
        """Make ``snapshot`` the run's code now, so a killed kernel still leaves the code it ran behind.

        Returns False and stores nothing once the run is ending or has ended: its end writes the final snapshot,
        and a heartbeat's refresh that lost the race with it must not replace that.
        """
        if self._ended or self._ending:
            return False
        self.store.patch_run(self.id, code_hash=self.put_code_snapshot(snapshot))
        return True

    # -- lifecycle ----------------------------------------------------------------------------------------
    def add_end_hook(self, hook: EndHook) -> None:
        """Call ``hook`` when the run ends; the fields it returns are written with the final status."""
        self._end_hooks.append(hook)

    def add_tick_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on the writer thread after each heartbeat (e.g. to refresh a code snapshot)."""
        self._tick_hooks.append(hook)

    def flush(self) -> None:
        """Write everything queued so far (reads right after a log call see it)."""
        self._writer.flush()

    def end(self, status: str | RunStatus = "finished") -> Run:
        """End the run with ``finished`` (default) or ``failed``; ending twice is a no-op.

        Example:
            >>> run.end()  # doctest: +SKIP
        """
        return self._finish(_final_status(status))

    def end_crashed(self) -> Run:
        """End the run as ``crashed``: its kernel was restarted or interrupted with the run open."""
        return self._finish(RunStatus.CRASHED)

    def _finish(self, final: RunStatus) -> Run:
        if self._ended or self._ending:
            return self.store.get_run(self.id)
        self._ending = True
        self._status = final
        fields: dict[str, Any] = {}
        # Hooks run while the run is still open, so capture still in flight (a data read's hash) is recorded.
        for hook in self._end_hooks:
            try:
                fields.update(hook())
            except Exception as exc:  # a failed snapshot must not lose the run's status
                logger.warning("jupyter_mlops: end-of-run capture failed: %s", exc)
        self._ended = True
        self._writer.close()
        with _OPEN_LOCK:
            _OPEN.pop(self.id, None)
        if self._writer.logging_errors:  # the status stays what the code did; the count says what is missing
            fields["logging_errors"] = self._writer.logging_errors
            logger.warning("jupyter_mlops: run %s ends with %d metric points or params not stored (logging_errors)",
                           self.id[:8], self._writer.logging_errors)
        return self.store.update_run(self.id, status=final, end_time=time.time(), **fields)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.end("failed" if exc_type is not None else "finished")

    def _check_open(self) -> None:
        if self._ended:
            from jupyter_mlops.errors import Conflict

            raise Conflict(f"run {self.name!r} ({self.id[:8]}) has ended; start a new run to log more")

    def _tick(self) -> None:
        for hook in self._tick_hooks:
            hook()


def start(
    store: Store,
    blobs: Any,
    settings: Settings,
    *,
    name: str | None = None,
    experiment: str | None = None,
    tags: Iterable[str] = (),
    note: str | None = None,
    user_ns: Mapping[str, Any] | None = None,
    capture_context: bool = True,
    redact: bool | None = None,
) -> ActiveRun:
    """Create a run and its handle; fast context (notebook path, runner tags) now, git/env in the background.

    Name, experiment, tags and note are redacted before the run is created (unless ``redact`` is False).
    """
    masking = settings.redact if redact is None else redact
    request = context.CaptureRequest(settings.project_root, blobs, user_ns, redact=masking)
    facts = context.resolve(request, background=False) if capture_context else {}
    all_tags = [*tags, *facts.get("tags", ())]
    name, experiment, note = name or None, experiment or "default", note or ""
    if masking:
        from jupyter_mlops.capture import redact as redaction

        all_tags = redaction.redact_tags(all_tags)
        name = redaction.redact_text(name) if name else None
        experiment, note = redaction.redact_text(experiment), redaction.redact_text(note)
    run = store.create_run(
        name=name,
        experiment=experiment,
        tags=all_tags,
        note=note,
        notebook_path=facts.get("notebook_path"),
        reproduction_of=facts.get("reproduction_of"),
    )
    active = ActiveRun(store, blobs, run, settings=settings, redact=redact)
    active.captures_context = capture_context
    if facts.get("params"):
        active.log_params(facts["params"], source="runner")
    if capture_context:
        context.submit(lambda: snapshots.capture_background(store, blobs, request, run.id))
    return active


def _param_value(key: Any, value: Any) -> Any:
    try:
        return native(value)
    except InvalidInput as error:
        raise InvalidInput(f"param {checks.shown(key)}: {error.message}") from None


def _final_status(status: str | RunStatus) -> RunStatus:
    try:
        final = RunStatus(status)
    except ValueError:
        final = RunStatus.RUNNING
    if final not in (RunStatus.FINISHED, RunStatus.FAILED):
        raise InvalidInput(f"a run ends as 'finished' or 'failed', not {status!r}")
    return final


def open_runs() -> list[ActiveRun]:
    """Runs of this process that have not ended."""
    with _OPEN_LOCK:
        return list(_OPEN.values())


def _exiting_on_an_exception() -> bool:
    """Whether the interpreter is exiting because the main program raised.

    Python sets ``sys.last_value`` when it prints an uncaught exception, before exit handlers run. IPython sets
    it for every cell that raised, so inside an IPython shell it says nothing about the exit: the kernel's
    notebook session decides there.
    """
    if getattr(sys, "last_value", None) is None:
        return False
    shell = sys.modules.get("IPython.core.interactiveshell")
    return not (shell is not None and shell.InteractiveShell.initialized())


def _end_open_runs() -> None:
    # Interpreter exit (a script's end or its uncaught exception, a kernel shutdown without a notebook session).
    status = "failed" if _exiting_on_an_exception() else "finished"
    for active in open_runs():
        try:
            active.end(status)
        except Exception as exc:
            logger.warning("jupyter_mlops: could not end run %s at exit: %s", active.id[:8], exc)


atexit.register(_end_open_runs)

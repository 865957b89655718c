"""Run use cases: list, show, edit, delete, export, and choosing which runs a command means.

Each function is one behaviour over a :class:`~jupyter_mlops.app.workspace.Workspace`, written once for the CLI,
the REST API, the magics and the widget; faces parse their input, call these, and format what they return.
:func:`~jupyter_mlops.store.blobs.read_snapshot` (the one reader of the JSON snapshots kept in the blob store)
fills the run details and exports.
Nothing heavy is imported at module level: ``jupyter-mlops runs list`` must start fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store.blobs import read_snapshot

if TYPE_CHECKING:
    from pathlib import Path

    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import Metric, Page, Run, SliceMetric
    from jupyter_mlops.store.base import Store

#: Version tag of the ``runs export`` document.
EXPORT_FORMAT = "jupyter-mlops.run/1"

__all__ = [
    "EXPORT_FORMAT",
    "RunDetail",
    "choose_runs",
    "delete_runs",
    "edit_run",
    "export_run",
    "find_runs",
    "last_run_ids",
    "list_runs",
    "metric_history",
    "resolve_runs",
    "show_run",
    "slice_metric_history",
]


# -- choosing runs ----------------------------------------------------------------------------------------------


def resolve_runs(store: Store, refs: Iterable[str]) -> list[str]:
    """Turn ids, unique id prefixes or unique names into run ids, in order, without duplicates.

    Raises:
        NotFound: a reference matches no run.
        Conflict: a reference is ambiguous.
    """
    ids: list[str] = []
    for ref in refs:
        run_id = store.resolve_run(str(ref).strip())
        if run_id not in ids:
            ids.append(run_id)
    return ids


def last_run_ids(store: Store, count: int, filter_text: str | None = None) -> list[str]:
    """Ids of the ``count`` most recently started runs matching ``filter_text``, oldest first (the baseline).

    Raises:
        InvalidInput: ``count`` is less than 1.
        FilterSyntaxError: ``filter_text`` is malformed.
    """
    if count < 1:
        raise InvalidInput(f"--last needs a positive number of runs, got {count}")
    page = store.search_runs(filter=filter_text, order_by=["start_time DESC"], limit=count)
    return [run.id for run in reversed(page.items)]


def choose_runs(
    workspace: Workspace, refs: Sequence[str] = (), last: int | None = None, filter_text: str | None = None
) -> list[str]:
    """The runs a command means: ``RUN...`` (ids, unique prefixes, unique names) or ``--last N [--filter EXPR]``.

    One rule for every face: name runs or give ``--last N``, not both and not neither; ``--filter`` narrows
    ``--last``. Fewer runs than a command needs is the face's call (the CLI refuses; the first Run All of a
    notebook shows the one run it has).

    Returns:
        Run ids in order, without duplicates; with ``--last`` the oldest first (the baseline); possibly empty.

    Raises:
        InvalidInput: both or neither of runs and ``--last``; ``--filter`` without ``--last``; ``--last`` < 1.
        NotFound: a named run does not exist.
        Conflict: a reference is ambiguous.
        FilterSyntaxError: the filter is malformed.
    """
    if refs and last is not None:
        raise InvalidInput("give runs or --last N, not both")
    if not refs and last is None:
        raise InvalidInput("name the runs (RUN RUN ...) or use --last N")
    if filter_text and last is None:
        raise InvalidInput("--filter works with --last N; name runs directly otherwise")
    if last is not None:
        return last_run_ids(workspace.store, last, filter_text)
    return resolve_runs(workspace.store, refs)


# -- reading ----------------------------------------------------------------------------------------------------


def list_runs(
    workspace: Workspace,
    filter_text: str | None = None,
    sort: Sequence[str] = (),
    limit: int | None = 50,
    offset: int = 0,
) -> Page[Run]:
    """One page of runs matching a filter, in the given order (default: newest first).

    The plain listing of a SQLite store that is not open yet is read straight from the file, skipping the import
    of SQLAlchemy (most of a cold ``jupyter-mlops runs list``; :mod:`jupyter_mlops.store.quick_list`).

    Raises:
        StoreUnavailable: no store, not a database, unreachable.
        FilterSyntaxError: the filter is malformed.
        InvalidInput: a sort key is unknown.
    """
    if not filter_text and not sort and not workspace.is_open:
        page = _newest_runs_from_file(workspace, limit, offset)
        if page is not None:
            return page
    return workspace.store.search_runs(filter_text, order_by=list(sort), limit=limit, offset=offset)


def _newest_runs_from_file(workspace: Workspace, limit: int | None, offset: int) -> Page[Run] | None:
    from jupyter_mlops.store.quick_list import newest_runs

    path = _sqlite_file(workspace)
    if path is None:
        return None
    return newest_runs(path, limit=limit, offset=offset, stale_after=workspace.settings.stale_after)


def runs_from_file(workspace: Workspace, refs: Sequence[str]) -> list[Run] | None:
    """Runs by id, unique prefix or unique name, read straight from a SQLite store that is not open yet.

    What ``resolve_runs`` then ``find_runs`` answer, without importing SQLAlchemy (a cold ``gate``, ADR-059).

    Returns:
        The runs in order without duplicates, or None when the store must answer (not SQLite, already open, an
        older schema, anything unexpected).

    Raises:
        StoreUnavailable: the file is not a database.
        InvalidInput: a reference is empty.
        NotFound: a reference matches no run.
        Conflict: a reference is ambiguous.
    """
    from jupyter_mlops.store.quick_list import runs_by_ref

    path = None if workspace.is_open else _sqlite_file(workspace)
    if path is None:
        return None
    return runs_by_ref(path, refs, stale_after=workspace.settings.stale_after)


def _sqlite_file(workspace: Workspace) -> Path | None:
    # None when the store is not a current SQLite file: the full store then migrates an older file or reports
    # the problem in one line. URL options (`?mode=...`) change how SQLite opens the file: left to the full store.
    from jupyter_mlops.store.files import check_sqlite_file

    location = workspace.settings.store_location
    path = location.sqlite_path
    if path is None or location.query or not path.exists():
        return None
    check_sqlite_file(path, create=False)
    return path


@dataclass(frozen=True)
class RunDetail:
    """A run with its environment and executed-code snapshots (None when not stored or unreadable).

    ``profiles`` holds the data profile of each data input that has one, by the input's name.
    """

    run: Run
    env: dict[str, Any] | None
    code: dict[str, Any] | None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)


def show_run(workspace: Workspace, ref: str) -> RunDetail:
    """One run (id, unique prefix or unique name) with its snapshots.

    Raises:
        NotFound: no such run.
        Conflict: the reference is ambiguous.
    """
    store = workspace.store
    run = store.get_run(store.resolve_run(ref))
    blobs = workspace.blobs
    profiles = {}
    for item in run.data_inputs:
        digest = (item.schema or {}).get("profile")
        profile = read_snapshot(blobs, digest) if isinstance(digest, str) else None
        if profile is not None:
            profiles[item.name] = profile
    return RunDetail(run, read_snapshot(blobs, run.env_hash), read_snapshot(blobs, run.code_hash), profiles)


def metric_history(workspace: Workspace, ref: str, key: str) -> list[Metric]:
    """Every point of one metric of a run, by step."""
    store = workspace.store
    return store.metric_history(store.resolve_run(ref), key)


def slice_metric_history(workspace: Workspace, ref: str, key: str, label: str) -> list[SliceMetric]:
    """Every point of one metric on one slice of a run (``label`` canonical, as stored: ``region=EU``), by step.

    Raises:
        InvalidInput: ``label`` is not a canonical slice label.
        NotFound: no such run, or the run has no point of ``key`` on that slice.
    """
    from jupyter_mlops.store.slices import checked_label

    label = checked_label(label)
    store = workspace.store
    run_id = store.resolve_run(ref)
    points = [p for p in store.slice_history(run_id, key) if p.slice == label]
    if not points:
        raise NotFound(f"run {run_id[:8]} has no metric {key[:60]!r} on slice {label[:60]!r}")
    return points


def find_runs(workspace: Workspace, refs: Sequence[str]) -> list[Run]:
    """The runs behind references, every one resolved before any is returned (for a confirmation prompt)."""
    store = workspace.store
    return [store.get_run(run_id) for run_id in resolve_runs(store, refs)]


def export_run(workspace: Workspace, ref: str) -> dict[str, Any]:
    """One run as a self-contained document: the run, full metric, sliced-metric and param histories, env, code.

    ``slice_history`` is ``{key: {label: [point, ...]}}``, each slice's points by step (ADR-080).

    The document is versioned (:data:`EXPORT_FORMAT`); serialise it with ``comparing.model.json_safe``.
    """
    store = workspace.store
    run = store.get_run(store.resolve_run(ref))
    metrics = {k: [m.to_dict() for m in store.metric_history(run.id, k)] for k in sorted(run.metrics)}
    sliced: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for key in sorted(run.slices):
        for point in store.slice_history(run.id, key):
            sliced.setdefault(key, {}).setdefault(point.slice, []).append(point.to_dict())
    params = {
        k: [{"value": p.value, "source": p.source} for p in store.param_history(run.id, k)] for k in sorted(run.params)
    }
    blobs = workspace.blobs
    return {
        "format": EXPORT_FORMAT,
        "run": run.to_dict(),
        "metric_history": metrics,
        "slice_history": sliced,
        "param_history": params,
        "env": read_snapshot(blobs, run.env_hash),
        "code": read_snapshot(blobs, run.code_hash),
    }


# -- editing ----------------------------------------------------------------------------------------------------


def edit_run(
    workspace: Workspace,
    ref: str,
    *,
    tags: Iterable[str] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    note: str | None = None,
    append_note: bool = False,
    name: str | None = None,
) -> Run:
    """Edit a run's tags (a new full set, or tags to add or remove), note and name; return the run afterwards.

    Secrets in the new values are masked like a tracked run's, unless the project set ``redact = false``.

    Raises:
        NotFound: no such run.
        Conflict: the reference is ambiguous.
        InvalidInput: a value is refused (see :func:`jupyter_mlops.tracking.edits.edit_run`).
    """
    from jupyter_mlops.tracking.edits import edit_run as apply_edits

    store = workspace.store
    return apply_edits(
        store,
        store.resolve_run(ref),
        tags=tags,
        add_tags=add_tags,
        remove_tags=remove_tags,
        note=note,
        append_note=append_note,
        name=name,
        redact=workspace.settings.redact,
    )


def build_rollups(workspace: Workspace, run_ids: Sequence[str] | None = None) -> tuple[int, int]:
    """Build the chart rollups (ADR-116) of these runs (full ids), or of every run whose histories have none.

    Histories stored before migration 0017, or back-filled with a step below their latest, are charted from
    every point until then; afterwards a compare reads their blocks. Returns ``(runs, blocks written)``.
    """
    return workspace.store.build_rollups(run_ids)


def delete_runs(workspace: Workspace, run_ids: Sequence[str]) -> int:
    """Delete runs (full ids) and everything logged to them; blobs stay, as runs may share them.

    Returns:
        How many runs were deleted.

    Raises:
        NotFound: a run does not exist (the ones before it are already deleted: resolve every reference first).
    """
    store = workspace.store
    for run_id in run_ids:
        store.delete_run(run_id)
    return len(run_ids)


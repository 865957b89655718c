"""Stored run rows to entities: status derivation, summary decoding, ``Run`` building. Standard library only.

Kept apart from the queries (:mod:`.reads`) so that a reader that does not load SQLAlchemy
(:mod:`.quick_list`) builds exactly the same :class:`Run` objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from jupyter_mlops.entities import Artifact, DataInput, Run, RunStatus
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound

T = TypeVar("T")

#: The run columns every run query selects, in this order (the ``experiment`` column is the experiment's name).
RUN_FIELDS = ("id", "name", "experiment", "status", "start_time", "end_time", "heartbeat", "notebook_path",
              "git_commit", "git_dirty", "code_hash", "notebook_hash", "env_hash", "note", "reproduction_of", "flags",
              "logging_errors", "summary")
_RUN_WIDTH = len(RUN_FIELDS)
_SUMMARY = RUN_FIELDS.index("summary")
#: Columns of the child rows, after ``run_id``, that :func:`data_input_from_row` and :func:`artifact_from_row` read.
DATA_INPUT_FIELDS = ("name", "hash", "kind", "path", "size", "schema", "role")
ARTIFACT_FIELDS = ("path", "hash", "size")


#: How many matches a run reference query fetches: enough to list ten when it is ambiguous.
RESOLVE_LIMIT = 11


def run_reference(ref: str | None) -> tuple[str, str | None]:
    """A run reference, stripped, and the id prefix it may be (lowercase hex, >= 4 characters), else None.

    Raises:
        InvalidInput: the reference is empty.
    """
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput("empty run reference; give a run id, an id prefix or a run name")
    is_prefix = len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref.lower())
    return ref, ref.lower() if is_prefix else None


def only_match(ref: str, matches: Sequence[str]) -> str:
    """The one run id a reference matched (by name or id prefix, oldest first).

    Raises:
        NotFound: nothing matched.
        Conflict: more than one run matched.
    """
    if not matches:
        raise NotFound(f"no run matches {ref!r} (by id, id prefix or name)")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:10])
        raise Conflict(f"{ref!r} is ambiguous: it matches runs {shown}; give more of the id")
    return matches[0]


def decode_summaries(texts: list[str | None]) -> list[dict[str, Any]]:
    """Decode many summary columns with one ``json.loads`` of a JSON array (per-call overhead paid once)."""
    if len(texts) < 2:
        return [json_object(text) for text in texts]
    return json.loads("[" + ",".join(text if text else "{}" for text in texts) + "]")  # type: ignore[no-any-return]


_STATUSES = {status.value: status for status in RunStatus}


def derive_status(stored: str, heartbeat: float | None, stale_before: float) -> RunStatus:
    """A running run whose heartbeat is older than ``stale_before`` reads as crashed."""
    status = _STATUSES.get(stored) or RunStatus(stored)  # a dict hit instead of an Enum call per run
    if status is RunStatus.RUNNING and heartbeat is not None and heartbeat < stale_before:
        return RunStatus.CRASHED
    return status


def error_count(value: Any) -> int:
    """A ``logging_errors`` value as a non-negative int.

    Raises:
        InvalidInput: not a whole number, or negative.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"logging_errors must be a non-negative integer, not {value!r}")
    return min(value, 2**63 - 1)


def json_object(text: str | None) -> dict[str, Any]:
    """A stored JSON object column (NULL and ``{}`` are both empty)."""
    return json.loads(text) if text and text != "{}" else {}


#: The key of the flags column's JSON that holds, per flag, the cells that raised it (never a flag itself).
FLAG_CELLS_KEY = "cells"


def split_flags(stored: dict[str, Any]) -> tuple[dict[str, bool], dict[str, list[int]]]:
    """The flags column's JSON as (flags, cells per flag)."""
    cells = stored.get(FLAG_CELLS_KEY)
    flags = {key: bool(value) for key, value in stored.items() if key != FLAG_CELLS_KEY}
    if not isinstance(cells, dict):
        return flags, {}
    return flags, {str(k): [int(n) for n in v] for k, v in cells.items() if isinstance(v, list)}


def merge_flags(current: str | None, given: dict[str, Any] | None) -> str:
    """The flags column after an update: given flags replace stored ones, and so do given cell lists.

    Raises:
        InvalidInput: cell numbers that are not whole numbers.
    """
    flags, cells = split_flags(json_object(current))
    given_flags: dict[str, bool] = {}
    given_cells: dict[str, Any] = {}
    for key, value in (given or {}).items():
        if str(key) != FLAG_CELLS_KEY:
            given_flags[str(key)] = bool(value)
        elif isinstance(value, dict):
            given_cells = value
    try:
        cells.update({str(k): [int(n) for n in v] for k, v in given_cells.items()})
    except (TypeError, ValueError):
        raise InvalidInput("flag cells must be lists of cell numbers") from None
    merged: dict[str, Any] = {**flags, **given_flags}
    if cells:
        merged[FLAG_CELLS_KEY] = cells
    return json.dumps(merged, sort_keys=True)


def run_from_row(row: Any, *, stale_before: float, summary: dict[str, Any] | None = None, **children: Any) -> Run:
    """Build a :class:`Run` from a run row plus children.

    Params and latest metrics come from the row's summary column, or from ``summary`` when the caller already
    decoded it.
    """
    (run_id, name, experiment, status, start_time, end_time, heartbeat, notebook_path, git_commit, git_dirty,
     code_hash, notebook_hash, env_hash, note, reproduction_of, flags, logging_errors, text) = row[:_RUN_WIDTH]
    decoded = json_object(text) if summary is None else summary
    flag_values, flag_cells = split_flags(json_object(flags))
    return Run(
        id=run_id,
        name=name,
        experiment=experiment,
        status=derive_status(status, heartbeat, stale_before),
        start_time=start_time,
        end_time=end_time,
        heartbeat=heartbeat,
        notebook_path=notebook_path,
        git_commit=git_commit,
        git_dirty=None if git_dirty is None else bool(git_dirty),
        code_hash=code_hash,
        notebook_hash=notebook_hash,
        env_hash=env_hash,
        note=note or "",
        reproduction_of=reproduction_of,
        flags=flag_values,
        flag_cells=flag_cells,
        logging_errors=int(logging_errors or 0),
        params=decoded.get("params", {}),
        metrics=decoded.get("metrics", {}),
        slices=decoded.get("slices", {}),
        **children,
    )


def data_input_from_row(row: Any) -> DataInput:
    """A :class:`DataInput` from ``(run_id, *DATA_INPUT_FIELDS)``."""
    _, name, digest, kind, path, size, schema, role = row
    return DataInput(name=name, hash=digest, kind=kind, path=path, size=size,
                     schema=json.loads(schema) if schema else None, role=role)


def artifact_from_row(row: Any) -> Artifact:
    """An :class:`Artifact` from ``(run_id, *ARTIFACT_FIELDS)``."""
    _, path, digest, size = row
    return Artifact(path=path, hash=digest, size=size)


def group_by_run(rows: Iterable[Any], convert: Callable[[Any], T]) -> dict[str, list[T]]:
    """``{run_id: [convert(row), ...]}`` for child rows whose first column is the run id, keeping their order."""
    found: dict[str, list[T]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(convert(row))
    return found


def runs_from_rows(rows: Sequence[Any], *, stale_before: float, tag_rows: Iterable[Any],
                   input_rows: Iterable[Any], artifact_rows: Iterable[Any]) -> list[Run]:
    """Full :class:`Run` entities from run rows (:data:`RUN_FIELDS` first) and their child rows.

    Child rows start with the run id: ``(run_id, tag)``, ``(run_id, *DATA_INPUT_FIELDS)``,
    ``(run_id, *ARTIFACT_FIELDS)``, each in the order the run should list them.
    """
    tags = group_by_run(tag_rows, lambda row: row[1])
    inputs = group_by_run(input_rows, data_input_from_row)
    artifacts = group_by_run(artifact_rows, artifact_from_row)
    summaries = decode_summaries([row[_SUMMARY] for row in rows])
    return [
        run_from_row(row, stale_before=stale_before, summary=summary, tags=tuple(tags.get(row[0], ())),
                     data_inputs=tuple(inputs.get(row[0], ())), artifacts=tuple(artifacts.get(row[0], ())))
        for row, summary in zip(rows, summaries, strict=True)
    ]


def short_page_total(returned: int, limit: int | None, offset: int) -> int | None:
    """The number of matches when a page tells it by itself (it came back short); None when it must be counted."""
    if (limit is None or returned < limit) and (returned or not offset):
        return offset + returned
    return None

"""The newest runs of a SQLite store, read with the standard library alone, for a fast cold ``runs list``.

Importing SQLAlchemy takes 0.3–0.45 s on the 2-core development machine: most of the 0.6 s a cold
``jupyter-mlops runs list`` may take. Its most common form (no filter, newest first) needs fixed statements only,
so :func:`newest_runs` runs them through ``sqlite3`` on a read-only connection and builds the runs with the same
code as the store (:mod:`.rows`). It answers exactly what ``SqlStore.search_runs(None, (), limit, offset)``
answers (tests/unit/store/test_quick_list.py compares both on one database) and steps aside, returning None,
whenever it cannot be sure: a schema version other than :data:`.layout.SCHEMA_VERSION`, the one the migrations
write too (the full store migrates an older file), a file it cannot open or read, any database error. The full
path then opens the store and reports the problem.

:func:`runs_by_ref` does the same for named runs (ids, unique id prefixes, unique names), for a cold
``jupyter-mlops gate`` (ADR-059): it resolves them as ``SqlStore.resolve_run`` does, with the same rules and the
same one-line errors (:func:`.rows.run_reference`, :func:`.rows.only_match`), and loads them as ``search_runs``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from jupyter_mlops.entities import Page, Run
from jupyter_mlops.store.files import is_read_only, read_only_uri
from jupyter_mlops.store.layout import SCHEMA_VERSION
from jupyter_mlops.store.rows import (
    ARTIFACT_FIELDS,
    DATA_INPUT_FIELDS,
    RESOLVE_LIMIT,
    RUN_FIELDS,
    only_match,
    run_reference,
    runs_from_rows,
    short_page_total,
)

T = TypeVar("T")

_CHUNK = 900
_MAX_INTEGER = 2**63 - 1

_COLUMNS = ", ".join("experiments.name" if field == "experiment" else f"runs.{field}" for field in RUN_FIELDS)
_RUNS = f"SELECT {_COLUMNS} FROM runs JOIN experiments ON experiments.id = runs.experiment_id "  # noqa: S608
# The same ordering as ``reads.apply_order`` with no sort keys: newest first, id breaks ties.
_NEWEST = _RUNS + "ORDER BY runs.start_time DESC NULLS LAST, runs.id LIMIT ? OFFSET ?"
_BY_ID = _RUNS + "WHERE runs.id IN ({})"  # a few named runs: far below SQLite's limit on ``?``
# ``SqlStore.resolve_run``'s two statements: the exact id, then names and id prefixes, oldest first.
_EXACT_ID = "SELECT id FROM runs WHERE id = ?"
_BY_NAME = "SELECT id FROM runs WHERE name = ? ORDER BY start_time LIMIT ?"
_BY_NAME_OR_PREFIX = "SELECT id FROM runs WHERE name = ? OR id LIKE ? || '%' ORDER BY start_time LIMIT ?"
_CHILDREN = {  # fixed text; only the number of ``?`` in the IN list varies
    "tags": "SELECT run_id, tag FROM tags WHERE run_id IN ({}) ORDER BY tag",
    "data_inputs": f"SELECT run_id, {', '.join(DATA_INPUT_FIELDS)} FROM data_inputs WHERE run_id IN ({{}}) "
                   "ORDER BY id",
    "artifacts": f"SELECT run_id, {', '.join(ARTIFACT_FIELDS)} FROM artifacts WHERE run_id IN ({{}}) ORDER BY path",
}


def newest_runs(path: Path, *, limit: int | None, offset: int, stale_after: float) -> Page[Run] | None:
    """Runs newest first, paged, as ``SqlStore.search_runs(limit=limit, offset=offset)`` returns them.

    Returns:
        The page, or None when this reader cannot answer for sure (use the store instead).
    """
    if offset > _MAX_INTEGER or (limit is not None and limit > _MAX_INTEGER):
        return None  # the store refuses it with a one-line error
    return _read(path, lambda conn: _page(conn, limit, offset, time.time() - stale_after))


def runs_by_ref(path: Path, refs: Sequence[str], *, stale_after: float) -> list[Run] | None:
    """Runs by id, unique id prefix or unique name, in order, duplicates dropped, as the store resolves and loads them.

    Returns:
        The runs, or None when this reader cannot answer for sure (use the store instead).

    Raises:
        InvalidInput: a reference is empty.
        NotFound: a reference matches no run.
        Conflict: a reference is ambiguous.
    """
    return _read(path, lambda conn: _runs_by_ref(conn, refs, time.time() - stale_after))


def _read(path: Path, work: Callable[[sqlite3.Connection], T | None]) -> T | None:
    try:
        conn = sqlite3.connect(read_only_uri(path, writable=not is_read_only(path)), uri=True, timeout=1.0,
                               isolation_level=None)
    except (sqlite3.Error, OSError):
        return None
    try:
        conn.execute("BEGIN")  # one snapshot for every statement below
        version = conn.execute("SELECT schema_version FROM schema_info WHERE id = 1").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            return None
        return work(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _runs_by_ref(conn: sqlite3.Connection, refs: Sequence[str], stale_before: float) -> list[Run]:
    ids: list[str] = []
    for given in refs:
        ref, prefix = run_reference(given)
        if conn.execute(_EXACT_ID, (ref,)).fetchone() is not None:
            run_id = ref
        elif prefix is None:
            run_id = only_match(ref, [row[0] for row in conn.execute(_BY_NAME, (ref, RESOLVE_LIMIT))])
        else:
            matches = conn.execute(_BY_NAME_OR_PREFIX, (ref, prefix, RESOLVE_LIMIT))
            run_id = only_match(ref, [row[0] for row in matches])
        if run_id not in ids:
            ids.append(run_id)
    rows = conn.execute(_BY_ID.format(", ".join("?" * len(ids))), ids).fetchall() if ids else []
    found = {run.id: run for run in _runs(conn, rows, stale_before)}
    return [found[run_id] for run_id in ids]


def _page(conn: sqlite3.Connection, limit: int | None, offset: int, stale_before: float) -> Page[Run]:
    rows = conn.execute(_NEWEST, (-1 if limit is None else limit, offset)).fetchall()
    total = short_page_total(len(rows), limit, offset)
    if total is None:
        total = int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    return Page(items=tuple(_runs(conn, rows, stale_before)), total=total, offset=offset, limit=limit)


def _runs(conn: sqlite3.Connection, rows: list[Any], stale_before: float) -> list[Run]:
    ids = [row[0] for row in rows]
    return runs_from_rows(rows, stale_before=stale_before, tag_rows=_children(conn, "tags", ids),
                          input_rows=_children(conn, "data_inputs", ids),
                          artifact_rows=_children(conn, "artifacts", ids))


def _children(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        found.extend(conn.execute(_CHILDREN[table].format(", ".join("?" * len(chunk))), chunk).fetchall())
    return found

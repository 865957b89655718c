"""The newest runs of a SQLite store, read with the standard library alone, for a fast cold ``runs list``.

Importing SQLAlchemy takes 0.3–0.45 s on the 2-core development machine: most of the 0.6 s a cold
``jupyter-mlops runs list`` may take. Its most common form (no filter, newest first) needs fixed statements only,
so :func:`newest_runs` runs them through ``sqlite3`` on a read-only connection and builds the runs with the same
code as the store (:mod:`.rows`). It answers exactly what ``SqlStore.search_runs(None, (), limit, offset)``
answers (tests/unit/store/test_quick_list.py compares both on one database) and steps aside, returning None,
whenever it cannot be sure: a schema version other than :data:`.layout.SCHEMA_VERSION`, the one the migrations
write too (the full store migrates an older file), a file it cannot open or read, any database error. The full
path then opens the store and reports the problem.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_mlops.entities import Page, Run
from jupyter_mlops.store.files import is_read_only, read_only_uri
from jupyter_mlops.store.layout import SCHEMA_VERSION
from jupyter_mlops.store.rows import ARTIFACT_FIELDS, DATA_INPUT_FIELDS, RUN_FIELDS, runs_from_rows, short_page_total

_CHUNK = 900
_MAX_INTEGER = 2**63 - 1

_COLUMNS = ", ".join("experiments.name" if field == "experiment" else f"runs.{field}" for field in RUN_FIELDS)
# The same ordering as ``reads.apply_order`` with no sort keys: newest first, id breaks ties.
_NEWEST = (f"SELECT {_COLUMNS} FROM runs JOIN experiments ON experiments.id = runs.experiment_id "  # noqa: S608
           "ORDER BY runs.start_time DESC NULLS LAST, runs.id LIMIT ? OFFSET ?")
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
    try:
        conn = sqlite3.connect(read_only_uri(path, writable=not is_read_only(path)), uri=True, timeout=1.0,
                               isolation_level=None)
    except (sqlite3.Error, OSError):
        return None
    try:
        conn.execute("BEGIN")  # one snapshot for every statement below
        return _page(conn, limit, offset, time.time() - stale_after)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _page(conn: sqlite3.Connection, limit: int | None, offset: int, stale_before: float) -> Page[Run] | None:
    version = conn.execute("SELECT schema_version FROM schema_info WHERE id = 1").fetchone()
    if version is None or version[0] != SCHEMA_VERSION:
        return None
    rows = conn.execute(_NEWEST, (-1 if limit is None else limit, offset)).fetchall()
    total = short_page_total(len(rows), limit, offset)
    if total is None:
        total = int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    ids = [row[0] for row in rows]
    items = runs_from_rows(rows, stale_before=stale_before, tag_rows=_children(conn, "tags", ids),
                           input_rows=_children(conn, "data_inputs", ids),
                           artifact_rows=_children(conn, "artifacts", ids))
    return Page(items=tuple(items), total=total, offset=offset, limit=limit)


def _children(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        found.extend(conn.execute(_CHILDREN[table].format(", ".join("?" * len(chunk))), chunk).fetchall())
    return found

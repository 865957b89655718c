"""Checks on a SQLite store file made before any database code touches it. Standard library only.

The CLI's quick listing (:mod:`.quick_list`) and the SQLAlchemy engine (:mod:`.engine`) both refuse the same files
with the same one-line errors, and open a read-only store the same way (:func:`read_only_uri`).

Two promises: a file that is not our store is never changed (no WAL switch, no tables added), and a store that
cannot be written can still be read. A store is read-only when the process may not write the file or its folder,
or when either has no write bit at all: root may write anything, so a file or folder whose mode says "nobody
writes here" is taken as read-only on purpose.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from jupyter_mlops.config import MLOPS_DIR
from jupyter_mlops.errors import StoreUnavailable

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Our stores all have this table (migration 0001 creates it); a database without it that has tables is not ours.
_OUR_TABLE = "schema_info"


def check_sqlite_file(path: Path, *, create: bool) -> bool:
    """Refuse, without changing it, a SQLite path that cannot be our store; say whether it can be written.

    Returns:
        True for a store this process may write (or create), False for one it may only read.

    Raises:
        StoreUnavailable: missing (and ``create`` is false), not a file, not a SQLite database, or a SQLite
            database that another program made (it has tables but not ours).
    """
    if not path.exists():
        if not create:
            raise StoreUnavailable(f"no store at {path}; open it with create=True or start a run to make one")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"cannot create the store folder {path.parent}: {error.strerror}") from None
        if not _writable(path.parent):
            raise StoreUnavailable(f"cannot create a store in {path.parent}: the folder is read-only")
        if path.parent.name == MLOPS_DIR:
            _keep_out_of_git(path.parent)
        return True
    if not path.is_file():
        raise StoreUnavailable(f"store path {path} is not a file")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise StoreUnavailable(f"cannot read store {path}: {error.strerror}") from None
    if header and header != _SQLITE_MAGIC:
        raise StoreUnavailable(f"store {path} is not a SQLite database; point JUPYTER_MLOPS_STORE at another file")
    writable = _writable(path) and _writable(path.parent)
    if header and not _is_ours(path, writable):
        raise StoreUnavailable(f"{path} is a SQLite database that jupyter_mlops did not create; it is left alone: "
                               "point JUPYTER_MLOPS_STORE at another file")
    return writable


def is_read_only(path: Path) -> bool:
    """Whether an existing store file may only be read (see the module docstring)."""
    return not (_writable(path) and _writable(path.parent))


def read_only_uri(path: Path, *, writable: bool) -> str:
    """The SQLite URI that opens ``path`` for reading only, without creating or changing any file.

    ``mode=ro`` never writes the database. A store that may not be written and has no write-ahead log waiting is
    also opened ``immutable=1``: otherwise SQLite would create the ``-shm`` file next to a WAL database (which
    fails in a read-only folder, or adds a file where none should appear).
    """
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    wal = path.with_name(path.name + "-wal")
    if not writable and not (wal.exists() and wal.stat().st_size > 0):
        uri += "&immutable=1"
    return uri


def _writable(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return os.access(path, os.W_OK) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _is_ours(path: Path, writable: bool) -> bool:
    """Whether a SQLite file holds no tables or ours, read without changing it."""
    try:
        conn = sqlite3.connect(read_only_uri(path, writable=writable), uri=True, timeout=5.0)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "not a database" in message.lower():
            raise StoreUnavailable(f"store {path} is not a SQLite database") from None
        raise StoreUnavailable(f"cannot read store {path}: {message}") from None
    return not tables or _OUR_TABLE in tables


def _keep_out_of_git(folder: Path) -> None:
    # The project's store and blobs are data, not source: a `*` .gitignore inside the folder keeps them out of
    # `git add .` without touching the project's own .gitignore (the way virtualenv and pytest's cache do it).
    ignore = folder / ".gitignore"
    if not ignore.exists():
        try:
            ignore.write_text("# created by jupyter_mlops: the run store is not source\n*\n", encoding="utf-8")
        except OSError:
            pass  # a store without the hint still works

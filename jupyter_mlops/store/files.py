"""Checks on a SQLite store file made before any database code touches it. Standard library only.

The CLI's quick listing (:mod:`.quick_list`) and the SQLAlchemy engine (:mod:`.engine`) both refuse the same files
with the same one-line errors.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from jupyter_mlops.config import MLOPS_DIR
from jupyter_mlops.errors import StoreUnavailable

_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_file(path: Path, *, create: bool) -> None:
    """Refuse, without touching it, a SQLite path that cannot be a writable store.

    Raises:
        StoreUnavailable: missing (and ``create`` is false), not a file, not a SQLite database, or read-only.
    """
    if not path.exists():
        if not create:
            raise StoreUnavailable(f"no store at {path}; open it with create=True or start a run to make one")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"cannot create the store folder {path.parent}: {error.strerror}") from None
        if not os.access(path.parent, os.W_OK):
            raise StoreUnavailable(f"cannot create a store in {path.parent}: the folder is read-only")
        if path.parent.name == MLOPS_DIR:
            _keep_out_of_git(path.parent)
        return
    if not path.is_file():
        raise StoreUnavailable(f"store path {path} is not a file")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise StoreUnavailable(f"cannot read store {path}: {error.strerror}") from None
    if header and header != _SQLITE_MAGIC:
        raise StoreUnavailable(f"store {path} is not a SQLite database; point JUPYTER_MLOPS_STORE at another file")
    # Root may write anything, so a file whose mode has no write bit at all is also taken as "read-only on purpose".
    if not os.access(path, os.W_OK) or not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise StoreUnavailable(f"store {path} is read-only; make it writable or point JUPYTER_MLOPS_STORE elsewhere")


def _keep_out_of_git(folder: Path) -> None:
    # The project's store and blobs are data, not source: a `*` .gitignore inside the folder keeps them out of
    # `git add .` without touching the project's own .gitignore (the way virtualenv and pytest's cache do it).
    ignore = folder / ".gitignore"
    if not ignore.exists():
        try:
            ignore.write_text("# created by jupyter_mlops: the run store is not source\n*\n", encoding="utf-8")
        except OSError:
            pass  # a store without the hint still works

"""The persistent file-hash cache of the SQL store (the ``hash_cache`` table)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, select

from jupyter_mlops.errors import MlopsError
from jupyter_mlops.store import schema as s

T = TypeVar("T")


class SqlTransactions(Protocol):
    """The transaction helpers the cache needs from :class:`~jupyter_mlops.store.sql.SqlStore`.

    Declared here, rather than importing ``SqlStore``, so that ``sql`` may import this module without the two
    importing each other.
    """

    def _read(self, fn: Callable[[Connection], T]) -> T: ...

    def _write(self, fn: Callable[[Connection], T]) -> T: ...

    def _upsert(self, conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str],
                columns: Sequence[str], where: Callable[[Any], Any] | None = None) -> None: ...


class SqlStatCache:
    """:class:`~jupyter_mlops.store.base.StatCache` over the ``hash_cache`` table.

    A failure to read or write the cache is never fatal to hashing: ``get_hash`` then answers None and
    ``put_hash`` does nothing, so capture simply re-hashes.
    """

    def __init__(self, store: SqlTransactions) -> None:
        self._store = store

    def get_hash(self, key: tuple[str, int, int, int, int], algorithm: str) -> str | None:
        """The cached digest when path, device, inode, size and mtime all still match, else None."""
        path, device, inode, size, mtime_ns = key
        h = s.hash_cache.c
        query = select(h.digest).where(h.path == path, h.algorithm == algorithm, h.device == device,
                                       h.inode == inode, h.size == size, h.mtime_ns == mtime_ns)
        try:
            return self._store._read(lambda conn: conn.scalar(query))
        except MlopsError:
            return None

    def put_hash(self, key: tuple[str, int, int, int, int], algorithm: str, digest: str) -> None:
        """Remember (or replace) the digest of this file identity."""
        path, device, inode, size, mtime_ns = key
        row = {"path": path, "algorithm": algorithm, "device": device, "inode": inode, "size": size,
               "mtime_ns": mtime_ns, "digest": digest}
        try:
            self._store._write(lambda conn: self._store._upsert(
                conn, s.hash_cache, [row], ("path", "algorithm"), ("device", "inode", "size", "mtime_ns", "digest")))
        except MlopsError:
            return

"""Run storage: SQLAlchemy Core over SQLite (default) or PostgreSQL, plus content-addressed blobs.

Imports nothing from IPython, Jupyter, tornado or pandas.

Store back-ends are found through a small scheme registry (the URL scheme before ``+`` or ``:``). The built-in
``sqlite`` and ``postgresql`` schemes are registered here; other packages add theirs with :func:`register` or
through the ``jupyter_mlops.stores`` entry-point group; an entry point names a factory with the signature
``factory(url, *, create, stale_after) -> Store``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from jupyter_mlops.config import StoreLocation
from jupyter_mlops.errors import InvalidInput

if TYPE_CHECKING:
    from jupyter_mlops.config import Settings
    from jupyter_mlops.store.base import Store
    from jupyter_mlops.store.blobs import Blobs

StoreFactory = Callable[..., "Store"]
ENTRY_POINT_GROUP = "jupyter_mlops.stores"

_FACTORIES: dict[str, StoreFactory] = {}


def register(scheme: str, factory: StoreFactory) -> None:
    """Make ``open_store`` use ``factory(url, create=..., stale_after=...)`` for URLs with this scheme."""
    _FACTORIES[scheme.lower()] = factory


def _sql_factory(url: str, *, create: bool = True, stale_after: float = 30.0) -> Store:
    from jupyter_mlops.store.sql import SqlStore

    return SqlStore(url, create=create, stale_after=stale_after)


register("sqlite", _sql_factory)
register("postgresql", _sql_factory)
register("postgres", _sql_factory)


def scheme_of(url: str) -> str:
    """The back-end scheme of a store URL: ``postgresql+psycopg://...`` gives ``postgresql``."""
    return StoreLocation.of(url).scheme


def get_factory(scheme: str) -> StoreFactory:
    """The factory registered for a scheme, looking at entry points once when it is not built in.

    Raises:
        InvalidInput: no back-end knows the scheme; the message lists the valid ones.
    """
    if scheme not in _FACTORIES:
        # Imported here: importlib.metadata costs tens of ms at start-up, and the built-in schemes never need it.
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name.lower() == scheme:
                register(scheme, entry.load())
    if scheme not in _FACTORIES:
        valid = ", ".join(sorted(_FACTORIES | {e.name: None for e in entry_points(group=ENTRY_POINT_GROUP)}))
        shown = scheme or "(none)"
        raise InvalidInput(f"unknown store scheme {shown!r}; valid schemes: {valid}")
    return _FACTORIES[scheme]


def require_url(url: str, role: str = "store") -> None:
    """Refuse a store setting that is not a URL (a bare path, a host) with the forms that are, in one line.

    Raises:
        InvalidInput: ``url`` has no scheme; a text with ``@`` (perhaps ``user:secret@host``) is not echoed.
    """
    if "://" not in url:
        shown = repr(url[:200]) if "@" not in url else "(not shown: it may hold a password)"
        raise InvalidInput(f"{role} {shown} is not a store URL: give sqlite:///PATH or "
                           "postgresql+psycopg://USER@HOST/DB")


def open_store(url: str, *, create: bool = True, stale_after: float = 30.0) -> Store:
    """Open (and migrate) the store at ``url``.

    Args:
        url: ``sqlite:///path/mlops.db`` (the parent folder is created for a new file), ``sqlite://`` for an
            in-memory store, or ``postgresql+psycopg://user@host:port/db``.
        create: create a missing SQLite file; when false a missing file raises StoreUnavailable.
        stale_after: seconds after which a running run without a heartbeat reads as crashed.

    Returns:
        A migrated :class:`~jupyter_mlops.store.base.Store`; close it (or use it as a context manager).

    Raises:
        InvalidInput: not a URL, or an unknown scheme.
        StoreUnavailable: not a database, read-only, unreachable, or written by a newer jupyter_mlops.

    Example:
        >>> with open_store("sqlite://") as store:
        ...     run = store.create_run(name="demo")
        ...     store.log_metric(run.id, "auc", 0.9)
        ...     store.get_run(run.id).metrics
        {'auc': 0.9}
    """
    require_url(url)
    store = get_factory(scheme_of(url))(url, create=create, stale_after=stale_after)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def open_from_settings(settings: Settings, *, create: bool = True) -> tuple[Store, Blobs]:
    """The store and blob store that resolved settings point at: the one way every face opens them.

    Args:
        settings: resolved settings.
        create: create a missing SQLite file (the CLI, which only reads and edits runs, passes False).
    """
    store = open_store(settings.store_url, create=create, stale_after=settings.stale_after)
    return store, open_blobs(settings)


def open_blobs(where: Settings | str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
               options: Mapping[str, Any] | None = None) -> Blobs:
    """The blob store that settings or a URL point at (alone: a cold ``gate`` reads runs without the run store).

    A plain path or ``file://`` URL is the local folder store (:class:`~jupyter_mlops.store.blobs.BlobStore`); any
    other fsspec URL (``s3://bucket/prefix``, ``gs://``, ``az://``, ``memory://``) the fsspec-backed store with a
    local read-through cache (:class:`~jupyter_mlops.store.remote_blobs.FsspecBlobStore`, ADR-088).

    Args:
        where: resolved settings (their ``blobs_url``, ``blobs_cache`` and ``blobs_options``), or a folder or URL.
        cache_dir: the read-through cache of a remote store (default: the settings', else the user cache folder).
        options: fsspec storage options of a remote store (default: the settings'), e.g. ``{"endpoint_url": ...}``.

    Raises:
        InvalidInput: a URL carrying credentials or a query (ADR-089), or a protocol whose package is missing.

    Example:
        >>> import tempfile
        >>> blobs = open_blobs("memory://doc-blobs/prefix", cache_dir=tempfile.mkdtemp())
        >>> blobs.get_bytes(blobs.put_bytes(b"x"))
        b'x'
    """
    from jupyter_mlops.store.blobs import BlobStore, is_local_url

    if isinstance(where, (str, os.PathLike)):
        url: str | os.PathLike[str] = where
    else:
        url = where.blobs_url
        cache_dir = cache_dir or where.blobs_cache or None
        options = where.blobs_options if options is None else options
    if is_local_url(url):
        return BlobStore(url)
    from jupyter_mlops.store.remote_blobs import FsspecBlobStore

    return FsspecBlobStore(os.fspath(url), cache_dir=cache_dir, options=options)


__all__ = ["ENTRY_POINT_GROUP", "StoreLocation", "get_factory", "open_blobs", "open_from_settings", "open_store",
           "register", "scheme_of"]

"""The :class:`Workspace`: settings, run store and blob store, opened once, on first use, and closed once.

Every face reaches the project's runs through a workspace, built the way that face needs it:

- :meth:`Workspace.from_url` for the CLI (``--store URL``): never creates a store, since the ``runs`` commands only
  read and edit runs that exist; a missing SQLite file is one line that says so.
- :meth:`Workspace.from_settings` for the server: the database is created on first use, so merely starting
  JupyterLab in a folder creates nothing, and a failed open is retried on the next call.
- :meth:`Workspace.of_process` for the kernel (magics, widget): wraps the stores the tracking API keeps open for
  the whole process, which the workspace then never closes.

Nothing heavy is imported at module level: ``jupyter-mlops runs list`` reads a SQLite file without SQLAlchemy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.errors import StoreUnavailable

if TYPE_CHECKING:
    from types import TracebackType

    from jupyter_mlops.store.base import Store

#: Opens ``(store, blobs)`` for settings; ``create`` says whether a missing SQLite file may be created.
Opener = Callable[[Settings, bool], tuple["Store", Any]]

__all__ = ["Opener", "Workspace"]


def _open_from_settings(settings: Settings, create: bool) -> tuple[Store, Any]:
    from jupyter_mlops.store import open_from_settings

    return open_from_settings(settings, create=create)


class Workspace:
    """A project's settings with its store and blob store, opened lazily and at most once.

    Args:
        settings: resolved settings (store and blob URLs, redaction, staleness).
        create: whether opening may create a missing SQLite store.
        opener: ``(settings, create) -> (store, blobs)``; injectable for tests.

    Example:
        >>> import tempfile
        >>> from jupyter_mlops.config import load_settings
        >>> with Workspace.from_settings(load_settings(store_url=f"sqlite:///{tempfile.mkdtemp()}/m.db")) as ws:
        ...     ws.store.search_runs().total
        0
    """

    def __init__(self, settings: Settings, *, create: bool = True, opener: Opener = _open_from_settings) -> None:
        self.settings = settings
        self._create = create
        self._opener = opener
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._blobs: Any = None
        self._owned = True

    @classmethod
    def from_url(cls, store_url: str | None) -> Workspace:
        """The workspace for a store URL (None: settings resolution), never creating a store.

        Opening it raises :class:`StoreUnavailable` when no store is there yet, rather than creating an empty one.
        """
        return cls(load_settings(store_url=store_url), create=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, opener: Opener = _open_from_settings) -> Workspace:
        """The workspace for resolved settings; a missing SQLite store is created on first use."""
        return cls(settings, create=True, opener=opener)

    @classmethod
    def of_process(cls) -> Workspace:
        """The kernel's workspace: the store and blobs the tracking API opened once per process (not closed here)."""
        from jupyter_mlops.tracking import fluent

        store, blobs, settings = fluent.open_stores()
        return cls.wrapping(store, blobs, settings)

    @classmethod
    def wrapping(cls, store: Store, blobs: Any, settings: Settings | None = None) -> Workspace:
        """A workspace over stores someone else opened and will close (closing the workspace leaves them open).

        Args:
            store: an open store.
            blobs: its blob store, or None (code and environment snapshots are then unavailable).
            settings: their settings; default: resolved for the store's URL.
        """
        workspace = cls(settings if settings is not None else load_settings(store_url=store.url), create=False)
        workspace._store, workspace._blobs, workspace._owned = store, blobs, False
        return workspace

    @property
    def store_url(self) -> str:
        """The store URL (unredacted: redact before showing it)."""
        return self.settings.store_url

    def store_exists(self) -> bool:
        """False only for a SQLite file that is not there yet."""
        return self.settings.store_location.exists()

    @property
    def is_open(self) -> bool:
        """Whether the store has been opened (by first use, or by whoever opened the wrapped stores)."""
        return self._store is not None

    @property
    def store(self) -> Store:
        """The run store, opened on first use and then kept (a failed open is retried on the next use).

        Raises:
            StoreUnavailable: no store there (and this workspace may not create one), not a database, unreachable.
        """
        with self._lock:
            if self._store is None:
                if not self._create and not self.store_exists():
                    raise StoreUnavailable(
                        f"no store at {self.settings.store_location.sqlite_path}: "
                        "no runs recorded yet (or pass --store URL)"
                    )
                self._store, self._blobs = self._opener(self.settings, self._create)
            return self._store

    @property
    def blobs(self) -> Any:
        """The blob store that goes with :attr:`store` (opens the store first, as they are opened together)."""
        self.store  # noqa: B018 - opening is the point
        return self._blobs

    def close(self) -> None:
        """Close the store if this workspace opened it (the next use opens it again); wrapped stores stay open."""
        if not self._owned:
            return
        with self._lock:
            store, self._store = self._store, None
            if store is not None:
                store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

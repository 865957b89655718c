"""The server extension's one service object: the project's :class:`Workspace` plus a small thread pool.

Built at extension load and injected through ``web_app.settings``; handlers call the use cases of
:mod:`jupyter_mlops.app` over :attr:`MlopsService.workspace` (the same functions as the CLI), off the event loop.
The store is opened eagerly when it already exists; a project with no ``.mlops`` yet gets its database on first
use, so merely starting JupyterLab in a folder does not create one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_mlops.app.diff import diff_runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.store.base import Store


class MlopsService:
    """The workspace and thread pool of the REST handlers.

    Args:
        workspace: the project's stores (``Workspace.from_settings``: created on first use, a failed open retried).
        workers: threads for blocking store calls.
    """

    def __init__(self, workspace: Workspace, workers: int = 4) -> None:
        self.workspace = workspace
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jupyter-mlops")

    @property
    def store_url(self) -> str:
        """The store URL (unredacted; the handler redacts it)."""
        return self.workspace.store_url

    def store_exists(self) -> bool:
        """False only for a SQLite file that is not there yet."""
        return self.workspace.store_exists()

    def get_store(self) -> Store:
        """The store, opened on first use and then kept (a failed open is retried on the next call)."""
        return self.workspace.store

    @property
    def blobs(self) -> Any:
        """The blob store that goes with :meth:`get_store`."""
        return self.workspace.blobs

    def close(self) -> None:
        """Close the store and stop the thread pool."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.workspace.close()

    # -- operations (blocking; handlers run them on the executor) ------------------------------------------

    def code_diff(self, a: str, b: str) -> dict[str, Any]:
        """The executed-code diff of run ``b`` against run ``a``: ``NotebookDiff.to_dict()``, as the CLI prints it."""
        return diff_runs(self.workspace, a, b).to_dict()

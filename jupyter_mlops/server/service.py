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
from jupyter_mlops.app.reproduce import reproduce_run
from jupyter_mlops.app.reproduce.progress import DONE, JUDGING, Progress
from jupyter_mlops.app.reproduce.request import check_request
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.server.jobs import JobRegistry, Report
from jupyter_mlops.server.schemas import ReproduceOptions
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
        self.jobs = JobRegistry()

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
        self.jobs.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.workspace.close()

    # -- operations (blocking; handlers run them on the executor) ------------------------------------------

    def code_diff(self, a: str, b: str) -> dict[str, Any]:
        """The executed-code diff of run ``b`` against run ``a``: ``NotebookDiff.to_dict()``, as the CLI prints it."""
        return diff_runs(self.workspace, a, b).to_dict()

    def start_reproduction(self, ref: str, options: ReproduceOptions) -> dict[str, Any]:
        """Check the request, then queue ``reproduce_run`` as a background job; returns the job's JSON.

        Raises:
            InvalidInput: a malformed tolerance or parameter.
            NotFound: no such run.
            Conflict: an ambiguous reference, or this run is already being reproduced.
        """
        run = check_request(self.workspace, ref, tolerances=options.tolerances, params=options.params)

        def work(report: Report) -> dict[str, Any]:
            def progress(step: Progress) -> None:
                # Once the notebook has run, the new run exists: stopping then would only hide the verdict.
                report(step.to_dict(), stoppable=step.phase not in (JUDGING, DONE))

            return reproduce_run(self.workspace, run.id, as_executed=options.as_executed,
                                 allow_changed_data=options.allow_changed_data, strict_env=options.strict_env,
                                 tolerances=options.tolerances, params=options.params, timeout=options.timeout,
                                 progress=progress).to_dict()

        return self.jobs.submit(run.id, work)

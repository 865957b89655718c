"""A real kernel driven the way JupyterLab drives one: cell ids in each request, restart and shutdown requests.

Used by ``test_run_semantics``; jupyter_client talks to the kernel, so what the kernel sees (``JPY_SESSION_NAME``,
``cellId`` metadata, ``shutdown_request`` with ``restart``) is what a Jupyter server would send.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager

TIMEOUT = 120


class KernelSession:
    """One kernel for one notebook file, started in the notebook's folder with the given store.

    Args:
        notebook: the notebook path the kernel is told (as jupyter_server does, via ``JPY_SESSION_NAME``).
        store_url: the ``JUPYTER_MLOPS_STORE`` the kernel writes to.
    """

    def __init__(self, notebook: Path, store_url: str) -> None:
        self.notebook = notebook
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
        env.update({"JUPYTER_MLOPS_STORE": store_url, "JPY_SESSION_NAME": str(notebook)})
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(notebook.parent), env=env)
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=TIMEOUT)

    def run(self, source: str, cell_id: str | None = None) -> dict[str, Any]:
        """Execute one cell (with its id, as JupyterLab sends it) and return the execute_reply's content."""
        # stop_on_error False: with True, ipykernel aborts a request that arrives within 0.1 s of an error, so a cell
        # sent right after a failing one would run or not depending on timing (a person clicking is never that fast).
        content = {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": False}
        msg = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
        self.client.shell_channel.send(msg)
        while True:
            reply = self.client.get_shell_msg(timeout=TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply["content"]

    def run_cells(self, cells: list[Any]) -> list[dict[str, Any]]:
        """Execute nbformat cells in order (a Run All), each with its cell id."""
        return [self.run(cell.source, cell.id) for cell in cells]

    def restart(self) -> None:
        """What JupyterLab's "Restart kernel" does: a shutdown request with ``restart=True``, then a new kernel."""
        self.manager.restart_kernel(now=False)
        self.client.wait_for_ready(timeout=TIMEOUT)

    def shutdown(self) -> None:
        """What "Shut down kernel" does: a shutdown request, waiting for the kernel to exit by itself."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


def notebook(path: Path, sources: list[str]) -> Any:
    """Write a notebook of code cells with fixed ids ``c0``, ``c1``... and return it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, id=f"c{i}") for i, source in enumerate(sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return nb


def save(nb: Any, path: Path, counts: dict[str, int]) -> None:
    """Save the notebook as the editor would, showing the given execution counts (by cell id)."""
    for cell in nb.cells:
        cell.execution_count = counts.get(cell.id)
    nbformat.write(nb, path)

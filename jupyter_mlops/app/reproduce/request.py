"""Checking a reproduce request before it is queued, for a face that runs it in the background (REST).

The CLI and the magic learn about a bad request when ``reproduce_run`` raises, at once; a background job would
only fail later, so the server asks here first and answers 400/404 on the request itself. The checks are the
use case's own parsers, so both paths accept and refuse the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jupyter_mlops.app.reproduce import execute, verdict

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import Run

__all__ = ["check_request"]


def check_request(workspace: Workspace, ref: str, *, tolerances: Sequence[str] = (),
                  params: Sequence[str] = ()) -> Run:
    """The run a reproduction of ``ref`` would reproduce, once tolerances and parameters parse.

    Raises:
        InvalidInput: a malformed tolerance or ``NAME=VALUE`` parameter.
        NotFound: no run matches ``ref``.
        Conflict: ``ref`` is ambiguous.
    """
    verdict.parse_tolerances(tolerances)
    execute.parse_params(params)
    store = workspace.store
    return store.get_run(store.resolve_run(ref.strip()))

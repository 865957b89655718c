"""One exception tree for jupyter_mlops.

Every deliberate error is an :class:`MlopsError` with a stable ``code``. Each face (CLI, REST handler, magic)
translates these in exactly one place: the CLI to a one-line message and exit code, the server through
:data:`CODE_TO_HTTP`, the magic to a one-line notebook error. Anything that is not an ``MlopsError`` is a bug.
"""

from __future__ import annotations

from typing import Any


class MlopsError(Exception):
    """Base of every deliberate jupyter_mlops error.

    Args:
        message: one line that tells the user what is wrong and, where possible, what to do.
    """

    code = "MLOPS_ERROR"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the wire: ``{"code": ..., "message": ...}``."""
        return {"code": self.code, "message": self.message}


class InvalidInput(MlopsError):
    """The user gave something malformed: a filter, a parameter, an option value."""

    code = "INVALID_INPUT"
    exit_code = 2


class FilterSyntaxError(InvalidInput):
    """A run filter that does not parse; ``position`` is the 0-based column of the problem."""

    code = "INVALID_FILTER"

    def __init__(self, message: str, text: str, position: int) -> None:
        pointer = f" (at column {position + 1}: {text[position:position + 20]!r})" if text else ""
        super().__init__(f"invalid filter: {message}{pointer}")
        self.text = text
        self.position = position

    def to_dict(self) -> dict[str, Any]:
        """Serialise with the error position, so a UI can point at it."""
        return {**super().to_dict(), "position": self.position}


class NotFound(MlopsError):
    """A run, experiment, metric, blob or file that does not exist."""

    code = "NOT_FOUND"


class Conflict(MlopsError):
    """The request contradicts stored state, e.g. an ambiguous run-id prefix or a run that is not running."""

    code = "CONFLICT"


class StoreUnavailable(MlopsError):
    """The store cannot be opened or written: not a database, read-only, unreachable server."""

    code = "STORE_UNAVAILABLE"


class SchemaTooNew(StoreUnavailable):
    """The store was written by a newer jupyter_mlops than this one."""

    code = "SCHEMA_TOO_NEW"


class NoActiveRun(MlopsError):
    """An API call or magic needs an active run and there is none."""

    code = "NO_ACTIVE_RUN"


class NotebookError(MlopsError):
    """A file that is not a readable v4 notebook (truncated JSON, wrong version, failed validation)."""

    code = "BAD_NOTEBOOK"
    exit_code = 2


class NotebookExecutionError(MlopsError):
    """A cell failed while a notebook was executed; carries structured fields for reports."""

    code = "CELL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        cell_index: int | None = None,
        cell_id: str | None = None,
        ename: str = "",
        evalue: str = "",
        traceback: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.cell_index = cell_index
        self.cell_id = cell_id
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback or []

    def to_dict(self) -> dict[str, Any]:
        """Serialise with the failing cell's coordinates."""
        return {
            **super().to_dict(),
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "ename": self.ename,
            "evalue": self.evalue,
        }


class ConversionError(MlopsError):
    """A notebook cannot be converted to a package; the message names each offending cell."""

    code = "CONVERSION_ERROR"


class ExecutorUnavailable(MlopsError):
    """The cluster notebooks were to run on cannot be reached (a Dask scheduler that does not answer)."""

    code = "EXECUTOR_UNAVAILABLE"
    exit_code = 2


CODE_TO_HTTP: dict[str, int] = {
    MlopsError.code: 500,
    InvalidInput.code: 400,
    FilterSyntaxError.code: 400,
    NotFound.code: 404,
    Conflict.code: 409,
    StoreUnavailable.code: 503,
    SchemaTooNew.code: 503,
    NoActiveRun.code: 409,
    NotebookError.code: 400,
    NotebookExecutionError.code: 422,
    ConversionError.code: 422,
    ExecutorUnavailable.code: 503,
}


def http_status(error: MlopsError) -> int:
    """The HTTP status for an error, by its code (500 for unknown codes)."""
    return CODE_TO_HTTP.get(error.code, 500)

"""Where a reproduction is, for a face that shows it while it runs (the sidebar's job, polled over REST).

``reproduce_run(..., progress=callback)`` calls ``callback(Progress)`` at each phase: ``verifying`` (data,
environment, git), ``executing`` (``cell`` of ``cells``: 0 while the kernel starts, then each code cell just before
nbclient runs it, through its ``on_cell_execute`` hook), ``judging`` (finding the new run, comparing metrics) and
``done``. The callback runs on the reproducing thread; an exception it raises stops the reproduction there (a job
registry cancels this way: between cells, so the kernel is still shut down cleanly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["DONE", "EXECUTING", "JUDGING", "PHASES", "VERIFYING", "Progress", "ProgressCallback", "Reporter"]

VERIFYING, EXECUTING, JUDGING, DONE = "verifying", "executing", "judging", "done"
PHASES = (VERIFYING, EXECUTING, JUDGING, DONE)


@dataclass(frozen=True)
class Progress:
    """One step of a reproduction: the phase, and while executing, which code cell of how many (1-based)."""

    phase: str
    cell: int | None = None
    cells: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``progress`` of ``GET jobs/{id}``)."""
        return {"phase": self.phase, "cell": self.cell, "cells": self.cells}


ProgressCallback = Callable[[Progress], None]


class Reporter:
    """Calls the optional callback; a reproduction reports through it without checking for None each time."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback

    def __call__(self, phase: str, cell: int | None = None, cells: int | None = None) -> None:
        """Report ``phase`` (with ``cell`` of ``cells`` while executing)."""
        if self._callback is not None:
            self._callback(Progress(phase, cell, cells))

    def cell(self, index: int, total: int) -> None:
        """Code cell ``index`` (1-based; 0 while the kernel starts) of ``total`` is about to run."""
        self(EXECUTING, index, total)

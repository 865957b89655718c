"""One unit of smoke work: a notebook, plus what a caller running the same notebook several times adds to it.

``nb-smoke`` runs each notebook once with the call's parameters, so a plain :class:`~pathlib.Path` is a task. A
sweep (:mod:`jupyter_mlops.app.sweep`) runs one notebook once per combination: each :class:`Task` carries its own
parameters (typed against the parameters cell like ``-p``, and strict: a name the cell does not define is an
error), its own report name and executed-notebook name, and the run tags its kernel hands to ``%track``. A
cluster worker (:mod:`.worker`) also runs a *copy* of the notebook, so the task says which path the runs should
record (``origin``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The run tags a smoke kernel hands to ``%track`` unless a task says otherwise.
SMOKE_TAGS = ("smoke",)


@dataclass(frozen=True)
class Task:
    """A notebook to execute, with what this execution adds to the call's options.

    Attributes:
        path: the notebook file to execute (never written).
        parameters: given on top of the call's ``-p``/``-f`` values, typed the same way, every name required.
        name: its name in reports (default: the notebook's path relative to the working directory).
        output_name: where its executed copy goes, relative to the output folder (default: from ``name``).
        tags: run tags handed to the kernel's ``%track`` runs.
        origin: the notebook path the runs record, when ``path`` is a copy (a worker without the file).
    """

    path: Path
    parameters: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    output_name: str | None = None
    tags: tuple[str, ...] = SMOKE_TAGS
    origin: str | None = None


def as_task(item: Path | Task) -> Task:
    """``item`` as a :class:`Task` (a path is a task with the call's options only)."""
    return item if isinstance(item, Task) else Task(Path(item))

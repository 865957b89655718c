"""The code that actually ran: the executed-cell log, the notebook snapshot, and the notebook-state flags.

A notebook's saved file says what the code *looks like*; the executed-cell log says what *ran*, in which order.
Comparing the two gives the flags recorded on every notebook run (like git's dirty flag):

* ``out_of_order`` — cells ran in a different order than they stand in the notebook;
* ``edited_after_run`` — a saved cell's source differs from what last ran for that cell id;
* ``kernel_restarted`` — the kernel was restarted while the run was open (passed in by the caller, who learns it
  from the kernel session, never from the saved file's execution counts);
* ``cells_rerun`` — the same cell (by id, else by identical source) ran more than once.

A run's executed code is the cells run between its start and its end, plus *context*: for each name those cells
read that none of them had bound before, the latest cell executed before the start that bound it, and so on for
the names that cell read (:func:`context_cells`). The flags look at the run's own cells only.

The saved notebook is read as plain JSON (never through nbformat, whose import costs seconds). Which facts a
kernel can see differs by front end (cell ids under JupyterLab, none under papermill): see
``docs/kernel-context.md`` in the shared docs and :func:`jupyter_mlops.capture.parameters.find_parameters_cell`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "ExecutedCell",
    "ExecutedCells",
    "context_cells",
    "notebook_cells",
    "notebook_snapshot",
    "notebook_state_cells",
    "notebook_state_flags",
]

logger = logging.getLogger(__name__)

#: Notebooks larger than this are not snapshotted (outputs can be huge; the executed-cell log still is kept).
MAX_SNAPSHOT_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class ExecutedCell:
    """One executed cell: its position in execution order, source, IPython execution count and cell id.

    ``error`` is ``{"ename", "evalue"}`` when the cell raised; ``context`` marks a cell that ran before the run
    started and is kept because the run read a name it bound; ``metrics`` are the keys of the metrics logged while
    the cell ran (as stored), which tells ``slice`` which cell produced a metric's value (ADR-095).
    """

    index: int
    source: str
    execution_count: int | None = None
    cell_id: str | None = None
    error: Mapping[str, str] | None = None
    context: bool = False
    metrics: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The cell's JSON shape; ``error``, ``context`` and ``metrics`` only when set (plain cells keep theirs)."""
        data: dict[str, Any] = {
            "index": self.index, "source": self.source, "execution_count": self.execution_count,
            "cell_id": self.cell_id,
        }
        if self.error:
            data["error"] = dict(self.error)
        if self.context:
            data["context"] = True
        if self.metrics:
            data["metrics"] = list(self.metrics)
        return data


class ExecutedCells:
    """The executed-cell log of one run, in execution order.

    Examples:
        >>> log = ExecutedCells()
        >>> log.record(0, "x = 1", 1, "a1")
        >>> log.to_json()["cells"][0]["source"]
        'x = 1'
    """

    VERSION = 1

    def __init__(self, cells: Sequence[ExecutedCell] = ()) -> None:
        self._cells: list[ExecutedCell] = list(cells)

    def record(
        self,
        index: int,
        source: str,
        execution_count: int | None,
        cell_id: str | None = None,
        error: Mapping[str, str] | None = None,
        metrics: tuple[str, ...] = (),
    ) -> None:
        """Append one executed cell.

        Args:
            index: position in this run's execution order (0-based).
            source: the cell's source as it ran.
            execution_count: IPython's execution count (None when unknown).
            cell_id: the notebook cell id when the front end sends it (JupyterLab does; papermill does not).
            error: ``{"ename", "evalue"}`` when the cell raised.
            metrics: keys of the metrics the cell logged.
        """
        self._cells.append(ExecutedCell(index, source, execution_count, cell_id, error, metrics=metrics))

    def add_metrics(self, metrics: tuple[str, ...]) -> None:
        """Add metric keys to the last cell: it was logged before it finished (the cell loading the extension)."""
        if self._cells and metrics:
            last = self._cells[-1]
            self._cells[-1] = replace(last, metrics=tuple(sorted({*last.metrics, *metrics})))

    @property
    def cells(self) -> list[ExecutedCell]:
        """The executed cells, in execution order."""
        return list(self._cells)

    def __len__(self) -> int:
        return len(self._cells)

    def __iter__(self) -> Iterator[ExecutedCell]:
        return iter(self._cells)

    def since(self, start: int, context: Sequence[int] = ()) -> ExecutedCells:
        """One run's log: the ``context`` cells (positions before ``start``) then every cell from ``start`` on.

        Cells are renumbered in the new order; context cells are marked ``context``.

        Example:
            >>> log = ExecutedCells([ExecutedCell(0, "a = 1"), ExecutedCell(1, "b = 2"), ExecutedCell(2, "print(a)")])
            >>> [(c.index, c.source, c.context) for c in log.since(2, [0])]
            [(0, 'a = 1', True), (1, 'print(a)', False)]
        """
        chosen = [replace(self._cells[i], context=True) for i in context] + self._cells[start:]
        return ExecutedCells([replace(cell, index=position) for position, cell in enumerate(chosen)])

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready code snapshot: ``{"version": 1, "cells": [{index, source, execution_count, cell_id}]}``.

        A cell that raised also has ``error``; a context cell has ``context: true``.
        """
        return {"version": self.VERSION, "cells": [cell.to_json() for cell in self._cells]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExecutedCells:
        """Inverse of :meth:`to_json`; tolerates missing optional fields."""
        cells = [
            ExecutedCell(
                int(item.get("index") if item.get("index") is not None else position),
                str(item.get("source", "")),
                item.get("execution_count"),
                item.get("cell_id"),
                item.get("error") if isinstance(item.get("error"), Mapping) else None,
                bool(item.get("context", False)),
                tuple(str(key) for key in item.get("metrics") or () if isinstance(key, str)),
            )
            for position, item in enumerate(data.get("cells", []))
        ]
        return cls(cells)


def notebook_snapshot(path: str | os.PathLike[str], max_bytes: int = MAX_SNAPSHOT_BYTES) -> bytes | None:
    """The notebook file's bytes, or None (one warning) when it is missing, unreadable or too large."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            logger.warning("notebook %s not snapshotted: %d bytes exceeds %d", path, size, max_bytes)
            return None
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        logger.warning("notebook %s not snapshotted: %s", path, exc.strerror or exc)
        return None


def notebook_cells(data: bytes | str) -> list[dict[str, Any]] | None:
    """The cells of a saved notebook as plain dicts: ``{id, cell_type, source, execution_count, tags}``.

    Args:
        data: the notebook file's content (e.g. from :func:`notebook_snapshot`).

    Returns:
        One dict per cell in file order, or None (one warning) when the content is not a notebook.
    """
    try:
        notebook = json.loads(data)
        cells = []
        for cell in notebook["cells"]:
            source = cell.get("source", "")
            cells.append(
                {
                    "id": cell.get("id"),
                    "cell_type": cell.get("cell_type", "code"),
                    "source": "".join(source) if isinstance(source, list) else str(source),
                    "execution_count": cell.get("execution_count"),
                    "tags": list(cell.get("metadata", {}).get("tags", [])),
                }
            )
        return cells
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("not a readable notebook: %s", exc)
        return None


def _norm(source: str) -> str:
    # Front ends differ in trailing newlines/whitespace; those never change what code does.
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines())


def _code_cells(cells: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(position, cell) for position, cell in enumerate(cells) if cell.get("cell_type", "code") == "code"]


def _file_positions(log: ExecutedCells, cells: Sequence[Mapping[str, Any]]) -> list[int]:
    """The file position of each executed cell that can be matched unambiguously (by id, else by source)."""
    code = _code_cells(cells)
    by_id = {cell["id"]: position for position, cell in code if cell.get("id")}
    by_source: dict[str, list[int]] = {}
    for place, cell in code:
        by_source.setdefault(_norm(str(cell.get("source", ""))), []).append(place)
    positions: list[int] = []
    for entry in log:
        position: int | None = by_id.get(entry.cell_id) if entry.cell_id else None
        if position is None:
            candidates = by_source.get(_norm(entry.source), [])
            position = candidates[0] if len(candidates) == 1 else None
        if position is not None:
            positions.append(position)
    return positions


def _counts_out_of_order(cells: Sequence[Mapping[str, Any]]) -> bool:
    counts = [cell.get("execution_count") for _, cell in _code_cells(cells)]
    numbers = [count for count in counts if isinstance(count, int)]
    return any(later < earlier for earlier, later in zip(numbers, numbers[1:], strict=False))


def _cells_rerun(log: ExecutedCells, notebook_cells: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether a cell ran more than once: by cell id, else by source.

    Without cell ids (papermill, nbclient) two different cells with the same source (``df.head()`` twice) are
    indistinguishable; when the saved notebook is known, a source may run as often as cells hold it.
    """
    holders: dict[str, int] = {}
    for _, cell in _code_cells(notebook_cells or ()):
        text = _norm(str(cell.get("source", "")))
        holders[text] = holders.get(text, 0) + 1
    runs: dict[tuple[str, str], int] = {}
    for entry in log:
        key = ("id", entry.cell_id) if entry.cell_id else ("source", _norm(entry.source))
        if not key[1]:
            continue  # blank cells carry no state
        runs[key] = runs.get(key, 0) + 1
        allowed = max(1, holders.get(key[1], 0)) if key[0] == "source" else 1
        if runs[key] > allowed:
            return True
    return False


def notebook_state_flags(
    log: ExecutedCells,
    notebook_cells: Sequence[Mapping[str, Any]] | None,
    restarted: bool,
) -> dict[str, bool]:
    """The notebook-state flags of a run.

    Args:
        log: what ran, in order.
        notebook_cells: the saved notebook's cells (``{id, source, execution_count}``, optionally ``cell_type``),
            or None when the notebook file is unknown.
        restarted: whether the kernel restarted during the run.

    Returns:
        ``{"out_of_order", "edited_after_run", "kernel_restarted", "cells_rerun"}``. Without the notebook file,
        ``out_of_order`` and ``edited_after_run`` are False (there is nothing to compare against).
    """
    rerun = _cells_rerun(log, notebook_cells)
    out_of_order = edited = False
    if notebook_cells is not None:
        positions = _file_positions(log, notebook_cells)
        if positions:
            out_of_order = any(later < earlier for earlier, later in zip(positions, positions[1:], strict=False))
        else:
            # Nothing matched (no ids, every source changed): the saved execution counts are the best witness.
            out_of_order = _counts_out_of_order(notebook_cells)
        saved = {cell["id"]: _norm(str(cell.get("source", ""))) for cell in notebook_cells if cell.get("id")}
        last_run = {entry.cell_id: _norm(entry.source) for entry in log if entry.cell_id}
        edited = any(cell_id in saved and saved[cell_id] != source for cell_id, source in last_run.items())
    return {
        "out_of_order": out_of_order,
        "edited_after_run": edited,
        "kernel_restarted": bool(restarted),
        "cells_rerun": rerun,
    }


#: Most cell numbers kept per flag: enough to find the cells, bounded for a run that executed thousands.
MAX_FLAG_CELLS = 50


def notebook_state_cells(
    log: ExecutedCells, notebook_cells: Sequence[Mapping[str, Any]] | None
) -> dict[str, list[int]]:
    """Which cells raised each flag, as 1-based positions in the saved notebook.

    Markdown cells are counted, as a reader counts cells from the top of the notebook.
    ``out_of_order`` lists the run's cells in the order they ran (``[4, 2, 5]``), ``edited_after_run`` the cells
    whose saved source differs from what ran, ``cells_rerun`` the cells that ran more than once. A flag raised
    without the saved file, or from cells that cannot be matched to it, has no entry: the flag still stands.
    """
    if not notebook_cells:
        return {}
    positions = _file_positions(log, notebook_cells)
    found: dict[str, list[int]] = {}
    if any(later < earlier for earlier, later in zip(positions, positions[1:], strict=False)):
        found["out_of_order"] = [position + 1 for position in positions[:MAX_FLAG_CELLS]]
    place = {cell["id"]: position for position, cell in _code_cells(notebook_cells) if cell.get("id")}
    last_run = {entry.cell_id: _norm(entry.source) for entry in log if entry.cell_id}
    edited = sorted(place[cell_id] + 1 for cell_id, source in last_run.items()
                    if cell_id in place and _norm(str(notebook_cells[place[cell_id]].get("source", ""))) != source)
    if edited:
        found["edited_after_run"] = edited[:MAX_FLAG_CELLS]
    seen: dict[int, int] = {}
    for position in positions:
        seen[position] = seen.get(position, 0) + 1
    rerun = sorted(position + 1 for position, times in seen.items() if times > 1)
    if rerun:
        found["cells_rerun"] = rerun[:MAX_FLAG_CELLS]
    return found


Names = tuple[frozenset[str], frozenset[str]]


def context_cells(names: Sequence[Names | None], start: int) -> list[int]:
    """The cells before ``start`` that bound what the run read: the run's context, in execution order.

    For each name a run cell reads and no earlier run cell bound, the latest cell before ``start`` that bound it
    is context; then, the same way, for the names that context cell reads among the cells before it. A cell that
    both reads and binds a name (``df = df.dropna()``) still reads it, so context errs on including a cell.

    Args:
        names: ``(names read, names bound)`` of each cell of the kernel's history, None where unknown
            (a cell that does not parse binds nothing we can see).
        start: position of the run's first cell in that history.

    Returns:
        Positions before ``start``, ascending.

    Example:
        >>> n = lambda reads, binds: (frozenset(reads), frozenset(binds))
        >>> history = [n("", "pd"), n("pd", "df"), n("", "C"), n("", "C"), n("", "x"), n("df C", "model")]
        >>> context_cells(history, 5)
        [0, 1, 3]
    """
    wanted: list[tuple[str, int]] = []
    bound_by_run: set[str] = set()
    for position in range(start, len(names)):
        entry = names[position]
        if entry is None:
            continue
        wanted.extend((name, start) for name in entry[0] - bound_by_run)
        bound_by_run |= entry[1]
    chosen: set[int] = set()
    asked: set[tuple[str, int]] = set()
    while wanted:
        name, before = wanted.pop()
        if (name, before) in asked:
            continue
        asked.add((name, before))
        for position in range(before - 1, -1, -1):
            entry = names[position]
            if entry is not None and name in entry[1]:
                if position not in chosen:
                    chosen.add(position)
                    wanted.extend((read, position) for read in entry[0])
                break
    return sorted(chosen)

"""What nbformat's schema cannot see, or only warns about: cell ids and the parts of the format it does not know.

nbformat's ``validate`` *repairs* a duplicate cell id (and a missing one in a 4.5 notebook) with a random id and
says so through a raw Python warning, so a tool that validates through it writes a different file on every run.
:mod:`.io` validates without repairing; these checks then see the notebook as it is on disk, and each command says
what they find in its own words: ``lint`` as findings (``NB009``, ``NB010``), ``diff`` and ``clean`` as one-line
notes, and ``clean`` refuses duplicate ids (see ADR-031 in docs/decisions.md).

A notebook whose minor version is newer than the installed nbformat knows is validated with a relaxed schema
that lets unknown cell and output types through (nbformat's forward compatibility), so those are reported here too.
"""

from __future__ import annotations

from typing import Any

#: Cell types of nbformat 4; anything else only passes validation under a minor version newer than nbformat knows.
KNOWN_CELL_TYPES = ("code", "markdown", "raw")

#: Output types of nbformat 4.
KNOWN_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")

_IDS_SINCE_MINOR = 5


def known_minor() -> int:
    """The newest nbformat 4 minor version the installed nbformat has a schema for."""
    from nbformat.v4 import nbformat_minor

    return int(nbformat_minor)


def _cells(nb: Any) -> list[tuple[int, Any]]:
    """``(index, cell)`` for each cell that is a mapping (indices as in the file)."""
    cells = nb.get("cells", [])
    return [(i, c) for i, c in enumerate(cells) if isinstance(c, dict)] if isinstance(cells, list) else []


def _minor(nb: Any) -> int | None:
    minor = nb.get("nbformat_minor")
    return minor if isinstance(minor, int) and not isinstance(minor, bool) else None


def duplicate_cell_ids(nb: Any) -> dict[str, list[int]]:
    """Ids used by more than one cell, each with the 0-based indices of the cells using it (notebook order)."""
    where: dict[str, list[int]] = {}
    for index, cell in _cells(nb):
        cell_id = cell.get("id")
        if isinstance(cell_id, str):
            where.setdefault(cell_id, []).append(index)
    return {cell_id: indices for cell_id, indices in where.items() if len(indices) > 1}


def cells_without_id(nb: Any) -> list[int]:
    """Indices of cells with no id in a notebook whose minor version (4.5 and later) requires one."""
    minor = _minor(nb)
    if minor is None or minor < _IDS_SINCE_MINOR:
        return []
    return [index for index, cell in _cells(nb) if "id" not in cell]


def unknown_minor(nb: Any) -> int | None:
    """The notebook's minor version when it is newer than the installed nbformat knows, else None."""
    minor = _minor(nb)
    return minor if minor is not None and minor > known_minor() else None


def unknown_cell_types(nb: Any) -> list[tuple[int, str]]:
    """``(cell index, cell type)`` for cells whose type is not code, markdown or raw."""
    return [(index, str(cell.get("cell_type"))) for index, cell in _cells(nb)
            if cell.get("cell_type") not in KNOWN_CELL_TYPES]


def unknown_output_types(nb: Any) -> list[tuple[int, int, str]]:
    """``(cell index, output index, output type)`` for outputs of a type nbformat 4 does not define."""
    found = []
    for index, cell in _cells(nb):
        outputs = cell.get("outputs", [])
        for number, output in enumerate(outputs if isinstance(outputs, list) else []):
            if isinstance(output, dict) and output.get("output_type") not in KNOWN_OUTPUT_TYPES:
                found.append((index, number, str(output.get("output_type"))))
    return found


def validation_problem(nb: Any) -> str | None:
    """``"<where>: <message>"`` for the first nbformat schema error in ``nb``, or None; ``nb`` is never modified.

    ``nbformat.validator.iter_validate`` rather than ``validate``: ``validate`` first "repairs" the notebook in
    place, giving a duplicate id (and a missing one in a 4.5 notebook) a random new id with a raw warning on
    stderr. A missing id is accepted, as ``validate`` accepts it: the schema sees a placeholder, the notebook
    keeps none. An unknown cell type gets a short message instead of jsonschema's, which repeats the whole cell.
    """
    from nbformat.validator import iter_validate

    missing = set(cells_without_id(nb))
    if missing:
        nb = {**nb, "cells": [{**c, "id": "missing"} if i in missing else c for i, c in enumerate(nb["cells"])]}
    error = next(iter_validate(nb), None)
    if error is None:
        return None
    path = list(error.absolute_path)
    where = "/".join(str(p) for p in path) or "top level"
    if len(path) == 2 and path[0] == "cells":
        for index, kind in unknown_cell_types(nb):
            if index == path[1]:
                return f"{where}: unknown cell type {kind!r} (nbformat 4 knows {', '.join(KNOWN_CELL_TYPES)})"
    return f"{where}: {error.message}"


def _cell_list(indices: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" and {len(indices) - limit} more" if len(indices) > limit else "")


def duplicate_id_message(cell_id: str, indices: list[int]) -> str:
    """One line naming a duplicate id and its cells."""
    return f"cell id {cell_id!r} is used by cells {_cell_list(indices)}: cell ids must be unique"


def missing_ids_message(indices: list[int]) -> str:
    """One line for cells without an id."""
    return (f"{len(indices)} cell(s) have no id (cells {_cell_list(indices)}); nbformat 4.5 requires one "
            "(Jupyter adds them when it saves)")


def unknown_minor_message(minor: int) -> str:
    """One line for a minor version newer than nbformat knows."""
    return (f"nbformat 4.{minor} is newer than the installed nbformat knows (4.{known_minor()}): it was checked "
            "against a relaxed schema; upgrade nbformat")


def notes(nb: Any) -> list[str]:
    """Everything above as one-line notes, for commands that read a notebook without linting it."""
    found = [duplicate_id_message(cell_id, indices) for cell_id, indices in duplicate_cell_ids(nb).items()]
    missing = cells_without_id(nb)
    if missing:
        found.append(missing_ids_message(missing))
    minor = unknown_minor(nb)
    if minor is not None:
        found.append(unknown_minor_message(minor))
    found.extend(f"cell {index}: unknown cell type {kind!r}" for index, kind in unknown_cell_types(nb))
    return found

"""jupytext's ``active`` cell markers: which cells the ``.py`` targets run (one rule for ``--to script`` and package).

jupytext lets a cell say where it runs: metadata ``"active": "ipynb"`` (or a tag ``active-ipynb``) keeps a code
cell out of the ``.py`` (jupytext comments it out), ``"active": "py"`` on a raw cell makes it code in the ``.py``,
and a ``run_control.frozen`` cell runs in neither but is kept in the notebook. Both ``.py`` targets follow the
same rule as :func:`jupytext.cell_metadata.is_active` (re-stated here so the package target need not import
jupytext): a code cell not active in ``py`` becomes a comment, a raw cell active in ``py`` becomes code.

Such markers make the ``.py`` compute something else than the notebook on purpose; :func:`active_notes` names
the cells so the conversion can say so.
"""

from __future__ import annotations

import re
from typing import Any

#: the extension the converted targets are written for, as jupytext spells it without the dot
_PY = "py"
#: metadata key :func:`py_view` sets on a code cell that the ``.py`` keeps only as a comment
INACTIVE = "jupyter_mlops_inactive"


def _marker(metadata: Any) -> str | None:
    """The cell's ``active`` marker as jupytext reads it (``frozen``, a tag ``active-...``, or the metadata key)."""
    if (metadata.get("run_control") or {}).get("frozen") is True:
        return "frozen"
    for tag in metadata.get("tags", []) or []:
        if isinstance(tag, str) and tag.startswith("active-"):
            return tag
    active = metadata.get("active")
    return None if active is None else str(active)


def active_in_py(cell: Any) -> bool:
    """True when the ``.py`` targets run this cell as code (code cells by default, raw cells only if marked)."""
    metadata = cell.get("metadata", {}) or {}
    marker = _marker(metadata)
    if marker is None:
        return bool(cell.get("cell_type") == "code")
    if marker == "frozen":
        return False
    if marker.startswith("active-"):
        return _PY in marker.split("-")[1:]
    return _PY in re.split(r"\.|,", marker)


def py_view(cell: Any) -> Any:
    """The cell as the ``.py`` targets see it (unmarked cells are returned unchanged).

    A code cell that does not run there reads as ``raw`` (with :data:`INACTIVE` set in its metadata), a raw cell
    that does as ``code``.
    """
    kind = cell.get("cell_type")
    if kind not in ("code", "raw") or (kind == "code") == active_in_py(cell):
        return cell
    view = type(cell)(cell)
    view["cell_type"] = "code" if kind == "raw" else "raw"
    view["metadata"] = {**(cell.get("metadata") or {}), INACTIVE: kind == "code"}
    return view


def active_notes(cells: list[Any]) -> list[str]:
    """One phrase per cell whose ``active`` marker makes the ``.py`` differ from the notebook's run."""
    notes = []
    for index, cell in enumerate(cells):
        kind = cell.get("cell_type")
        marker = _marker(cell.get("metadata", {}) or {})
        if marker is None or kind not in ("code", "raw") or (kind == "code") == active_in_py(cell):
            continue
        label = marker if marker == "frozen" or marker.startswith("active-") else f"active: {marker}"
        if kind == "code":
            notes.append(f"cell {index} runs only in the notebook ({label})")
        else:
            notes.append(f"raw cell {index} runs only in the .py ({label})")
    return notes

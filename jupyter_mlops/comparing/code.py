"""The compare's code section: each run's executed code against the baseline's, through the one notebook diff.

A snapshot lists the cells a run executed, in execution order: ``{"cells": [{"index", "execution_count",
"source", "cell_id"}, ...]}``. Both snapshots become notebooks of code cells
(:func:`jupyter_mlops.notebooks.diff.notebook_from_code_snapshot`) and go through the same engine as
``jupyter-mlops diff RUN RUN`` and ``GET diff`` (:func:`jupyter_mlops.notebooks.diff.diff_notebooks`, default
options: sources and cell types, no noise), so a compare and a diff of the same two runs list the same cell
changes (ADR-042). Each change is the engine's cell record (documented in ``docs/hygiene.md``); its ``a_index`` and
``b_index`` count executed cells in execution order, from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def snapshot_cells(code: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The executed cells of a code snapshot, normalised to dicts with ``index`` and ``source`` (str).

    A cell without an ``index`` gets its position in execution order; a list-of-lines source (nbformat style) is
    joined.
    """
    if not code:
        return []
    cells = code.get("cells") or []
    out = []
    for position, cell in enumerate(cells):
        if not isinstance(cell, Mapping):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        index = cell.get("index")
        out.append({**cell, "source": str(source), "index": index if isinstance(index, int) else position})
    return out


def cell_changes(
    baseline: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """Cells added, removed or changed between two executed-cell lists (as returned by :func:`snapshot_cells`).

    Args:
        baseline: the baseline run's executed cells.
        other: the compared run's executed cells.

    Returns:
        The engine's cell records (``change``, ``a_index``, ``b_index``, ``a_source``, ``b_source``,
        ``source_diff``, ...), in notebook order.

    Example:
        >>> a = [{"index": 0, "source": "x = 1"}, {"index": 1, "source": "print(x)"}]
        >>> b = [{"index": 0, "source": "x = 2"}, {"index": 1, "source": "print(x)"}]
        >>> [c["change"] for c in cell_changes(a, b)]
        ['changed']
    """
    if [c["source"] for c in baseline] == [c["source"] for c in other]:
        # Same sources in the same order: nothing the default options compare can differ, so skip nbdime's import.
        return ()
    from jupyter_mlops.notebooks.io import import_nbformat

    import_nbformat()  # before nbdime imports nbformat: skips a second of jsonschema grammar building
    from jupyter_mlops.notebooks.diff import DiffOptions, diff_notebooks, notebook_from_code_snapshot

    old = notebook_from_code_snapshot({"cells": list(baseline)}, origin="baseline code snapshot")
    new = notebook_from_code_snapshot({"cells": list(other)}, origin="code snapshot")
    return tuple(diff_notebooks(old, new, DiffOptions(), summary=False).changes)

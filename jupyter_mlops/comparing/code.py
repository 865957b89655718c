"""Cell-level diff of two executed-code snapshots.

A snapshot lists the cells a run executed, in execution order: ``{"cells": [{"index", "execution_count",
"source", "cell_id"}, ...]}``. Cells are matched on their sources with :class:`difflib.SequenceMatcher`: equal runs
of cells are skipped, and inside a replaced block an old and a new cell are paired as *changed* when their sources
are similar enough (:data:`SIMILARITY`), otherwise they are reported as *removed* and *added*. Each changed cell
carries a unified diff of its source.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_mlops.comparing.model import CellChange

#: Two cell sources at least this similar (difflib ratio) are one changed cell rather than a removal plus an addition.
SIMILARITY = 0.5


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


def cell_changes(baseline: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]]) -> tuple[CellChange, ...]:
    """Cells added, removed or changed between two executed-cell lists (as returned by :func:`snapshot_cells`).

    Args:
        baseline: the baseline run's executed cells.
        other: the compared run's executed cells.

    Returns:
        The changes in the order they occur in the runs' execution.

    Example:
        >>> a = [{"index": 0, "source": "x = 1"}, {"index": 1, "source": "print(x)"}]
        >>> b = [{"index": 0, "source": "x = 2"}, {"index": 1, "source": "print(x)"}]
        >>> [c.change for c in cell_changes(a, b)]
        ['changed']
    """
    old = [c["source"] for c in baseline]
    new = [c["source"] for c in other]
    changes: list[CellChange] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes.extend(_pair_block(baseline[i1:i2], other[j1:j2]))
    return tuple(changes)


def _pair_block(olds: Sequence[Mapping[str, Any]], news: Sequence[Mapping[str, Any]]) -> list[CellChange]:
    # Order-preserving greedy pairing: each old cell takes the first similar new cell after the last one paired;
    # new cells skipped over on the way are additions. Blocks are small, so the quadratic worst case is cheap.
    out: list[CellChange] = []
    j = 0
    for old in olds:
        match = next((k for k in range(j, len(news)) if _similar(old["source"], news[k]["source"])), None)
        if match is None:
            out.append(_removed(old))
            continue
        out.extend(_added(new) for new in news[j:match])
        out.append(_changed(old, news[match]))
        j = match + 1
    out.extend(_added(new) for new in news[j:])
    return out


def _similar(a: str, b: str) -> bool:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds reject most unrelated pairs before the full ratio is computed.
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and matcher.ratio() >= SIMILARITY
    )


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """A unified diff of two sources without trailing newlines on the lines."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
    )
    return "\n".join(lines)


def _removed(cell: Mapping[str, Any]) -> CellChange:
    return CellChange(
        change="removed",
        baseline_index=cell["index"],
        index=None,
        baseline_source=cell["source"],
        source=None,
        diff=unified_diff(cell["source"], "", f"baseline cell {cell['index']}", "(removed)"),
    )


def _added(cell: Mapping[str, Any]) -> CellChange:
    return CellChange(
        change="added",
        baseline_index=None,
        index=cell["index"],
        baseline_source=None,
        source=cell["source"],
        diff=unified_diff("", cell["source"], "(added)", f"cell {cell['index']}"),
    )


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> CellChange:
    return CellChange(
        change="changed",
        baseline_index=old["index"],
        index=new["index"],
        baseline_source=old["source"],
        source=new["source"],
        diff=unified_diff(old["source"], new["source"], f"baseline cell {old['index']}", f"cell {new['index']}"),
    )

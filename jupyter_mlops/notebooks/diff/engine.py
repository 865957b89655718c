"""Notebook diff without the noise: clean copies with :mod:`..clean`, then ``nbdime.diffing.notebooks.diff_notebooks``.

Noise is removed from COPIES of the inputs before nbdime sees them, so nbdime's global differ table is never
touched (``set_notebook_diff_ignores`` mutates module state shared by everything in the process). What is noise
is chosen per call with an explicit :class:`DiffOptions`. The result is plain data (:meth:`NotebookDiff.to_dict`):
nbdime's diff format, a cell-level change list that renderers (:mod:`.render`) consume, and the
experimenter's summary from :mod:`..summary`. Run ids are resolved by the caller (:mod:`jupyter_mlops.app.diff`):
a run's executed-code snapshot becomes a notebook with :func:`notebook_from_code_snapshot`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import InvalidInput, NotebookError
from jupyter_mlops.notebooks.clean import CleanOptions, clean_notebook
from jupyter_mlops.notebooks.diff.outputs import attachment_changes, output_changes, sequence_changes, unified_diff
from jupyter_mlops.notebooks.summary import cell_source, summarize


@dataclass(frozen=True)
class DiffOptions:
    """What a diff compares beyond cell sources and types.

    Attributes:
        outputs: include outputs (their execution counts still count as noise).
        sources_only: compare only cell sources and types (no outputs, no metadata, no tags).
        metadata: include all metadata, execution counts and cell ids (everything nbdime would see).
    """

    outputs: bool = False
    sources_only: bool = False
    metadata: bool = False

    def __post_init__(self) -> None:
        if self.sources_only and (self.outputs or self.metadata):
            raise InvalidInput("--sources-only cannot be combined with --outputs or --metadata")

    def clean_options(self) -> CleanOptions:
        """The :class:`CleanOptions` that turn an input into what this diff compares."""
        if self.sources_only:
            return CleanOptions(all_metadata=True, cell_ids=True, honour_keep_output=False)
        if self.metadata:
            return CleanOptions(outputs=not self.outputs, execution_counts=False, volatile_metadata=False,
                                honour_keep_output=False)
        return CleanOptions(outputs=not self.outputs, cell_ids=True, honour_keep_output=False)


@dataclass
class NotebookDiff:
    """The result of :func:`diff_notebooks`.

    Attributes:
        a: label of the old side (a path, ``REV:path`` or ``run:<id>``).
        b: label of the new side.
        diff: nbdime's diff (list of diff entries, plain dicts).
        changes: one entry per added, removed or changed cell, in notebook order.
        metadata_changes: changed top-level notebook metadata keys.
        summary: parameter and data-path changes (see :func:`.summary.summarize`).
    """

    a: str
    b: str
    diff: list[dict[str, Any]]
    changes: list[dict[str, Any]] = field(default_factory=list)
    metadata_changes: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        """True when nothing the options compare differs."""
        return not self.diff

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``--format json`` prints)."""
        return {
            "a": self.a,
            "b": self.b,
            "identical": self.identical,
            "summary": self.summary,
            "changes": self.changes,
            "metadata_changes": self.metadata_changes,
            "diff": _plain(self.diff),
        }


def diff_notebooks(a: Any, b: Any, options: DiffOptions, labels: tuple[str, str] = ("a", "b"), *,
                   summary: bool = True) -> NotebookDiff:
    """Diff two notebooks, ignoring what ``options`` calls noise. Neither input is modified.

    Args:
        a: the old notebook (``NotebookNode``).
        b: the new notebook.
        options: what to compare.
        labels: how to name the two sides in the result.
        summary: also compute the parameters/data-paths summary (it parses every code cell; the compare, which
            shows only the cell changes, leaves it empty).

    Returns:
        A :class:`NotebookDiff`.

    Example:
        >>> import nbformat.v4 as v4
        >>> old = v4.new_notebook(cells=[v4.new_code_cell("x = 1", execution_count=1)])
        >>> new = v4.new_notebook(cells=[v4.new_code_cell("x = 1", execution_count=7)])
        >>> diff_notebooks(old, new, DiffOptions()).identical
        True
    """
    clean = options.clean_options()
    left, right = clean_notebook(a, clean), clean_notebook(b, clean)
    if clean.cell_ids:
        assign_match_keys(a.get("cells", []), b.get("cells", []), left["cells"], right["cells"])
    entries = nbdime_diff_anchored(left, right)
    result = NotebookDiff(a=labels[0], b=labels[1], diff=entries, summary=summarize(a, b) if summary else {})
    for entry in entries:
        if entry["key"] == "cells":
            result.changes = cell_changes(left["cells"], right["cells"], entry["diff"])
        elif entry["key"] == "metadata":
            result.metadata_changes = mapping_changes(left.get("metadata", {}), right.get("metadata", {}))
    return result


def assign_match_keys(cells_a: list[Any], cells_b: list[Any], left: list[Any], right: list[Any]) -> None:
    """Give the cleaned copies ``left``/``right`` ids that say which cells are the same cell, for nbdime.

    nbdime pairs cells by id first and falls back to comparing every cell with every other one in the unmatched
    stretches (quadratic, seconds for a few hundred cells). Real ids are noise in the output but a good match:
    an id present once on each side is kept. The remaining cells with identical type and source are paired
    in order (``difflib``) under synthetic keys (``~N``, which no real id can spell). Cells left unmatched get no
    id, so nbdime compares them by content and never reports an id change.
    """
    def unique(cells: list[Any]) -> dict[str, int]:
        ids = [c.get("id") for c in cells]
        return {i: k for k, i in enumerate(ids) if isinstance(i, str) and ids.count(i) == 1}

    seen_a, seen_b = unique(cells_a), unique(cells_b)
    keys_a: list[str | None] = [None] * len(left)
    keys_b: list[str | None] = [None] * len(right)
    for cell_id in seen_a.keys() & seen_b.keys():
        keys_a[seen_a[cell_id]] = keys_b[seen_b[cell_id]] = cell_id
    rest_a = [k for k, key in enumerate(keys_a) if key is None]
    rest_b = [k for k, key in enumerate(keys_b) if key is None]
    matcher = difflib.SequenceMatcher(None, [_signature(left[k]) for k in rest_a],
                                      [_signature(right[k]) for k in rest_b], autojunk=False)
    number = 0
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            keys_a[rest_a[block.a + offset]] = keys_b[rest_b[block.b + offset]] = f"~{number}"
            number += 1
    for cells, keys in ((left, keys_a), (right, keys_b)):
        for cell, key in zip(cells, keys, strict=True):
            if key is None:
                cell.pop("id", None)
            else:
                cell["id"] = key


def _signature(cell: Any) -> tuple[str, str]:
    return (str(cell.get("cell_type", "")), cell_source(cell))


def nbdime_diff_anchored(left: Any, right: Any) -> list[Any]:
    """The notebook diff of nbdime, computed stretch by stretch between cells with the same id.

    ``nbdime.diffing.notebooks.diff_notebooks`` compares every cell id with every other (a quadratic grid: ~2 s
    for 500 cells). Cells whose ids match in order (a ``difflib`` alignment, linear for similar notebooks) are
    diffed pairwise with nbdime's cell differ; only the stretches between them go through nbdime's sequence
    differ. The result is in nbdime's diff format, as if nbdime had diffed the whole notebooks.
    """
    from nbdime.diff_format import op_patch
    from nbdime.diffing.notebooks import diff_item_at_path, diff_notebooks

    cells_a, cells_b = left.get("cells", []), right.get("cells", [])
    top = diff_notebooks({**left, "cells": []}, {**right, "cells": []})
    keys_a = [c.get("id") or object() for c in cells_a]  # a fresh object() never equals anything
    keys_b = [c.get("id") or object() for c in cells_b]
    anchors = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_matching_blocks()
    entries: list[Any] = []
    i = j = 0
    for block in anchors:
        if block.a > i or block.b > j:
            for entry in diff_item_at_path(cells_a[i:block.a], cells_b[j:block.b], "/cells"):
                entries.append({**entry, "key": entry["key"] + i})
        for offset in range(block.size):
            if cells_a[block.a + offset] == cells_b[block.b + offset]:
                continue  # equal cells have an empty diff: skip nbdime's walk over them (most cells of a rerun)
            cell_diff = diff_item_at_path(cells_a[block.a + offset], cells_b[block.b + offset], "/cells/*")
            if cell_diff:
                entries.append(op_patch(block.a + offset, cell_diff))
        i, j = block.a + block.size, block.b + block.size
    if entries:
        top.append(op_patch("cells", entries))
    return sorted(top, key=lambda entry: str(entry["key"]))


def cell_changes(cells_a: list[Any], cells_b: list[Any], entries: list[Any]) -> list[dict[str, Any]]:
    """Turn nbdime's sequence diff of ``/cells`` into one record per added, removed or changed cell."""
    patches = {entry["key"]: entry["diff"] for entry in entries if entry["op"] == "patch"}
    return [_cell_record(change, i, j, cells_a[i] if i is not None else None, cells_b[j] if j is not None else None,
                         patches.get(i, []) if change == "changed" else [])
            for change, i, j in sequence_changes(entries)]


def _cell_record(change: str, a_index: int | None, b_index: int | None, old: Any, new: Any,
                 patch: list[Any]) -> dict[str, Any]:
    old_source = cell_source(old) if old is not None else ""
    new_source = cell_source(new) if new is not None else ""
    cell = new if new is not None else old
    # nbdime already diffed this cell's outputs as part of the notebook: reuse that sequence diff
    outputs_diff = next((e["diff"] for e in patch if e["key"] == "outputs" and e["op"] == "patch"), None)
    outputs = output_changes((old or {}).get("outputs", []), (new or {}).get("outputs", []), outputs_diff)
    record: dict[str, Any] = {
        "change": change,
        "a_index": a_index,
        "b_index": b_index,
        "cell_type": cell.get("cell_type", "code"),
        "a_source": old_source if old is not None else None,
        "b_source": new_source if new is not None else None,
        "source_diff": unified_diff(old_source, new_source) if old_source != new_source else "",
        "outputs_changed": bool(outputs),
        "output_changes": outputs,
        "attachment_changes": attachment_changes((old or {}).get("attachments"), (new or {}).get("attachments")),
        "metadata_changes": [],
        "other_changes": [],
    }
    if change == "changed":
        record["metadata_changes"] = mapping_changes(old.get("metadata", {}), new.get("metadata", {}))
        if old.get("cell_type") != new.get("cell_type"):
            record["other_changes"].append({"key": "cell_type", "old": old.get("cell_type"), "new": cell["cell_type"]})
        for key in ("execution_count", "id"):
            if old.get(key) != new.get(key):
                record["other_changes"].append({"key": key, "old": old.get(key), "new": new.get(key)})
    return record


def mapping_changes(old: Any, new: Any) -> list[dict[str, Any]]:
    """Top-level key changes between two metadata dicts: ``[{"key", "old", "new"}]`` (missing side = None)."""
    keys = [*old, *(k for k in new if k not in old)]
    return [{"key": k, "old": _plain(old.get(k)), "new": _plain(new.get(k))} for k in keys if old.get(k) != new.get(k)]


def notebook_from_code_snapshot(snapshot: Any, origin: str = "code snapshot") -> Any:
    """Build a notebook of code cells from a run's executed-code snapshot.

    Args:
        snapshot: ``{"cells": [{"index", "execution_count", "source", "cell_id"}]}`` as stored by the tracker
            (cells in execution order).
        origin: how to name the snapshot in errors.

    Returns:
        An nbformat v4 ``NotebookNode`` with one code cell per executed cell, keeping execution counts and the
        recorded cell ids (a cell without one has no id).

    Raises:
        NotebookError: the snapshot does not have that shape.
    """
    from nbformat import from_dict

    cells = snapshot.get("cells") if isinstance(snapshot, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{origin}: not a code snapshot (no 'cells' list)")
    # Built as plain dicts: nbformat's new_code_cell validates every cell against the schema (~1 ms each, most of
    # a compare's time for ten 30-cell runs), and these cells are valid by construction.
    built = []
    for position, item in enumerate(cells):
        source = item.get("source", "") if isinstance(item, dict) else None
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)  # nbformat's list-of-lines form
        if not isinstance(source, str):
            raise NotebookError(f"{origin}: cell {position} is not a code-snapshot entry")
        count = item.get("execution_count")
        cell: dict[str, Any] = {"cell_type": "code", "execution_count": count if isinstance(count, int) else None,
                                "metadata": {}, "outputs": [], "source": source}
        cell_id = item.get("cell_id")
        # No id recorded (papermill sends none): an invented id would pair cells by position, and a random one
        # would show as an id change; without one, the engine pairs the cell by its content.
        if isinstance(cell_id, str) and cell_id:
            cell["id"] = cell_id
        built.append(cell)
    return from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": built})  # type: ignore[no-untyped-call]


def _plain(value: Any) -> Any:
    """Deep-convert NotebookNode/DiffEntry (dict subclasses) to plain dicts and lists for JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

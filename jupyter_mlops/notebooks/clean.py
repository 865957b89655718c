"""Strip outputs and volatile metadata from a notebook: a pure ``NotebookNode -> NotebookNode`` function.

What counts as noise is spelled out in the module constants, so ``diff`` (which cleans copies before diffing) and
``clean`` agree. The input is never mutated. Cell ids and every tag are kept, because other tools key on them
(papermill's ``parameters``/``injected-parameters``, nbval's ``nbval-*``, our ``skip-smoke``/``raises-exception``);
a cell tagged ``keep-output`` keeps its outputs and execution count.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

#: Cell tag that keeps a cell's outputs (and execution count) through ``clean``.
KEEP_OUTPUT_TAG = "keep-output"

#: Cell metadata keys that record UI or execution state, not content.
VOLATILE_CELL_METADATA: tuple[str, ...] = ("execution", "collapsed", "scrolled", "ExecuteTime", "papermill")

#: Keys of cell ``metadata.jupyter`` that record whether JupyterLab shows a cell's input or outputs (UI state).
VOLATILE_JUPYTER_CELL_METADATA: tuple[str, ...] = ("outputs_hidden", "source_hidden")

#: Notebook metadata keys that record widget state or an execution, not content.
VOLATILE_NOTEBOOK_METADATA: tuple[str, ...] = ("widgets", "papermill")

#: ``metadata.language_info`` keys that change with the interpreter's patch version.
VOLATILE_LANGUAGE_INFO: tuple[str, ...] = ("version",)


@dataclass(frozen=True)
class CleanOptions:
    """What to strip. The defaults are what ``jupyter-mlops clean`` does.

    Attributes:
        outputs: strip code-cell outputs (cells tagged ``keep-output`` excepted).
        execution_counts: reset execution counts to ``None`` (also inside stripped/kept outputs when outputs stay).
        volatile_metadata: drop the keys in :data:`VOLATILE_CELL_METADATA` / :data:`VOLATILE_NOTEBOOK_METADATA`.
        all_metadata: drop all cell and notebook metadata, tags included (used by ``diff --sources-only``).
        cell_ids: drop cell ids (``diff`` only; ``clean`` always keeps them).
        honour_keep_output: keep outputs of cells tagged ``keep-output``.
    """

    outputs: bool = True
    execution_counts: bool = True
    volatile_metadata: bool = True
    all_metadata: bool = False
    cell_ids: bool = False
    honour_keep_output: bool = True


DEFAULT_OPTIONS = CleanOptions()


def cell_tags(cell: Any) -> list[str]:
    """The cell's tags (``[]`` when it has none or they are malformed)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def clean_notebook(nb: Any, options: CleanOptions = DEFAULT_OPTIONS) -> Any:
    """Return a cleaned deep copy of ``nb``; ``nb`` itself is left untouched.

    Args:
        nb: an nbformat v4 ``NotebookNode`` (or a plain dict of the same shape).
        options: what to strip.

    Returns:
        A new notebook of the same type as ``nb``, multi-line strings joined as ``nbformat.reads`` does (the
        serialised text is unchanged by that).

    Example:
        >>> import nbformat.v4 as v4
        >>> nb = v4.new_notebook(cells=[v4.new_code_cell("1 + 1", execution_count=3)])
        >>> clean_notebook(nb).cells[0].execution_count is None, nb.cells[0].execution_count
        (True, 3)
    """
    out = copy.deepcopy(nb)
    if hasattr(out, "cells"):  # a NotebookNode read from disk may hold sources as lists of lines: join them
        from nbformat.v4.rwbase import rejoin_lines

        rejoin_lines(out)  # type: ignore[no-untyped-call]
    for cell in out.get("cells", []):
        _clean_cell(cell, options)
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        _clean_notebook_metadata(metadata, options)
    return out


def _clean_cell(cell: Any, options: CleanOptions) -> None:
    keep = options.honour_keep_output and KEEP_OUTPUT_TAG in cell_tags(cell)
    if cell.get("cell_type") == "code":
        if options.outputs and not keep:
            cell["outputs"] = []
        if options.execution_counts and not keep:
            cell["execution_count"] = None
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None
    if options.cell_ids:
        cell.pop("id", None)
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return
    if options.all_metadata:
        metadata.clear()
    elif options.volatile_metadata:
        for key in VOLATILE_CELL_METADATA:
            metadata.pop(key, None)
        jupyter = metadata.get("jupyter")
        if isinstance(jupyter, dict):
            for key in VOLATILE_JUPYTER_CELL_METADATA:
                jupyter.pop(key, None)
            if not jupyter:
                del metadata["jupyter"]
        # papermill and JupyterLab add `tags: []` to cells they touch: an empty list says nothing, so it is noise.
        if metadata.get("tags") == []:
            del metadata["tags"]


def _clean_notebook_metadata(metadata: dict[str, Any], options: CleanOptions) -> None:
    if options.all_metadata:
        metadata.clear()
        return
    if not options.volatile_metadata:
        return
    for key in VOLATILE_NOTEBOOK_METADATA:
        metadata.pop(key, None)
    language_info = metadata.get("language_info")
    if isinstance(language_info, dict):
        for key in VOLATILE_LANGUAGE_INFO:
            language_info.pop(key, None)

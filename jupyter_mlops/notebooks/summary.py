"""What an experimenter wants to see first in a notebook diff: changed parameters and changed data paths read.

Parameters are the literal assignments of the notebook's parameters cell, found as the kernel observer finds it
(:func:`jupyter_mlops.capture.parameters.find_parameters_cell`: tagged ``parameters``, else next to papermill's
injected cell, else a leading cell of literal assignments), overridden by a papermill ``injected-parameters`` cell
when there is one. Data paths are the string-literal paths that code cells
pass to recognised readers (``pd.read_csv("...")``, ``open("...")``, ...), found by
:func:`jupyter_mlops.capture.cells.analyze`, the same analysis the tracker runs after each executed cell.
Cells with IPython syntax are parsed with magic and shell lines blanked out; a cell that still does not parse is
skipped (a static summary is best-effort by nature).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from jupyter_mlops.capture.cells import CellAnalysis, analyze
from jupyter_mlops.capture.parameters import cell_source, find_parameters_cell, python_source

__all__ = ["analyze_cell", "cell_source", "data_paths_of", "parameters_of", "parse_python", "summarize",
           "summary_is_empty"]

_MISSING = object()


def parse_python(source: str) -> ast.Module | None:
    """Parse cell source, blanking IPython magic/shell lines (line numbers are kept); None if it still fails."""
    if source.lstrip().startswith("%%"):
        return None  # a cell magic: the body is not Python (or not ours to judge)
    try:
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return None


def analyze_cell(cell: Any) -> CellAnalysis | None:
    """Static analysis of one code cell, or None when it is not a parseable code cell."""
    if cell.get("cell_type") != "code":
        return None
    source = cell_source(cell)
    tree = parse_python(source)
    return None if tree is None else analyze(tree, source)


def parameters_of(nb: Any) -> dict[str, Any]:
    """The notebook's effective parameters: the parameters cell, then papermill's ``injected-parameters`` cell."""
    cells = nb.get("cells", [])
    found = find_parameters_cell(cells, tags_known=True)
    values: dict[str, Any] = {}
    if found is None:
        return values
    for index in dict.fromkeys((found.index, found.injected_index)):
        analysis = analyze_cell(cells[index]) if index is not None else None
        if analysis is not None:
            values.update(analysis.literal_assignments)
    return values


def data_paths_of(nb: Any) -> list[str]:
    """String-literal paths read by the notebook's code cells, in notebook order, without duplicates."""
    seen: dict[str, None] = {}
    for analysis in _analyses(nb):
        for path in analysis.files_read:
            seen.setdefault(path, None)
    return list(seen)


def _analyses(nb: Any) -> Iterator[CellAnalysis]:
    for cell in nb.get("cells", []):
        analysis = analyze_cell(cell)
        if analysis is not None:
            yield analysis


def summarize(a: Any, b: Any) -> dict[str, Any]:
    """The experimenter's summary of two notebooks: parameter changes and data-path changes.

    Args:
        a: the old notebook.
        b: the new notebook.

    Returns:
        ``{"parameters": [{"name", "change": "changed|added|removed", "old", "new"}],
        "data_paths": {"added": [...], "removed": [...]}}``; values are JSON-ready.

    Example:
        >>> import nbformat.v4 as v4
        >>> tags = {"tags": ["parameters"]}
        >>> def nb(lr): return v4.new_notebook(cells=[v4.new_code_cell(f"lr = {lr}", metadata=tags)])
        >>> summarize(nb(0.1), nb(0.2))["parameters"]
        [{'name': 'lr', 'change': 'changed', 'old': 0.1, 'new': 0.2}]
    """
    old, new = parameters_of(a), parameters_of(b)
    params: list[dict[str, Any]] = []
    for name in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        if before is _MISSING:
            params.append({"name": name, "change": "added", "old": None, "new": after})
        elif after is _MISSING:
            params.append({"name": name, "change": "removed", "old": before, "new": None})
        elif before != after or type(before) is not type(after):
            params.append({"name": name, "change": "changed", "old": before, "new": after})
    paths_a, paths_b = data_paths_of(a), data_paths_of(b)
    return {
        "parameters": params,
        "data_paths": {
            "added": [p for p in paths_b if p not in paths_a],
            "removed": [p for p in paths_a if p not in paths_b],
        },
    }


def summary_is_empty(summary: dict[str, Any]) -> bool:
    """True when neither parameters nor data paths changed."""
    paths = summary.get("data_paths", {})
    return not summary.get("parameters") and not paths.get("added") and not paths.get("removed")

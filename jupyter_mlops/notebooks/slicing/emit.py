"""A slice as clean code: a percent-format script, a notebook, or (through convert) a package.

Each kept cell is emitted in its Python view (``%track`` magics as API calls, :mod:`.view`) without its
display-only statements: a bare expression that only shows a value (``df``, ``df.head()``, ``x[0]``; convert's
rule, :func:`jupyter_mlops.notebooks.convert.analysis.display_only`) and ``display(...)`` calls. The parameters
cell comes first, tagged ``parameters``; the imports the translated magics need (``import jupyter_mlops as
mlops``) follow it in a cell of their own, with a ``mlops.start_run(...)`` when the slice logs to a run that none
of its cells starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.capture.parameters import PARAMETERS_TAG
from jupyter_mlops.notebooks.slicing.effects import analyze_code
from jupyter_mlops.notebooks.slicing.slicer import Cell, Slice
from jupyter_mlops.notebooks.slicing.view import API_IMPORT

__all__ = ["EmittedCell", "clean_code", "emitted_cells", "notebook", "script_text"]


@dataclass(frozen=True)
class EmittedCell:
    """One cell of the emitted slice: its clean code and where it came from (None: the generated imports)."""

    code: str
    position: int | None = None
    execution_count: int | None = None
    parameters: bool = False


def clean_code(code: str) -> str:
    """``code`` without its display-only statements and surrounding blank lines (unparsable code is kept as is)."""
    statements = analyze_code(code)  # cached: the slicer parsed the same code already
    if statements is None:
        return code.strip("\n")
    lines = code.split("\n")
    kept_lines: set[int] = set()
    remove: set[int] = set()
    for facts in statements:
        first, last = facts.lines
        (remove if facts.shows_only else kept_lines).update(range(first, last + 1))
    remove -= kept_lines  # `a = 1; a` keeps its line
    text = "\n".join(line for number, line in enumerate(lines, start=1) if number not in remove)
    return text.strip("\n")


def emitted_cells(piece: Slice, cells: Sequence[Cell], *, run_name: str | None = None) -> list[EmittedCell]:
    """The slice's cells as clean code, in emission order, with the imports cell after the parameters cell."""
    out: list[EmittedCell] = []
    imports: list[str] = []
    for position in piece.cells:
        flow = piece.flows[position]
        code = clean_code(flow.code)
        imports += [line for line in flow.imports if line not in imports]
        if code:
            out.append(EmittedCell(code, position, cells[position].execution_count, position == piece.parameters))
    everything = "\n".join(cell.code for cell in out)
    if "mlops." in everything and API_IMPORT not in imports:
        imports.insert(0, API_IMPORT)
    header = [line for line in imports if not _imported_before_use(line, out)]
    if "mlops.log" in everything and "start_run(" not in everything:
        header.append(f"mlops.start_run({run_name!r})" if run_name else "mlops.start_run()")
    if header:
        at = 1 if out and out[0].parameters else 0
        out.insert(at, EmittedCell("\n".join(header)))
    return out


def _imported_before_use(line: str, cells: Sequence[EmittedCell]) -> bool:
    """Whether an emitted cell runs ``line`` itself no later than the first cell using the name it binds.

    A user's own ``import jupyter_mlops as mlops`` may come after ``%track start`` (translated to
    ``mlops.start_run``), so the import being *somewhere* in the slice is not enough.
    """
    name = line.split()[-1]
    for cell in cells:
        if line in cell.code.split("\n"):
            return True
        if re.search(rf"\b{re.escape(name)}\b", cell.code):
            return False
    return True


def script_text(emitted: Sequence[EmittedCell], title: str) -> str:
    """A percent-format script (jupytext's ``# %%`` cells), each cell headed by the execution it came from."""
    parts = [f'"""{title}"""']
    for cell in emitted:
        if cell.parameters:
            marker = f"# %% tags=[\"{PARAMETERS_TAG}\"]"
        elif cell.position is None:
            marker = "# %%"
        else:
            marker = f"# %% In[{cell.execution_count if cell.execution_count is not None else ' '}]"
        parts.append(f"{marker}\n{cell.code}")
    return "\n\n".join(parts) + "\n"


def notebook(emitted: Sequence[EmittedCell], title: str) -> Any:
    """An nbformat v4 notebook: a markdown title, then one code cell per emitted cell (parameters tagged)."""
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells.append(nbformat.v4.new_markdown_cell(title))  # type: ignore[no-untyped-call]
    for cell in emitted:
        code = nbformat.v4.new_code_cell(cell.code)  # type: ignore[no-untyped-call]
        if cell.parameters:
            code.metadata["tags"] = [PARAMETERS_TAG]
        if cell.position is not None:
            code.metadata["jupyter_mlops"] = {"executed_position": cell.position,
                                              "execution_count": cell.execution_count}
        nb.cells.append(code)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb

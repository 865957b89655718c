"""The papermill parameters cell: its tags, where it is, its defaults, and injecting values after it.

One home for the project's central convention, used by nb-smoke, convert, diff's summary, lint and the kernel
observer (ADR-037). The parameters cell of a list of cells is, in this order:

1. ``tagged``: the first code cell tagged ``parameters`` (papermill's convention);
2. ``injected``: the code cell run just before papermill's injected cell (tagged ``injected-parameters`` or, where
   tags cannot be seen as in a kernel under papermill, whose source starts with ``# Parameters``); the injected
   cell itself when nothing precedes it;
3. ``inferred``: among the first :data:`INFER_WITHIN` non-blank code cells, the first made only of literal
   assignments (``lr = 0.1``, ``layers: list[int] = [64, 32]``; a docstring is allowed).

Consumers that must follow papermill to the letter (nb-smoke injects values; lint's NB003 asks for the tag) use
the ``tagged`` result only. Only the standard library is imported here; injection imports nbformat (and, for
other kernel languages, papermill's translators) when it is called.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.capture.cells import literal_value
from jupyter_mlops.errors import InvalidInput

__all__ = [
    "INFER_WITHIN",
    "INJECTED_HEADER",
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "ParametersCell",
    "cell_source",
    "cell_tags",
    "find_parameters_cell",
    "inject_parameters",
    "literal_assignment",
    "only_literal_assignments",
    "parameter_defaults",
    "python_source",
    "tagged_index",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
#: the first line papermill writes into the cell it injects (the only mark a kernel sees: kernels get no tags)
INJECTED_HEADER = "# Parameters"
#: How many leading non-blank code cells are looked at when the parameters cell has to be guessed.
INFER_WITHIN = 3
_MAGIC_LINE = re.compile(r"^\s*(%|!)")


@dataclass(frozen=True, slots=True)
class ParametersCell:
    """Where a notebook's parameters are.

    Attributes:
        index: position of the parameters cell in the list given to :func:`find_parameters_cell`.
        provenance: ``"tagged"``, ``"injected"`` or ``"inferred"`` (see the module docstring).
        injected_index: position of papermill's injected-parameters cell, whose values override, if any.
    """

    index: int
    provenance: str
    injected_index: int | None = None


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a list of lines on disk)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    """The cell's tags, from an nbformat cell (``metadata.tags``) or a flat dict (``tags``); ``[]`` if malformed."""
    tags = cell.get("tags")
    if tags is None:
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def python_source(source: str) -> str:
    """The source with IPython magic and shell lines blanked (line numbers are kept), so the rest parses."""
    return "\n".join("" if _MAGIC_LINE.match(line) else line for line in source.splitlines())


def literal_assignment(stmt: ast.stmt) -> tuple[str, ast.expr | None, ast.expr] | None:
    """``(name, annotation, value)`` of ``name = <literal>`` or ``name: T = <literal>``, else None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        name, annotation, value = stmt.targets[0].id, None, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        name, annotation, value = stmt.target.id, stmt.annotation, stmt.value
    else:
        return None
    try:
        ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return name, annotation, value


def only_literal_assignments(source: str | ast.Module) -> bool:
    r"""Every statement of ``source`` assigns a JSON-ready literal to plain names (a docstring is allowed).

    ``source`` may be the cell's already parsed tree (the kernel observer parses each cell once).

    Example:
        >>> only_literal_assignments("'settings'\nlr = 0.1\nlayers: list = [1, 2]")
        True
        >>> only_literal_assignments("%matplotlib inline\nlr = 0.1")
        False
    """
    try:
        body = source.body if isinstance(source, ast.Module) else ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    assignments = 0
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            value: ast.expr = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            value = stmt.value
        else:
            return False
        try:
            literal_value(value)
        except (ValueError, RecursionError):
            return False
        assignments += 1
    return assignments > 0


def _is_injected(cell: Mapping[str, Any], tags_known: bool) -> bool:
    if INJECTED_TAG in cell_tags(cell):
        return True
    return not tags_known and cell_source(cell).lstrip().startswith(INJECTED_HEADER)


def _code_cells(cells: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(position, cell) for position, cell in enumerate(cells) if cell.get("cell_type", "code") == "code"]


def find_parameters_cell(cells: Sequence[Mapping[str, Any]], *, tags_known: bool = False) -> ParametersCell | None:
    """Find the parameters cell the way papermill users mean it, with how it was found.

    Works on a saved notebook's cells (nbformat cells or flat dicts) or on executed cells in order (under
    papermill the kernel sees no tags: the cell that ran just before the injected ``# Parameters`` cell is the
    parameters cell).

    Args:
        cells: mappings with ``source`` and optionally ``tags`` (or ``metadata.tags``) and ``cell_type``.
        tags_known: the cells come with their real tags (a saved notebook): only the ``injected-parameters`` tag
            marks papermill's cell, not a ``# Parameters`` first line a user may write themselves.

    Returns:
        A :class:`ParametersCell`, or None when nothing qualifies.
    """
    code = _code_cells(cells)
    for position, cell in code:
        if PARAMETERS_TAG in cell_tags(cell):
            injected = next((p for p, c in code if p > position and _is_injected(c, tags_known)), None)
            return ParametersCell(position, "tagged", injected)
    for order, (position, cell) in enumerate(code):
        if _is_injected(cell, tags_known):
            if order == 0:
                return ParametersCell(position, "injected", position)  # papermill put it first: no own cell
            return ParametersCell(code[order - 1][0], "injected", position)
    for position, cell in [item for item in code if cell_source(item[1]).strip()][:INFER_WITHIN]:
        if only_literal_assignments(cell_source(cell)):
            return ParametersCell(position, "inferred")
    return None


def tagged_index(cells: Sequence[Mapping[str, Any]]) -> int | None:
    """Index of the first code cell tagged ``parameters`` (where papermill injects after), or None."""
    found = find_parameters_cell(cells, tags_known=True)
    return found.index if found is not None and found.provenance == "tagged" else None


def parameter_defaults(source: str, *, cell: int) -> dict[str, Any]:
    """The literal assignments of a parameters cell (``name = literal`` and ``name: T = literal``).

    Args:
        source: the cell's source (IPython magic and shell lines are ignored).
        cell: the cell's index, for the error message.

    Returns:
        ``{name: default}`` as Python values; a non-literal default such as ``Path("x")`` maps to ``...``
        (accepting any value).

    Raises:
        InvalidInput: the cell is not valid Python (the message names the cell and the line).
    """
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError as error:
        raise InvalidInput(f"the parameters cell (cell {cell}) does not parse: line {error.lineno}: "
                           f"{error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InvalidInput(f"the parameters cell (cell {cell}) cannot be read as Python") from None
    defaults: dict[str, Any] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                try:
                    defaults[target.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    defaults[target.id] = ...
    return defaults


def inject_parameters(nb: Any, parameters: Mapping[str, Any], language: str = "python") -> int | None:
    """Insert a papermill-style ``injected-parameters`` cell after the tagged cell; returns its index.

    The notebook's ``papermill.parameters`` metadata records the values either way; None when nothing was
    injected. Without a tagged cell the new cell goes first, as papermill does it.
    """
    import nbformat

    previous = dict(nb.metadata.get("papermill") or {})
    nb.metadata["papermill"] = nbformat.from_dict({**previous, "parameters": dict(parameters)})  # type: ignore[no-untyped-call]
    if not parameters:
        return None
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in cell_tags(c)]
    if language == "python":
        body = "".join(f"{name} = {_python_literal(value)}\n" for name, value in parameters.items())
        source = INJECTED_HEADER + "\n" + body
    else:
        from papermill.translators import translate_parameters

        source = translate_parameters(language, language, dict(parameters), "Parameters")
    cell = nbformat.v4.new_code_cell(source=source, metadata={"tags": [INJECTED_TAG]})  # type: ignore[no-untyped-call]
    at = tagged_index(nb.cells)
    position = 0 if at is None else at + 1
    nb.cells.insert(position, cell)
    return position


def _python_literal(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_python_literal(k)}: {_python_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)

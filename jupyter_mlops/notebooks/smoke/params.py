"""Smoke parameters: where they come from, how they are typed, and how they enter the notebook.

Sources, later wins: per-glob tables in ``[tool.jupyter-mlops.smoke]`` of the nearest ``pyproject.toml``
(``[tool.jupyter-mlops.smoke."example_notebooks/*.ipynb"] epochs = 1``), ``-f params.yaml`` files, then ``-p
key=value`` on the command line. Every value is typed against the default in the notebook's ``parameters``
cell (papermill's convention), read with :mod:`ast` without running anything: ``"3"`` for ``epochs = 10``
becomes ``3``, and ``"2.5"`` is an error.

Names are checked where they were meant: a per-glob table names the notebooks it is for, so a name their
parameters cell does not define is an error for that notebook. ``-p`` and ``-f`` are given once for a whole
folder of notebooks that differ in their parameters, so each notebook takes the names its cell defines and
ignores the others (:func:`unknown_given_names` makes a name that *no* selected notebook defines a usage error
before anything runs); ``--strict-params`` asks for the per-notebook rule for them too. The layers are put
together in one place, :meth:`.options.SmokeOptions.parameters_for`.

The parameters are injected as papermill does it (a cell tagged ``injected-parameters`` after the
``parameters`` cell), so executed notebooks look the same as papermill's. Python values are written with
``repr``; other kernel languages use papermill's translators (imported only then: papermill costs a second).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_mlops.capture.parameters import (
    PARAMETERS_TAG,
    cell_source,
    parameter_defaults,
    tagged_index,
)
from jupyter_mlops.config import find_project_root, read_tool_table
from jupyter_mlops.errors import InvalidInput

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parameters_cell_index(nb: Any) -> int | None:
    """Index of the first code cell tagged ``parameters``, or None (see :mod:`jupyter_mlops.capture.parameters`)."""
    return tagged_index(nb.cells)


def notebook_defaults(nb: Any) -> dict[str, Any] | None:
    """The literal assignments of the tagged ``parameters`` cell, or None when the notebook has none.

    Raises:
        InvalidInput: the parameters cell is not valid Python (the message names the cell and the line).
    """
    index = parameters_cell_index(nb)
    if index is None:
        return None
    return parameter_defaults(cell_source(nb.cells[index]), cell=index)


def coerce(name: str, value: Any, default: Any) -> Any:
    """Type ``value`` like ``default``; strings from the command line are parsed.

    Raises:
        InvalidInput: the value cannot be read as the default's type.
    """
    if default is ... or default is None:
        return _parse_loose(value) if isinstance(value, str) else value
    kind = type(default)
    try:
        if kind is bool:
            return _to_bool(value)
        if kind is int:
            return _to_int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return value if isinstance(value, str) else str(value)
        if kind in (list, tuple, dict):
            parsed = _parse_loose(value) if isinstance(value, str) else value
            if not isinstance(parsed, (list, tuple) if kind is not dict else dict):
                raise ValueError
            return list(parsed) if kind is tuple else parsed
    except (ValueError, TypeError):
        raise InvalidInput(
            f"parameter {name}: {value!r} is not a valid {kind.__name__} (the notebook's default is {default!r})"
        ) from None
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError
    return int(str(value).strip())


def _parse_loose(text: str) -> Any:
    """YAML scalar/collection parsing for values whose default gives no type (``None``)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def split_assignment(text: str, hint: str = "", flag: str = "") -> tuple[str, str]:
    """``key=value`` → (key, value); raises InvalidInput without ``=`` or with an empty key.

    ``flag`` (``--param``) starts the error message and ``hint`` ends it, so that it speaks of what was typed.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"{flag + ': ' if flag else ''}bad parameter {text!r}: expected KEY=VALUE{hint}")
    return key.strip(), value


def load_params_file(path: str | Path) -> dict[str, Any]:
    """A YAML (or JSON) mapping of parameters from ``-f FILE``."""
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"parameters file {file}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"parameters file {file}: cannot read ({first})") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InvalidInput(f"parameters file {file}: expected a mapping of parameter names to values")
    return data


def pyproject_params(notebook: Path, _cache: dict[Path, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Parameters from every ``[tool.jupyter-mlops.smoke."<glob>"]`` table whose glob matches ``notebook``.

    Globs are relative to the folder of the nearest ``pyproject.toml``; tables are applied in file order.
    """
    root = find_project_root(notebook)
    cache = {} if _cache is None else _cache
    if root not in cache:
        table = read_tool_table(root).get("smoke", {})
        cache[root] = table if isinstance(table, dict) else {}
    try:
        rel = notebook.resolve().relative_to(root).as_posix()
    except ValueError:
        return {}
    merged: dict[str, Any] = {}
    for pattern, values in cache[root].items():
        if isinstance(values, dict) and _glob_match(rel, pattern):
            merged.update(values)
    return merged


def _glob_match(rel: str, pattern: str) -> bool:
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    if fnmatch.fnmatchcase(rel, pattern):
        return True
    # "**/" may also match zero folders, as in git and pathlib globs.
    return "**/" in pattern and fnmatch.fnmatchcase(rel, pattern.replace("**/", ""))


def resolve_parameters(nb: Any, layers: Sequence[Mapping[str, Any]], *, skip_unknown: bool = False) -> dict[str, Any]:
    """Merge parameter layers (later wins) and type each value against the notebook's defaults.

    Args:
        nb: the notebook.
        layers: parameter mappings, later wins.
        skip_unknown: leave out the names the parameters cell does not define (and give a notebook without a
            parameters cell nothing) instead of refusing them.

    Raises:
        InvalidInput: a badly typed value, a parameters cell that does not parse, or (unless ``skip_unknown``)
            an unknown name or parameters for a notebook without a ``parameters`` cell.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    if not merged:
        return {}
    defaults = notebook_defaults(nb)
    if defaults is None:
        if skip_unknown:
            return {}
        raise InvalidInput(f"parameters given ({', '.join(sorted(merged))}) but the notebook has no cell tagged "
                           f"'{PARAMETERS_TAG}'")
    unknown = sorted(set(merged) - set(defaults))
    if unknown and not skip_unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise InvalidInput(f"unknown parameter {', '.join(unknown)} (the parameters cell defines: {known})")
    return {name: coerce(name, value, defaults[name]) for name, value in merged.items() if name in defaults}


def unknown_given_names(given: Mapping[str, Any], notebooks: Sequence[Any]) -> str | None:
    """The usage error for ``-p``/``-f`` names that no notebook's parameters cell defines, or None.

    ``notebooks`` are the parsed notebooks of one call; those that cannot be read are left out here (each is
    reported on its own when it runs), and so are parameters cells that do not parse (their notebook fails with
    that reason).
    """
    if not given:
        return None
    defined: set[str] = set()
    for nb in notebooks:
        try:
            defined |= set(notebook_defaults(nb) or {})
        except InvalidInput:
            return None  # that notebook's own error says more than a guess about its names would
    unknown = sorted(set(given) - defined)
    if not unknown:
        return None
    hints = [f"did you mean {match[0]!r}?" for name in unknown
             if (match := difflib.get_close_matches(name, sorted(defined), n=1))]
    known = ", ".join(sorted(defined)) or "none"
    message = (f"unknown parameter {', '.join(unknown)}: no selected notebook's parameters cell defines "
               f"{'them' if len(unknown) > 1 else 'it'} (defined: {known})")
    return " ".join([message, *hints])

"""The limits of a smoke run: timeouts, and how much output it keeps (per cell, per notebook) and where that is set.

A notebook that prints a gigabyte must not take a gigabyte of the runner's memory, nor leave a gigabyte executed
notebook behind, so nb-smoke keeps at most ``max-cell-output`` bytes of outputs per cell and
``max-notebook-output`` per notebook (:mod:`.outputs` applies them as messages arrive). Sources, first
wins: the command line (``--max-cell-output 2MiB``), the ``[tool.jupyter-mlops.smoke]`` table of the project's
``pyproject.toml`` (``max-cell-output = "2MiB"``), then the defaults below. Sizes are integers (bytes) or
strings with a unit: ``B``, ``kB``/``MB``/``GB`` (powers of 1000), ``KiB``/``MiB``/``GiB`` and ``K``/``M``/``G``
(powers of 1024).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.errors import InvalidInput

MIB = 1024 * 1024
#: Enough for a cell showing a dozen plots or one plotly figure with its library embedded (~3.6 MB).
DEFAULT_MAX_CELL_OUTPUT = 4 * MIB
DEFAULT_MAX_NOTEBOOK_OUTPUT = 16 * MIB
#: The keys of ``[tool.jupyter-mlops.smoke]`` that are options; every table-valued key is a parameters glob.
OPTION_KEYS = ("max-cell-output", "max-notebook-output")
#: Seconds a cell may run when neither the cell nor the call says otherwise.
DEFAULT_CELL_TIMEOUT = 600.0


@dataclass(frozen=True)
class Limits:
    """Execution rules shared by every notebook of a call: timeouts in seconds, output caps in bytes."""

    cell_timeout: float | None = DEFAULT_CELL_TIMEOUT
    timeout: float | None = None
    keep_going: bool = False
    max_cell_output: int = DEFAULT_MAX_CELL_OUTPUT
    max_notebook_output: int = DEFAULT_MAX_NOTEBOOK_OUTPUT


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "k": 1024, "kib": 1024, "m": MIB, "mib": MIB,
          "g": 1024**3, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: Any, what: str) -> int:
    """A positive byte count from ``4194304``, ``"4MiB"``, ``"500kB"`` or ``"2M"``.

    Raises:
        InvalidInput: not a positive size (``what`` names the option in the message).
    """
    if isinstance(value, bool):
        raise InvalidInput(f"{what}: expected a size such as 4MiB, got {value!r}")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        unit = _UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise InvalidInput(f"{what}: expected a size such as 4MiB or 500kB, got {value!r}")
        size = int(float(match.group(1)) * unit)
    if size < 1:
        raise InvalidInput(f"{what}: must be at least 1 byte, got {value!r}")
    return size


def output_caps(cell: Any, notebook: Any, table: Mapping[str, Any], flag_prefix: str = "--") -> tuple[int, int]:
    """``(max cell output, max notebook output)`` in bytes: the given values, else the table's, else defaults.

    Args:
        cell: ``--max-cell-output`` (None when not given).
        notebook: ``--max-notebook-output`` (None when not given).
        table: ``[tool.jupyter-mlops.smoke]`` of the project's pyproject.toml.
        flag_prefix: how the face spells its flags (``--nb-smoke-`` in pytest), for the error message.

    Raises:
        InvalidInput: a size that does not parse, or an unknown option in the table.
    """
    unknown = sorted(k for k, v in table.items() if not isinstance(v, dict) and k not in OPTION_KEYS)
    if unknown:
        raise InvalidInput(f"[tool.jupyter-mlops.smoke]: unknown option {', '.join(unknown)} (options: "
                           f"{', '.join(OPTION_KEYS)}; parameters go in [tool.jupyter-mlops.smoke.\"<glob>\"] tables)")
    cell_value = cell if cell is not None else table.get("max-cell-output", DEFAULT_MAX_CELL_OUTPUT)
    notebook_value = notebook if notebook is not None else table.get("max-notebook-output",
                                                                    DEFAULT_MAX_NOTEBOOK_OUTPUT)
    table_name = "[tool.jupyter-mlops.smoke] "
    where = (flag_prefix if cell is not None else table_name) + "max-cell-output"
    nb_where = (flag_prefix if notebook is not None else table_name) + "max-notebook-output"
    return parse_size(cell_value, where), parse_size(notebook_value, nb_where)


def project_smoke_table() -> dict[str, Any]:
    """``[tool.jupyter-mlops.smoke]`` of the working directory's project ({} when absent)."""
    from jupyter_mlops.config import find_project_root, read_tool_table

    table = read_tool_table(find_project_root()).get("smoke", {})
    return table if isinstance(table, dict) else {}


def format_size(size: int) -> str:
    """``4 MiB``, ``512 KiB``, ``300 B``: the unit that keeps the number short."""
    for unit, factor in (("GiB", 1024**3), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"

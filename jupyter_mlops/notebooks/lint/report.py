"""Lint report formats: text lines, JSON, and GitHub workflow annotations pointing at the cell's line."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from jupyter_mlops.notebooks.lint.registry import Finding
from jupyter_mlops.report_text import github_data, github_property

FORMATS = ("text", "json", "github")


def format_text(findings: list[Finding]) -> str:
    """``path:cell 3:line 2: NB004 message`` lines."""
    lines = []
    for f in findings:
        where = "".join([f":cell {f.cell_index}" if f.cell_index is not None else "",
                         f":line {f.line}" if f.line is not None else ""])
        lines.append(f"{f.path}{where}: {f.rule_id} [{f.severity}] {f.message}")
    return "".join(line + "\n" for line in lines)


def format_json(findings: list[Finding], errors: list[str] | None = None) -> str:
    """``{"findings": [...], "errors": [...]}`` (errors: unreadable notebooks)."""
    return json.dumps({"findings": [f.to_dict() for f in findings], "errors": errors or []}, indent=1) + "\n"


def format_github(findings: list[Finding], raw: Mapping[str, str] | None = None) -> str:
    """GitHub workflow commands (``::warning file=..,line=..,title=..::message``).

    Args:
        findings: what to report.
        raw: file text by path, used to point each annotation at the cell's line in the ``.ipynb`` file.
    """
    lines = []
    for f in findings:
        params = [f"file={github_property(f.path)}"]
        line = file_line(raw.get(f.path, ""), f.cell_index, f.line) if raw and f.cell_index is not None else None
        if line is not None:
            params.append(f"line={line}")
        params.append(f"title={github_property(f.rule_id)}")
        cell = f"cell {f.cell_index}: " if f.cell_index is not None else ""
        lines.append(f"::{f.severity} {','.join(params)}::{github_data(cell + f.message)}")
    return "".join(line + "\n" for line in lines)


_CELL_KEY = re.compile(r'^\s*"cell_type":')
_SOURCE_KEY = re.compile(r'^\s*"source":\s*(\[)?')


def file_line(raw: str, cell_index: int | None, line: int | None) -> int | None:
    """The 1-based line of the ``.ipynb`` file where a cell (and a line of its source) is written.

    Works on files written the way Jupyter writes them (one source line per JSON line); returns the cell's
    ``"cell_type"`` line when the source line cannot be located, and None when the cell is not found.
    """
    if not raw or cell_index is None:
        return None
    lines = raw.splitlines()
    seen, start = -1, None
    for number, text in enumerate(lines):
        if _CELL_KEY.match(text):
            seen += 1
            if seen == cell_index:
                start = number
                break
    if start is None:
        return None
    for number in range(start, len(lines)):
        if number > start and _CELL_KEY.match(lines[number]):
            break
        match = _SOURCE_KEY.match(lines[number])
        if match:
            offset = (line or 1) if match.group(1) else 0
            return min(number + 1 + offset, len(lines))
    return start + 1

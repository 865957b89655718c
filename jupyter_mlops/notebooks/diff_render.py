"""Render a notebook diff (the plain data of ``NotebookDiff.to_dict()``) for a terminal or as one HTML file.

Renderers only format; every decision about what changed was made in :mod:`.diff`. Both put the experimenter's
summary (parameters, data paths) first, then one block per changed cell. Cell indices are 0-based, as in the
JSON output and nbdime.
"""

from __future__ import annotations

import html
import json
from typing import Any

_ANSI = {"red": "\x1b[31m", "green": "\x1b[32m", "cyan": "\x1b[36m", "bold": "\x1b[1m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"
_MAX_VALUE_CHARS = 80


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def summary_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary as ``(style, text)`` lines; style is one of ``""``, ``bold``, ``red``, ``green``."""
    lines: list[tuple[str, str]] = []
    params = summary.get("parameters", [])
    if params:
        lines.append(("bold", "Parameters:"))
        for p in params:
            if p["change"] == "added":
                lines.append(("green", f"  {p['name']}: (new) {_value(p['new'])}"))
            elif p["change"] == "removed":
                lines.append(("red", f"  {p['name']}: {_value(p['old'])} (removed)"))
            else:
                lines.append(("", f"  {p['name']}: {_value(p['old'])} → {_value(p['new'])}"))
    paths = summary.get("data_paths", {})
    if paths.get("added") or paths.get("removed"):
        lines.append(("bold", "Data read:"))
        lines.extend(("red", f"  - {path}") for path in paths.get("removed", []))
        lines.extend(("green", f"  + {path}") for path in paths.get("added", []))
    return lines


def cell_heading(change: dict[str, Any]) -> str:
    """``changed code cell 4 (was 3)``, ``added markdown cell 2``, ``removed code cell 7``."""
    kind = change["cell_type"]
    if change["change"] == "added":
        return f"added {kind} cell {change['b_index']}"
    if change["change"] == "removed":
        return f"removed {kind} cell {change['a_index']}"
    moved = f" (was {change['a_index']})" if change["a_index"] != change["b_index"] else ""
    return f"changed {kind} cell {change['b_index']}{moved}"


def cell_lines(change: dict[str, Any]) -> list[tuple[str, str]]:
    """The body of one cell change as ``(style, text)`` lines."""
    lines: list[tuple[str, str]] = []
    if change["change"] == "added":
        lines.extend(("green", f"+{line}") for line in (change["b_source"] or "").splitlines())
    elif change["change"] == "removed":
        lines.extend(("red", f"-{line}") for line in (change["a_source"] or "").splitlines())
    else:
        for line in change["source_diff"].splitlines():
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            lines.append((style, line))
    if change.get("outputs_changed"):
        lines.append(("dim", "outputs changed"))
    for item in [*change.get("metadata_changes", []), *change.get("other_changes", [])]:
        lines.append(("dim", f"{item['key']}: {_value(item['old'])} → {_value(item['new'])}"))
    return lines


def render_terminal(result: dict[str, Any], color: bool = False) -> str:
    """Render ``NotebookDiff.to_dict()`` as text, with ANSI colour when ``color``."""

    def paint(style: str, text: str) -> str:
        return f"{_ANSI[style]}{text}{_RESET}" if color and style else text

    out = [paint("bold", f"--- {result['a']}"), paint("bold", f"+++ {result['b']}")]
    if result["identical"]:
        out.append("notebooks are identical (ignoring noise)")
        return "\n".join(out) + "\n"
    out.extend(paint(style, text) for style, text in summary_lines(result["summary"]))
    for change in result["changes"]:
        out.append(paint("bold", cell_heading(change)))
        out.extend(paint(style, f"  {text}") for style, text in cell_lines(change))
    if result["metadata_changes"]:
        out.append(paint("bold", "notebook metadata"))
        out.extend(f"  {m['key']}: {_value(m['old'])} → {_value(m['new'])}" for m in result["metadata_changes"])
    return "\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.2em} h2{font-size:1em;margin:1.2em 0 .3em}
pre{background:#f7f7f7;padding:.5em;margin:0;overflow-x:auto;font-size:.9em}
.green{color:#116611;background:#e6ffec}.red{color:#a00;background:#ffebe9}.cyan{color:#0550ae}
.dim{color:#666}.bold{font-weight:bold}.summary{border:1px solid #ddd;padding:.5em 1em;margin-bottom:1em}
"""


def _html_lines(lines: list[tuple[str, str]]) -> str:
    rows = (f'<span class="{s}">{html.escape(text)}</span>' if s else html.escape(text) for s, text in lines)
    return "<pre>" + "\n".join(rows) + "</pre>"


def render_html(result: dict[str, Any]) -> str:
    """Render ``NotebookDiff.to_dict()`` as one self-contained HTML page (inline CSS, no scripts)."""
    title = f"{result['a']} → {result['b']}"
    parts = [
        "<!DOCTYPE html>",
        f'<html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>',
        f"<h1>{html.escape(title)}</h1>",
    ]
    if result["identical"]:
        parts.append("<p>The notebooks are identical (ignoring noise).</p>")
    summary = summary_lines(result["summary"])
    if summary:
        parts.append(f'<div class="summary">{_html_lines(summary)}</div>')
    for change in result["changes"]:
        parts.append(f'<h2 class="{change["change"]}">{html.escape(cell_heading(change))}</h2>')
        parts.append(_html_lines(cell_lines(change)))
    if result["metadata_changes"]:
        parts.append("<h2>notebook metadata</h2>")
        meta = [("dim", f"{m['key']}: {_value(m['old'])} → {_value(m['new'])}") for m in result["metadata_changes"]]
        parts.append(_html_lines(meta))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

"""Render a notebook diff (the plain data of ``NotebookDiff.to_dict()``) for a terminal or as one HTML file.

Renderers only format; every decision about what changed was made in :mod:`.engine`. Both put the experimenter's
summary (parameters, data paths) first, then one block per changed cell. Cell indices are 0-based, as in the
JSON output and nbdime.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from typing import Any

_ANSI = {"red": "\x1b[31m", "green": "\x1b[32m", "cyan": "\x1b[36m", "bold": "\x1b[1m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"
_MAX_VALUE_CHARS = 80
_MAX_PART_LINES = 40
_WINDOW_LEAD = 20


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _value(value: Any) -> str:
    text = _json(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _pair(old: Any, new: Any) -> str:
    """``old → new``; two long values show the stretch where they first differ, with their lengths and hashes.

    Truncating both at the same width would print two identical-looking strings for a change past the cut.
    """
    a, b = _json(old), _json(new)
    if len(a) <= _MAX_VALUE_CHARS and len(b) <= _MAX_VALUE_CHARS or old is None or new is None:
        return f"{_value(old)} → {_value(new)}"
    start = max(0, len(os.path.commonprefix([a, b])) - _WINDOW_LEAD)

    def window(text: str) -> str:
        piece = text[start:start + _MAX_VALUE_CHARS]
        return ("…" if start else "") + piece + ("…" if start + _MAX_VALUE_CHARS < len(text) else "")

    def digest(text: str) -> str:
        return f"{len(text):,} chars, sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"

    return f"{window(a)} → {window(b)} ({digest(a)} → {digest(b)})"


def part_lines(part: dict[str, Any]) -> list[tuple[str, str]]:
    """One changed output or attachment part: a capped unified diff for text, size and hash for binary data."""
    if not part["diff"]:
        if part["change"] == "added":
            return [("green", f"{part['name']}: (new) {part['new']}")]
        if part["change"] == "removed":
            return [("red", f"{part['name']}: {part['old']} (removed)")]
        return [("", f"{part['name']}: {part['old']} → {part['new']}")]
    lines: list[tuple[str, str]] = [("dim", f"{part['name']}:" + (f" ({part['change']})" if part["change"] != "changed"
                                                                    else ""))]
    body = part["diff"].splitlines()
    for line in body[:_MAX_PART_LINES]:
        lines.append(({"+": "green", "-": "red", "@": "cyan"}.get(line[:1], ""), f"  {line}"))
    if len(body) > _MAX_PART_LINES:
        lines.append(("dim", f"  … {len(body) - _MAX_PART_LINES} more lines (all of them in --format json)"))
    return lines


def output_lines(change: dict[str, Any]) -> list[tuple[str, str]]:
    """What changed in each output of a cell, output by output."""
    lines: list[tuple[str, str]] = []
    for output in change.get("output_changes", []):
        where = output["b_index"] if output["b_index"] is not None else output["a_index"]
        moved = f" (was {output['a_index']})" if output["change"] == "changed" and output["a_index"] != where else ""
        style = {"added": "green", "removed": "red"}.get(output["change"], "bold")
        lines.append((style, f"{output['change']} output {where}{moved} ({output['output_type']})"))
        lines.extend((s, f"  {text}") for s, text in (x for part in output["parts"] for x in part_lines(part)))
    return lines


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
    if change.get("output_changes"):
        lines.extend(output_lines(change))
    elif change.get("outputs_changed"):
        lines.append(("dim", "outputs changed"))
    for part in change.get("attachment_changes", []):
        lines.extend(part_lines({**part, "name": f"attachment {part['name']}"}))
    for item in [*change.get("metadata_changes", []), *change.get("other_changes", [])]:
        lines.append(("dim", f"{item['key']}: {_pair(item['old'], item['new'])}"))
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
        out.extend(f"  {m['key']}: {_pair(m['old'], m['new'])}" for m in result["metadata_changes"])
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
        meta = [("dim", f"{m['key']}: {_pair(m['old'], m['new'])}") for m in result["metadata_changes"]]
        parts.append(_html_lines(meta))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

"""Markdown (for pull requests) and HTML (for notebooks and reports); HTML escapes everything user-provided."""

from __future__ import annotations

import html

from jupyter_mlops.comparing import Comparison
from jupyter_mlops.render.layout import Cell, Section, comparison_labels, comparison_sections
from jupyter_mlops.render.safe import terminal_text


def _clean(text: str) -> str:
    # Markdown and HTML are often printed to a terminal too: no escape sequences from user text either way.
    return terminal_text(text, multiline=True)


def _md_cell(cell: Cell) -> str:
    text = _clean(cell.text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")
    if cell.style in ("best", "differs") and text.strip():
        return f"**{text}**"
    return text


def render_comparison_markdown(cmp: Comparison, only_differences: bool | None = None) -> str:
    """GitHub-flavoured markdown for a pull request.

    Tables per section, bold for differing values and best metrics, and ``diff`` fenced blocks for code changes.
    """
    lines = [f"## Run comparison (baseline: {_clean(comparison_labels(cmp)[cmp.baseline])})", ""]
    for section in comparison_sections(cmp, only_differences):
        lines += [f"### {section.title}", ""]
        if section.is_empty:
            lines += [f"_{section.empty}_", ""]
            continue
        if section.rows:
            lines.append("| " + " | ".join(_md_cell(Cell(h)) for h in section.headers) + " |")
            lines.append("|" + "---|" * len(section.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
            lines.append("")
        for title, diff in section.diffs:
            lines += [f"**{_clean(title)}**", ""]
            if diff:
                fence = "````" if "```" in diff else "```"
                lines += [f"{fence}diff", _clean(diff), fence, ""]
    return "\n".join(lines).rstrip() + "\n"


# -- HTML --------------------------------------------------------------------------------------------------------
_CSS = """
.mlops-compare table{border-collapse:collapse;margin:4px 0 12px 0;font-size:12px}
.mlops-compare th,.mlops-compare td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top;
white-space:pre-wrap}
.mlops-compare th{background:#f4f4f4}.mlops-compare h4{margin:10px 0 2px 0}
.mlops-compare .differs{background:#fff3c4}.mlops-compare .best{font-weight:bold}
.mlops-compare .added{color:#116611}.mlops-compare .removed{color:#aa1111}.mlops-compare .muted{color:#888}
.mlops-compare pre{background:#f8f8f8;padding:4px;margin:2px 0 8px 0;font-size:12px}
.mlops-compare .add{color:#116611;background:#e6ffec}.mlops-compare .del{color:#aa1111;background:#ffebe9}
.mlops-compare .hunk{color:#0550ae}.mlops-compare .empty{color:#888;font-style:italic}
"""


def _html_diff(diff: str) -> str:
    out = []
    for line in _clean(diff).splitlines():
        cls = "add" if line.startswith("+") and not line.startswith("+++") else ""
        cls = "del" if line.startswith("-") and not line.startswith("---") else cls
        cls = "hunk" if line.startswith("@@") else cls
        out.append(f'<span class="{cls}">{html.escape(line)}</span>' if cls else html.escape(line))
    return "<pre>" + "\n".join(out) + "</pre>"


def section_html(section: Section) -> str:
    """One section as an HTML fragment (escaped), without the surrounding styles."""
    parts = [f"<h4>{html.escape(section.title)}</h4>"]
    if section.is_empty:
        parts.append(f'<div class="empty">{html.escape(section.empty)}</div>')
        return "".join(parts)
    if section.rows:
        head = "".join(f"<th>{html.escape(_clean(h))}</th>" for h in section.headers)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="{c.style}">{html.escape(_clean(c.text))}</td>' if c.style
                else f"<td>{html.escape(_clean(c.text))}</td>"
                for c in row
            )
            + "</tr>"
            for row in section.rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    for title, diff in section.diffs:
        parts.append(f"<div><b>{html.escape(_clean(title))}</b></div>")
        if diff:
            parts.append(_html_diff(diff))
    return "".join(parts)


def wrap_html(fragment: str) -> str:
    """Wrap HTML fragments in the styled ``mlops-compare`` container."""
    return f'<div class="mlops-compare"><style>{_CSS}</style>{fragment}</div>'


def render_comparison_html(comparison: Comparison, only_differences: bool | None = None) -> str:
    """The whole comparison as one self-contained HTML fragment (for ``%track compare`` and reports)."""
    return wrap_html("".join(section_html(s) for s in comparison_sections(comparison, only_differences)))



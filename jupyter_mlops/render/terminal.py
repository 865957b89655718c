"""Terminal rendering with rich (imported inside functions: the CLI's cold start matters)."""

from __future__ import annotations

import io
from typing import Any

from jupyter_mlops.comparing import Comparison
from jupyter_mlops.render.layout import (
    Section,
    comparison_sections,
)
from jupyter_mlops.render.safe import rich_text, terminal_text

_RICH_STYLES = {"differs": "bold yellow", "best": "bold green", "added": "green", "removed": "red", "muted": "dim"}


def _rich_diff(text: str) -> Any:
    from rich.text import Text

    out = Text()
    for line in text.splitlines():
        style = "green" if line.startswith("+") and not line.startswith("+++") else None
        style = "red" if line.startswith("-") and not line.startswith("---") else style
        style = "cyan" if line.startswith("@@") else style
        out.append(terminal_text(line) + "\n", style=style)
    return out


def section_renderables(section: Section) -> list[Any]:
    """Rich renderables for one section (a titled table, or diffs)."""
    from rich.table import Table

    # Every piece is a Text from rich_text: run labels and values are user text, never rich markup.
    out: list[Any] = []
    if section.is_empty:
        out.append(rich_text(f"{section.title}: {section.empty}", style="dim"))
        return out
    if section.rows:
        table = Table(title=rich_text(section.title), title_justify="left", title_style="bold", show_lines=False)
        for header in section.headers:
            table.add_column(rich_text(header), overflow="fold")
        for row in section.rows:
            table.add_row(*(rich_text(c.text, _RICH_STYLES.get(c.style or "", ""), multiline=True) for c in row))
        out.append(table)
    if section.diffs:
        out.append(rich_text(section.title, style="bold"))
        for title, diff in section.diffs:
            out.append(rich_text(title, style="bold magenta"))
            if diff:
                out.append(_rich_diff(diff))
    return out


def comparison_renderables(cmp: Comparison, only_differences: bool | None = None) -> list[Any]:
    """Every section of a comparison as rich renderables, for ``Console.print(*renderables)``."""
    out: list[Any] = []
    for section in comparison_sections(cmp, only_differences):
        out.extend(section_renderables(section))
    return out


def render_comparison_text(cmp: Comparison, width: int = 120) -> str:
    """The terminal rendering as plain text (no colour), e.g. for logs and tests."""
    from rich.console import Console

    buffer = io.StringIO()
    # force_jupyter=False: inside a kernel rich would otherwise display each table as a notebook output
    # instead of writing it into the buffer (``%track compare`` showed every section twice).
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, force_jupyter=False)
    for item in comparison_renderables(cmp):
        console.print(item)
    return buffer.getvalue()

"""Presentation of comparisons and run tables: terminal (rich), markdown and HTML.

Pure presentation: every function takes a :class:`~jupyter_mlops.comparing.Comparison` or run entities that were
already loaded and returns text or rich renderables. Each comparison section is laid out once
(:mod:`.layout`); :mod:`.terminal` draws it with rich, :mod:`.markup` as markdown or escaped HTML, so the terminal,
a pull request and a notebook show the same content.
"""

from __future__ import annotations

from jupyter_mlops.render.layout import (
    Cell,
    Section,
    comparison_labels,
    comparison_sections,
    format_duration,
    format_size,
    format_time,
    format_value,
)
from jupyter_mlops.render.markup import render_comparison_html, render_comparison_markdown, section_html, wrap_html
from jupyter_mlops.render.tables import metric_columns, run_rows, runs_csv
from jupyter_mlops.render.terminal import (
    comparison_renderables,
    render_comparison_text,
    run_renderables,
    runs_table,
    section_renderables,
)

__all__ = [
    "Cell",
    "Section",
    "comparison_labels",
    "comparison_renderables",
    "comparison_sections",
    "format_duration",
    "format_size",
    "format_time",
    "format_value",
    "metric_columns",
    "render_comparison_html",
    "render_comparison_markdown",
    "render_comparison_text",
    "run_renderables",
    "run_rows",
    "runs_csv",
    "runs_table",
    "section_html",
    "section_renderables",
    "wrap_html",
]

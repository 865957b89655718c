"""Presentation of comparisons and run tables: terminal (rich), markdown and HTML.

Pure presentation: every function takes a :class:`~jupyter_mlops.comparing.Comparison` or run entities that were
already loaded and returns text or rich renderables. Each comparison section is laid out once
(:mod:`.layout`); :mod:`.terminal` draws it with rich, :mod:`.markup` as markdown or escaped HTML, so the terminal,
a pull request and a notebook show the same content. Run lists live in :mod:`.tables`, one run as ``%track show``
draws it in :mod:`.run_view`.

Names are re-exported lazily (PEP 562): ``jupyter-mlops runs list`` imports only what a run table needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Cell": "layout",
    "Section": "layout",
    "comparison_labels": "layout",
    "comparison_sections": "layout",
    "describe_flags": "formatting",
    "format_duration": "formatting",
    "format_size": "formatting",
    "format_time": "formatting",
    "format_param": "formatting",
    "format_value": "formatting",
    "csv_cell": "safe",
    "rich_text": "safe",
    "terminal_text": "safe",
    "metric_columns": "tables",
    "run_renderables": "tables",
    "run_rows": "tables",
    "runs_csv": "tables",
    "runs_table": "tables",
    "comparison_renderables": "terminal",
    "render_comparison_text": "terminal",
    "section_renderables": "terminal",
    "RichText": "run_view",
    "run_html": "run_view",
    "run_text": "run_view",
    "run_views": "run_view",
    "render_comparison_html": "markup",
    "render_comparison_markdown": "markup",
    "section_html": "markup",
    "wrap_html": "markup",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

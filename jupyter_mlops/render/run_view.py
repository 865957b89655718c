"""One stored run as ``%track show`` draws it: escaped HTML for a notebook, plain text for a terminal.

Pure presentation over a :class:`~jupyter_mlops.tracking.view.RunView` that was already loaded (it reads only the
view's fields, no histories or snapshots). Names, tags, notes, param keys and values may hold anything (rows stored
before names were checked; notes keep newlines), so both forms drop control characters first
(:func:`~jupyter_mlops.render.safe.terminal_text`, as :mod:`.markup` does: HTML is often printed to a terminal too)
and the HTML escapes every user-provided text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jupyter_mlops.render.formatting import describe_flags
from jupyter_mlops.render.safe import terminal_text

if TYPE_CHECKING:
    from jupyter_mlops.tracking.view import RunView

__all__ = ["RichText", "run_html", "run_text", "run_views"]


class RichText:
    """Shows HTML in a notebook and plain text in a terminal (IPython's ``display`` picks the richest form).

    Args:
        html_text: the HTML form (already escaped).
        plain: the text form (already free of control characters).
    """

    def __init__(self, html_text: str, plain: str) -> None:
        self.html_text, self.plain = html_text, plain

    def _repr_html_(self) -> str:
        return self.html_text

    def __repr__(self) -> str:
        return self.plain


def run_views(view: RunView) -> tuple[str, str]:
    """The run as (HTML, plain text)."""
    return run_html(view), run_text(view)


def run_text(view: RunView) -> str:
    """The run's fields, params, metrics, data and notebook flags as terminal-safe lines."""
    lines = [f"{view.name} ({view.id[:8]}) · {view.experiment} · {view.status}", f"tags: {', '.join(view.tags) or '-'}"]
    if view.note:
        lines.append(f"note: {view.note}")
    if view.logging_errors:
        lines.append(f"logging errors: {view.logging_errors:,} metric points or params could not be stored")
    for title, items in (("params", view.params), ("metrics", view.metrics)):
        lines += [f"{title}:"] + [f"  {k} = {v}" for k, v in sorted(items.items())]
    lines += ["data:"] + [f"  {d.name} {d.kind} {d.hash[:24]}" for d in view.data_inputs]
    lines.append(f"notebook flags: {'; '.join(describe_flags(view.flags, view.flag_cells)) or 'none'}")
    # A note may hold escape sequences; a notebook's text output would run them (colours, a cleared screen).
    return "\n".join(terminal_text(line, multiline=True) for line in lines)


def _esc(value: Any) -> str:
    return html.escape(terminal_text(value, multiline=True))


def _table(title: str, items: Mapping[str, Any]) -> str:
    if not items:
        return ""
    rows = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in sorted(items.items()))
    return f"<h4>{_esc(title)}</h4><table>{rows}</table>"


def run_html(view: RunView) -> str:
    """The run as one HTML fragment (``<div class='jupyter-mlops-run'>``), every user text escaped."""
    data = {d.name: f"{d.kind} {d.hash[:20]}... {d.size or ''}" for d in view.data_inputs}
    flags = "".join(f"<li>{_esc(line)}</li>" for line in describe_flags(view.flags, view.flag_cells))
    head = (
        f"<h3>{_esc(view.name)} <small>{_esc(view.id[:8])} · {_esc(view.experiment)} · {_esc(view.status)}</small></h3>"
        f"<p>tags: {_esc(', '.join(view.tags) or '-')}</p>"
        + (f"<p>note: {_esc(view.note)}</p>" if view.note else "")
        + (f"<p><strong>logging errors: {view.logging_errors:,}</strong> metric points or params could not be "
           "stored</p>" if view.logging_errors else "")
    )
    body = _table("Params", view.params) + _table("Metrics", view.metrics) + _table("Data", data)
    warnings = f"<h4>Notebook flags</h4><ul>{flags}</ul>" if flags else ""
    return f"<div class='jupyter-mlops-run'>{head}{body}{warnings}</div>"

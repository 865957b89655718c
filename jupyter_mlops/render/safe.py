"""User text made safe to draw: no markup, no control characters, no spreadsheet formulas.

Everything a user (or anyone who can write to a shared store) typed, run names, tags, notes, param values and
keys, reaches a terminal through rich. Passed as a plain ``str``, rich reads ``[...]`` as markup: ``[/bold]``
raised ``MarkupError`` for every listing that showed it and ``[link=...]`` made a hyperlink. So every terminal
face draws user text as a :class:`rich.text.Text` built by :func:`rich_text`, which is never parsed as markup,
after :func:`terminal_text` dropped the control characters (escape sequences, bells, carriage returns, bidi
overrides) that the store refuses in new names but older rows, notes and code may still hold.

:func:`csv_cell` applies OWASP's rule against CSV formula injection to one cell. Standard library only; rich is
imported inside :func:`rich_text`.
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_mlops.store.checks import CONTROL_CHARACTERS

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def terminal_text(value: Any, *, multiline: bool = False) -> str:
    r"""Text without control characters; tabs become spaces, newlines too unless ``multiline``.

    Example:
        >>> terminal_text("run\x1b]0;TITLE\x07\x1b[2J")
        'run]0;TITLE[2J'
        >>> terminal_text("line one\r\nline two", multiline=True)
        'line one\nline two'
    """
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\t", " ")
    if multiline:
        return "\n".join(_CONTROL.sub("", line) for line in text.split("\n"))
    return _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " "))


def rich_text(value: Any, style: str = "", *, multiline: bool = False) -> Any:
    """A :class:`rich.text.Text` of :func:`terminal_text`: drawn as it reads, never parsed as rich markup."""
    from rich.text import Text

    return Text(terminal_text(value, multiline=multiline), style=style)


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: prefix ``'`` to a leading ``= + - @``, tab, CR).

    Numbers, and text that is just a number (``-0.5``, ``+1e3``), are left alone: a spreadsheet reads them as
    numbers, not formulas.

    Example:
        >>> csv_cell("=1+2"), csv_cell("@SUM(A1)"), csv_cell("-0.5"), csv_cell(-0.5)
        ("'=1+2", "'@SUM(A1)", '-0.5', -0.5)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value

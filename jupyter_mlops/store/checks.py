"""Checks on what the store is asked to write: names and tags (no control characters), run fields, paging.

Run names, experiment names, tags, param keys and metric keys are drawn in terminals (``runs list``), tables,
logs and the sidebar. A control character there (an ANSI escape sequence, a carriage return, a bell, a bidi
override) rewrites what the reader sees, so the store refuses it when the name is written: one check in the
store's write primitives, which every face (Python API, ``%track``, CLI, REST) goes through. Notes are multi-line
text and are not checked; the terminal faces strip their control characters when drawing them
(:mod:`jupyter_mlops.render.safe`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from jupyter_mlops.entities import RunStatus
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store.rows import error_count

#: The largest limit or offset a search takes (SQLite's integers are signed 64-bit).
MAX_PAGING = 2**63 - 1

#: C0 controls (``\t``, ``\n`` and ``\x1b`` included), DEL, C1 controls and the bidi embedding/override/isolate
#: characters that reorder what a terminal shows ("Trojan Source").
CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def check_name(value: object, what: str) -> None:
    r"""Refuse a name holding a control character.

    Args:
        value: the name; anything but a string is left to the caller's own type check.
        what: what the name names, for the message (``"run name"``, ``"tag"``, ``"metric name"``...).

    Raises:
        InvalidInput: one line that shows the name with the character escaped.

    Example:
        >>> check_name("lr", "param name")
        >>> check_name("a\x1b[2J", "run name")
        Traceback (most recent call last):
        ...
        jupyter_mlops.errors.InvalidInput: run name 'a\x1b[2J' holds a control character ('\x1b'); ...
    """
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found is not None:
            shown = value if len(value) <= 60 else value[:59] + "…"
            raise InvalidInput(f"{what} {shown!r} holds a control character ({found.group()!r}); "
                               "names and tags must be printable text")


def check_names(values: Iterable[object], what: str) -> None:
    """:func:`check_name` for each value."""
    for value in values:
        check_name(value, what)


def check_paging(limit: int | None, offset: int) -> None:
    """Refuse a negative limit or offset, or one past :data:`MAX_PAGING`."""
    # Beyond a signed 64-bit integer the driver raises OverflowError, which is not a database error.
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and not 0 <= value <= MAX_PAGING:
            raise InvalidInput(f"{name} must be between 0 and {MAX_PAGING}, got {str(value)[:30]}")


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags stripped of surrounding blanks; an empty tag or one holding a control character is refused."""
    if isinstance(tags, str):
        tags = [tags]
    cleaned = [str(t).strip() for t in tags]
    if any(not t for t in cleaned):
        raise InvalidInput("a tag cannot be empty")
    check_names(cleaned, "tag")
    return cleaned


#: The run columns ``update_run``/``patch_run`` may set.
UPDATABLE = frozenset({"name", "status", "end_time", "note", "notebook_path", "git_commit", "git_dirty",
                       "code_hash", "notebook_hash", "env_hash", "flags", "heartbeat", "logging_errors"})


def checked_run_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise ``update_run`` fields (flags are merged later, against the stored ones)."""
    unknown = sorted(set(fields) - UPDATABLE)
    if unknown:
        allowed = ", ".join(sorted(UPDATABLE))
        raise InvalidInput(f"cannot update run field(s) {', '.join(unknown)}; allowed: {allowed}")
    values = dict(fields)
    if "status" in values:
        try:
            values["status"] = RunStatus(str(values["status"])).value
        except ValueError:
            raise InvalidInput(f"unknown run status {values['status']!r}") from None
    if "name" in values and not str(values["name"] or "").strip():
        raise InvalidInput("a run name cannot be empty")
    check_name(values.get("name"), "run name")
    if "note" in values:
        values["note"] = values["note"] or ""
    if "logging_errors" in values:
        values["logging_errors"] = error_count(values["logging_errors"])
    return values

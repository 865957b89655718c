"""Short text for values, times, durations and sizes (stdlib only: the run list imports it on cold start)."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

_MAX_VALUE = 80
#: The notebook-state flags in words, in the order they are listed (the sidebar's FLAG_WORDS say the same).
FLAG_WORDS = {
    "out_of_order": "executed out of order",
    "edited_after_run": "cells edited after they ran",
    "kernel_restarted": "kernel restarted during the run",
    "cells_rerun": "cells run more than once",
}
_MAX_CELLS_SHOWN = 12


def format_value(value: Any, limit: int = _MAX_VALUE) -> str:
    """A param/metric value as short text: ``—`` for missing, 6 significant digits for floats, JSON for lists."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_param(value: Any, limit: int = _MAX_VALUE) -> str:
    """A param as it was given: floats keep their shortest exact form (``1.0`` stays ``1.0``, not ``1``).

    Metrics are measurements and read best rounded (:func:`format_value`); a param is a setting someone typed,
    and ``C = 1.0`` shown as ``1`` reads as a different (integer) setting.
    """
    if isinstance(value, float) and math.isfinite(value):
        text = repr(value)
        return text if len(text) <= limit else f"{value:.6g}"
    return format_value(value, limit)


def format_time(epoch: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM``."""
    if epoch is None:
        return "—"
    return _dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def iso_time(epoch: float | None) -> str | None:
    """An epoch time as ISO 8601 in UTC with milliseconds (``2026-12-07T01:41:08.123+00:00``), for files."""
    if epoch is None:
        return None
    return _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc).isoformat(timespec="milliseconds")


def format_duration(seconds: float | None) -> str:
    """Seconds as ``4.2s``, ``3m 05s`` or ``2h 03m``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_size(size: int | None) -> str:
    """Bytes as a short human size."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def describe_flags(flags: Mapping[str, bool], cells: Mapping[str, Sequence[int]] | None = None) -> list[str]:
    """Raised notebook-state flags in words, with the cells that raised them: ``executed out of order: cells 4, 2, 5``.

    Known flags come in their documented order, then any other raised flag by name.
    """
    order = [*FLAG_WORDS, *sorted(set(flags) - set(FLAG_WORDS))]
    lines = []
    for flag in (f for f in order if flags.get(f)):
        text = FLAG_WORDS.get(flag, flag.replace("_", " "))
        numbers = list((cells or {}).get(flag, ()))
        if numbers:
            shown = ", ".join(str(n) for n in numbers[:_MAX_CELLS_SHOWN])
            shown += ", …" if len(numbers) > _MAX_CELLS_SHOWN else ""
            text += f": {'cell' if len(numbers) == 1 else 'cells'} {shown}"
        lines.append(text)
    return lines

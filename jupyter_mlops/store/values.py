"""How values are laid out in rows: params as JSON plus search columns, metrics with NaN as NULL, run names."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

from jupyter_mlops.entities import Metric
from jupyter_mlops.errors import InvalidInput

_ADJECTIVES = ("amber", "brisk", "calm", "dusty", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly", "keen",
               "lucky", "mellow", "nimble", "odd", "proud", "quiet", "rapid", "shy", "tidy", "vivid", "witty")
_NOUNS = ("otter", "heron", "lynx", "moth", "panda", "quail", "raven", "seal", "tapir", "viper", "wombat", "yak",
          "badger", "crane", "dingo", "egret", "finch", "gecko", "ibis", "koala", "lemur", "newt")


def new_run_name() -> str:
    """A readable generated run name such as ``brisk-otter-042``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randrange(1000):03d}"


def _plain(value: Any) -> Any:
    # numpy scalars and similar expose .item(); anything else that JSON cannot hold is kept as its text.
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)


def encode_param(value: Any) -> tuple[str, float | None, str]:
    """A param value as ``(json_text, num_value, text_value)``.

    ``num_value`` is set for numbers (not booleans) and for strings that read as a finite number, so that
    ``params.lr = 0.1`` matches whether ``lr`` was logged as ``0.1`` or ``"0.1"``. ``text_value`` is the string
    itself for strings and the JSON text otherwise (``true``, ``[1, 2]``).
    """
    try:
        text = json.dumps(value, default=_plain, allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError):
        raise InvalidInput(f"param value of type {type(value).__name__} cannot be stored") from None
    decoded = json.loads(text) if not isinstance(value, (str, int, float, bool)) or value is None else value
    number: float | None = None
    try:
        if isinstance(decoded, (int, float)) and not isinstance(decoded, bool):
            number = float(decoded)
        elif isinstance(decoded, str):
            number = float(decoded.strip())
    except (ValueError, OverflowError):  # text that is no number; an int beyond float range is kept as JSON only
        number = None
    if number is not None and math.isnan(number):
        number = None
    return text, number, decoded if isinstance(decoded, str) else text


#: Column order of the tuples :func:`metric_rows` returns.
METRIC_COLUMNS = ("run_id", "key", "step", "value", "timestamp")


def _coerce(key: Any, value: Any, step: Any, stamp: Any) -> tuple[float, int, float]:
    try:
        return float(value), int(step), float(stamp)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"metric {key!r} needs a numeric value, step and timestamp") from None


def metric_rows(run_id: str, metrics: Sequence[Metric]) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """History rows (tuples in :data:`METRIC_COLUMNS` order) plus one latest row per key (dicts).

    The latest point of a key is the one with the highest step, then the latest timestamp. NaN becomes NULL
    (SQLite cannot store NaN); infinities are stored as they are.

    Raises:
        InvalidInput: a metric with an empty key or a value that is not a number.
    """
    return metric_tuple_rows(run_id, [(m.key, m.value, m.step, m.timestamp) for m in metrics])


def metric_tuple_rows(
    run_id: str, points: Iterable[tuple[Any, Any, Any, Any]]
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Like :func:`metric_rows` for plain ``(key, value, step, timestamp)`` tuples (the writer's format).

    This loop runs for every logged point, so it avoids per-point objects and conversions when the values
    already have the right types.
    """
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    latest: dict[str, tuple[Any, ...]] = {}
    for key, value, step, stamp in points:
        if type(value) is not float or type(step) is not int or type(stamp) is not float:
            value, step, stamp = _coerce(key, value, step, stamp)
        row = (run_id, key, step, None if value != value else value, stamp)
        append(row)
        best = latest.get(key)
        if best is None or step > best[2] or (step == best[2] and stamp >= best[4]):
            latest[key] = row
    for key in latest:
        if not isinstance(key, str) or not key:
            raise InvalidInput("a metric needs a non-empty string key")
    return rows, [dict(zip(METRIC_COLUMNS, row, strict=True)) for row in latest.values()]

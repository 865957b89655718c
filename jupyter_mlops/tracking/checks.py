r"""Values checked where they enter the tracker, so that a bad value costs its own call and nothing else.

Assumptions:
    * Metric points and params are written later, on the writer thread, where a failure can no longer reach the
      caller. A value the store cannot hold is therefore refused here, with a one-line
      :class:`~jupyter_mlops.errors.InvalidInput`, or made storable before it is queued (ADR-017).
    * Text is stored as UTF-8. Python decodes a non-UTF-8 file name in ``sys.argv`` or ``os.listdir`` into lone
      surrogates (``surrogateescape``); the user rarely chose them (autolog records argv), so they are escaped
      (``caf\xe9.csv``) instead of refused.
    * Steps are signed 64-bit integers and metric values 64-bit floats (NaN and infinities are allowed: the store
      keeps NaN as NULL). Param values are JSON: nested at most :data:`MAX_DEPTH` levels (a list that contains
      itself reaches it too) with at most :data:`MAX_ITEMS` items, integers at most :data:`MAX_INT_BITS` bits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store.checks import check_name

__all__ = ["metric_number", "metric_step", "name", "native", "storable_text"]

#: The range of a stored step (a signed 64-bit integer column).
STEP_MIN, STEP_MAX = -(2**63), 2**63 - 1
#: Deepest nesting of lists/dicts in a param value.
MAX_DEPTH = 64
#: Most list items plus dict entries in one param value.
MAX_ITEMS = 100_000
#: Largest integer in a param value, in bits (JSON keeps it exactly; Python refuses to print ints over 4,300 digits).
MAX_INT_BITS = 4096


def storable_text(text: str) -> str:
    r"""``text`` with lone surrogates escaped, so that it encodes as UTF-8.

    A surrogate standing for an undecodable byte (``\udce9`` for byte ``0xe9``) becomes ``\xe9``; any other lone
    surrogate becomes ``\ud800``-style text.

    Example:
        >>> storable_text("caf\udce9.csv")
        'caf\\xe9.csv'
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_escape(char) for char in text)
    return text


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    return char


def shown(value: Any, limit: int = 60) -> str:
    """A short printable form of ``value`` for an error message (never raises, never floods a line)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not replace the message it is quoted in
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def name(key: Any, what: str = "param or metric name") -> str:
    """A param or metric name, storable.

    A control character is refused here, at the call, with the store's own rule: the writer batches points, so a
    refusal inside the store would cost the batch's other rows too.

    Raises:
        InvalidInput: not a non-empty string, or a name holding a control character.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"names of params and metrics must be non-empty strings, not {shown(key)}")
    text = storable_text(key)
    check_name(text, what)
    return text


def metric_number(key: str, value: Any) -> float:
    """A metric value as a float.

    Raises:
        InvalidInput: not a number, or beyond the float range (``10**400``).
    """
    try:
        return float(value)
    except OverflowError:
        raise InvalidInput(f"metric {key!r}: {shown(value)} is too large for a 64-bit float") from None
    except (TypeError, ValueError):
        raise InvalidInput(f"metric {key!r} must be a number, not {shown(value)}") from None


def metric_step(key: str, step: Any) -> int:
    """A step as an int within the stored signed 64-bit range.

    Raises:
        InvalidInput: not an integer, or out of range.
    """
    if not isinstance(step, int):
        try:
            step = int(step)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(f"step must be an integer, not {shown(step)}") from None
    if not STEP_MIN <= step <= STEP_MAX:
        raise InvalidInput(f"metric {key!r}: step {shown(step)} is outside the 64-bit range (-2**63 to 2**63-1)")
    return int(step)


def native(value: Any) -> Any:
    """Turn a param value into plain JSON types, keeping ints, floats, bools, strings, lists and dicts.

    Tuples and sets become lists, paths and unknown objects their text, numpy/pandas scalars their Python value;
    text is made storable (:func:`storable_text`).

    Raises:
        InvalidInput: nested deeper than :data:`MAX_DEPTH` (or containing itself), more than :data:`MAX_ITEMS`
            items, or an integer of more than :data:`MAX_INT_BITS` bits.

    Example:
        >>> native((1, 2.5, {"a": True}))
        [1, 2.5, {'a': True}]
    """
    kind = type(value)
    if kind is str:  # the common scalars skip building a converter
        return value if value.isascii() else storable_text(value)
    if value is None or kind is float or kind is bool:
        return value
    return _Converter().convert(value, 0)


class _Converter:
    """One conversion: counts items across the whole value, so a wide value is refused as well as a deep one."""

    def __init__(self) -> None:
        self.items = 0

    def convert(self, value: Any, depth: int) -> Any:
        # Exact types first: config dicts of str/int/float are the common case and isinstance on ABCs is slow.
        kind = type(value)
        if kind is str:
            return value if value.isascii() else storable_text(value)
        if value is None or kind is float or kind is bool:
            return value
        if kind is int:
            return _checked_int(value)
        if kind is dict or kind is list or kind is tuple:
            return self._container(value, depth, kind is dict)
        return self._other(value, depth)

    def _container(self, value: Any, depth: int, mapping: bool) -> Any:
        if depth >= MAX_DEPTH:
            raise InvalidInput(f"a param value is nested more than {MAX_DEPTH} levels deep (or contains itself)")
        self.items += len(value)
        if self.items > MAX_ITEMS:
            raise InvalidInput(f"a param value holds more than {MAX_ITEMS:,} items; log it as an artifact instead")
        if mapping:
            return {k if type(k) is str and k.isascii() else storable_text(str(k)): self.convert(v, depth + 1)
                    for k, v in value.items()}
        return [self.convert(v, depth + 1) for v in value]

    def _other(self, value: Any, depth: int) -> Any:
        if isinstance(value, (bool, float)):
            return value
        if isinstance(value, int):
            return _checked_int(value)
        if isinstance(value, str):
            return storable_text(value)
        if isinstance(value, (Mapping, list, tuple, set, frozenset)):
            return self._container(value, depth, isinstance(value, Mapping))
        if isinstance(value, os.PathLike):
            path = os.fspath(value)
            return storable_text(path if isinstance(path, str) else os.fsdecode(path))
        item = getattr(value, "item", None)  # numpy/pandas scalars
        if callable(item) and getattr(value, "ndim", 1) == 0:
            try:
                return self.convert(item(), depth)
            except (TypeError, ValueError):
                pass
        return storable_text(str(value))


def _checked_int(value: int) -> int:
    if value.bit_length() > MAX_INT_BITS:
        raise InvalidInput(f"a param value holds {shown(value)}; at most {MAX_INT_BITS} bits can be stored")
    return value

"""Helpers that converted packages and scripts call at run time (standard library only, imported by generated code).

``%%track metrics`` and ``%%track params`` record only some of the names their cell assigns: a metrics cell that
also builds ``clf = LogisticRegression()`` logs the numbers, not the model. The generated code keeps that rule by
passing every assigned name through :func:`tracked_metrics` / :func:`tracked_params`, which apply the same tests
as the magics (``jupyter_mlops.magics``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_number(value: Any) -> bool:
    """True for a value ``%%track metrics`` records: a real scalar (not bool, str or bytes) that ``float()`` takes."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return getattr(value, "ndim", 0) == 0


def tracked_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of ``values`` as floats (what ``%%track metrics`` logs of its cell's assignments)."""
    return {name: float(value) for name, value in values.items() if is_number(value)}


def tracked_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that are not functions, classes or modules (what ``%%track params`` logs)."""
    return {
        name: value
        for name, value in values.items()
        if not callable(value) and type(value).__name__ != "module"
    }

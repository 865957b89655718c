"""Helpers that converted packages and scripts call at run time (standard library only, imported by generated code).

``%%track metrics`` and ``%%track params`` record only some of the names their cell assigns: a metrics cell that
also builds ``clf = LogisticRegression()`` logs the numbers, not the model. The generated code keeps that rule by
passing every assigned name through :func:`tracked_metrics` / :func:`tracked_params`, which apply the same tests
as the magics (``jupyter_mlops.ipython.magics`` calls these same functions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_number(value: Any) -> bool:
    """True for a value ``%%track metrics`` records: a real scalar (not bool, str or bytes) that ``float()`` takes.

    A number too large for a float (``10**400``) is a number all the same: logging it gives the one-line
    "too large" error of ``log_metrics`` instead of an ``OverflowError`` here.
    """
    if value is None or isinstance(value, (bool, str, bytes)):
        return False
    try:
        float(value)
    except OverflowError:
        pass
    except (TypeError, ValueError):
        return False
    return getattr(value, "ndim", 0) == 0


def is_param_value(value: Any) -> bool:
    """True for a value ``%%track params`` records: not a function, class or module."""
    return not callable(value) and type(value).__name__ != "module"


def tracked_metrics(values: Mapping[str, Any]) -> dict[str, Any]:
    """The numeric entries of ``values`` (what ``%%track metrics`` logs of its cell's assignments).

    Values are passed on as they are: ``log_metrics`` turns them into floats and refuses, in one line, a number no
    float holds.
    """
    return {name: value for name, value in values.items() if is_number(value)}


def tracked_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that are not functions, classes or modules (what ``%%track params`` logs)."""
    return {name: value for name, value in values.items() if is_param_value(value)}

"""Metrics on slices of the data (ADR-070): what a slice may be, and logging a metric per group of a DataFrame.

Assumptions:
    * A slice is a small mapping of dimension names to values (``{"region": "EU"}``), stored as its canonical
      label (:func:`~jupyter_mlops.entities.slice_label`). Names are non-empty strings of at most
      :data:`MAX_NAME` characters; values are text, whole or finite numbers, booleans or dates (numpy and pandas
      scalars included), at most :data:`MAX_VALUE` characters as text. Anything else is refused at the call with a
      one-line :class:`~jupyter_mlops.errors.InvalidInput`, before anything is queued.
    * Slice values come from data, so they pass the run's redaction like every other stored text: a value that
      looks like a secret, or any value of a secret-named dimension (``password``), is stored as ``***``.
    * :func:`sliced_values` never imports pandas: it calls the frame's own ``groupby``. At most :data:`MAX_SLICES`
      groups are measured per call (a ``by`` on an id column would otherwise log a value per row).
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from jupyter_mlops.entities import SLICE_MAX_BYTES, SLICE_MAX_DIMENSIONS, SliceMetric, slice_label
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.tracking import checks
from jupyter_mlops.tracking.checks import metric_number, shown, storable_text

__all__ = ["MAX_NAME", "MAX_SLICES", "MAX_VALUE", "label_of", "redact_dims", "sliced_points", "sliced_values"]

logger = logging.getLogger(__name__)

#: Longest dimension name, in characters.
MAX_NAME = 100
#: Longest dimension value as text, in characters.
MAX_VALUE = 200
#: Most groups one ``log_sliced_metrics`` call measures.
MAX_SLICES = 1000


def _value_text(name: str, value: Any) -> str:
    item = getattr(value, "item", None)  # numpy/pandas scalars
    if callable(item) and getattr(value, "ndim", 1) == 0 and not isinstance(value, (str, datetime.date)):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, str):
        text = storable_text(value)
    elif isinstance(value, (bool, int)):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"slice {name!r}: the value {value} cannot name a slice")
        text = repr(value)
    elif isinstance(value, (datetime.date, datetime.time)):
        text = value.isoformat()
    else:
        raise InvalidInput(f"slice {name!r}: values must be text, numbers, booleans or dates, not "
                           f"{type(value).__name__} {shown(value)}")
    if len(text) > MAX_VALUE:
        raise InvalidInput(f"slice {name!r}: a value longer than {MAX_VALUE} characters cannot name a slice")
    return text


def dims_of(value: Any) -> dict[str, str] | None:
    """A ``slice=`` argument as ``{name: text}``; None (or ``{}``) means the unsliced metric.

    Raises:
        InvalidInput: not a mapping, too many dimensions, a name that is not a non-empty string of at most
            :data:`MAX_NAME` characters, or a value :func:`_value_text` refuses.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput(f"slice must be a dict of dimension names to values, such as {{'region': 'EU'}}; "
                           f"got {type(value).__name__} {shown(value)}")
    if not value:
        return None
    if len(value) > SLICE_MAX_DIMENSIONS:
        raise InvalidInput(f"a slice has at most {SLICE_MAX_DIMENSIONS} dimensions, not {len(value)}")
    dims: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"slice dimension names must be non-empty strings, not {shown(name)}")
        if len(name) > MAX_NAME:
            raise InvalidInput(f"a slice dimension name is longer than {MAX_NAME} characters")
        dims[storable_text(name)] = _value_text(name, item)
    return dims


def label_of(value: Any, clean: Callable[[dict[str, str]], Mapping[str, Any]] | None = None) -> str | None:
    """The stored label of a ``slice=`` argument (None: unsliced), secrets masked by ``clean``.

    Raises:
        InvalidInput: a bad slice (see :func:`dims_of`), or a label over the store's size limit.
    """
    dims = dims_of(value)
    if dims is None:
        return None
    if clean is not None:
        dims = {str(k): str(v) for k, v in clean(dims).items()}
    label = slice_label(dims)
    if len(label.encode("utf-8")) > SLICE_MAX_BYTES:
        raise InvalidInput(f"a slice label is longer than {SLICE_MAX_BYTES} bytes; use fewer or shorter values")
    return label


def sliced_values(frame: Any, by: str | Sequence[str], metrics: Mapping[str, Callable[[Any], Any]],
                  ) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Each metric function applied to each group of ``frame``: ``[(slice, {key: value}), ...]``, by group.

    A function that raises on one group (a score undefined for a single class) gives NaN for that slice and a
    warning naming it: the gate then refuses to judge that slice instead of passing it.

    Raises:
        InvalidInput: ``frame`` has no ``groupby``, ``by`` names no column, no metric functions, a key or result
            that is not a number, more than :data:`MAX_SLICES` groups.
    """
    columns = [by] if isinstance(by, str) else list(by)
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise InvalidInput("by must name one column or a list of columns of the frame")
    if not isinstance(metrics, Mapping) or not metrics or not all(callable(f) for f in metrics.values()):
        raise InvalidInput("metrics must be a dict of metric names to functions, such as {'auc': score}")
    if not callable(getattr(frame, "groupby", None)):
        raise InvalidInput(f"log_sliced_metrics needs a pandas DataFrame, not {type(frame).__name__}")
    missing = [c for c in columns if c not in getattr(frame, "columns", ())]
    if missing:
        raise InvalidInput(f"by: no column {missing[0]!r} in the frame")
    groups = frame.groupby(columns if len(columns) > 1 else columns[0], sort=True, observed=True)
    if groups.ngroups > MAX_SLICES:
        raise InvalidInput(f"by={by!r} makes {groups.ngroups} slices; at most {MAX_SLICES} are logged per call")
    out = []
    for keys, group in groups:
        values = keys if isinstance(keys, tuple) else (keys,)
        dims = dict(zip(columns, values, strict=True))
        out.append((dims, {key: _measure(key, fn, group, dims) for key, fn in metrics.items()}))
    return out


def _measure(key: str, fn: Callable[[Any], Any], group: Any, dims: Mapping[str, Any]) -> float:
    try:
        result = fn(group)
    except Exception as exc:  # one undefined slice must not cost the others; NaN makes the gate refuse it
        logger.warning("jupyter_mlops: metric %r failed on slice %s (%s: %s); logged as NaN", key,
                       ", ".join(f"{k}={v}" for k, v in dims.items()), type(exc).__name__, exc)
        return math.nan
    return metric_number(key, result)


def redact_dims(dims: dict[str, str]) -> Mapping[str, Any]:
    """A slice's dimensions with secrets masked, by the rules params follow."""
    from jupyter_mlops.capture import redact

    return redact.redact_mapping(dims)


StepKey = tuple[str, str]


def sliced_points(values: Iterable[tuple[Any, Mapping[str, Any]]], step: int | None, timestamp: float | None,
                  steps: Mapping[StepKey, int], clean_name: Callable[[str], str],
                  clean_dims: Callable[[dict[str, str]], Mapping[str, Any]] | None,
                  ) -> tuple[list[SliceMetric], dict[StepKey, int]]:
    """The points of ``[(slice, {key: value}), ...]`` and the steps after them (each (key, slice) counts alone).

    Raises:
        InvalidInput: a missing or bad slice, a bad key, value, step or timestamp.
    """
    stamp = time.time() if timestamp is None else metric_number("timestamp", timestamp)
    points, after = [], dict(steps)
    for dims, metrics in values:
        label = label_of(dims, clean_dims)
        if label is None:
            raise InvalidInput("a sliced value needs a slice such as {'region': 'EU'}; an empty one means none")
        for key, value in metrics.items():
            name = checks.name(key, "metric name")
            number = metric_number(name, value)
            at = checks.metric_step(name, after.get((name, label), -1) + 1 if step is None else step)
            after[(name, label)] = at
            points.append(SliceMetric(clean_name(name), label, number, at, stamp))
    return points, after


def log_frame(run: Any, frame: Any, by: str | Sequence[str], metrics: Mapping[str, Callable[[Any], Any]], *,
              overall: bool = True, step: int | None = None) -> dict[str, dict[str, float]]:
    """``ActiveRun.log_sliced_metrics``: measure every group (and, with ``overall``, the whole frame), then log.

    Nothing is queued until every value is measured and checked.

    Returns:
        ``{slice label: {key: value}}`` as logged; the whole frame's values under the label ``""``.
    """
    run._check_open()
    measured = sliced_values(frame, by, metrics)
    whole = {key: metric_number(key, fn(frame)) for key, fn in metrics.items()} if overall else {}
    clean = redact_dims if run.redact else None
    labels = [label_of(dims, clean) for dims, _ in measured]  # refuses a bad slice before anything is queued
    run.log_sliced(measured, step)
    if whole:
        run.log_metrics(whole, step)
    return {**({"": whole} if whole else {}), **{str(label): values for label, (_, values) in zip(labels, measured,
                                                                                              strict=True)}}

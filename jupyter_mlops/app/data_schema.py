"""Editable expectation files (pandera YAML): infer one from data or from a run's profile, enforce one on data.

The schema part of ``data check --against data-schema.yaml`` is pandera's (ADR-069): its ``DataFrameSchema``
YAML round trip is the editable file, its ``infer_schema`` infers from data, and its lazy validation finds every
failing check at once. This module only adapts: a recorded profile becomes the same kind of schema (dtype,
``nullable``, a range check per numeric or datetime column, ``isin`` for a column whose categories are complete),
and pandera's failure cases become :class:`~jupyter_mlops.comparing.data_check.Anomaly` rows. Inferred schemas are
``strict`` (an extra column is an anomaly) and ``coerce`` (``int64`` data passes an ``Int64`` column); a change
of dtype family (numbers read as text) is reported before pandera's checks of that column, as the profile rules
report it.

pandera is imported inside functions: it costs about a second, and only schema files need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.comparing.data_check import Anomaly
from jupyter_mlops.errors import InvalidInput, NotFound

__all__ = ["infer_from_frame", "infer_from_profile", "load_schema", "validate"]

_HINT = "pip install 'jupyter_mlops[data]'"
_RANGE_CHECKS = ("greater_than", "less_than", "in_range", "equal_to")


def _pandera() -> Any:
    try:
        import pandera.pandas as pa
    except ImportError:
        raise InvalidInput(f"schema files need pandera: {_HINT}") from None
    return pa


def _strict_schema(pa: Any, schema: Any) -> Any:
    # Without the index: a file read again gets a fresh RangeIndex, and its bounds are not an expectation.
    return pa.DataFrameSchema(schema.columns, checks=schema.checks, strict=True, coerce=True, name=schema.name)


def infer_from_frame(frame: Any) -> str:
    """The schema pandera infers from a DataFrame, made strict, without the index, as YAML."""
    pa = _pandera()
    inferred = pa.infer_schema(frame)
    return str(_strict_schema(pa, inferred).to_yaml())


def _column_checks(pa: Any, column: Mapping[str, Any]) -> list[Any]:
    import pandas as pd

    family = column.get("family")
    low, high = column.get("min"), column.get("max")
    if family in ("integer", "float") and low is not None and high is not None:
        return [pa.Check.in_range(low, high)]
    if family == "datetime" and low is not None and high is not None:
        # As text, as pandera's own inference writes datetimes: YAML cannot hold a Timestamp, pandas compares
        # a datetime column with such text as with the instant it names (time zone included).
        return [pa.Check.in_range(str(pd.Timestamp(low)), str(pd.Timestamp(high)))]
    if family in ("string", "object", "categorical") and column.get("top_complete") and column.get("top"):
        return [pa.Check.isin([value for value, _ in column["top"]])]
    return []


def infer_from_profile(profile: Mapping[str, Any]) -> str:
    """A strict pandera schema (YAML) built from a recorded profile: dtype, nullable, ranges, categories."""
    pa = _pandera()
    columns = {}
    for column in profile.get("columns") or ():
        columns[str(column["name"])] = pa.Column(str(column.get("dtype")), checks=_column_checks(pa, column),
                                                 nullable=bool(column.get("nulls")))
    return str(pa.DataFrameSchema(columns, strict=True, coerce=True).to_yaml())


def load_schema(path: str | Path) -> Any:
    """A pandera schema from a YAML file.

    Raises:
        NotFound: no such file.
        InvalidInput: the file is not a pandera schema (malformed YAML, unknown dtype or check).
    """
    target = Path(path)
    pa = _pandera()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"schema file not found: {target}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read schema file {target}: {error}") from None
    try:
        schema = pa.DataFrameSchema.from_yaml(text)
    except Exception as error:  # yaml.YAMLError, TypeError (unknown dtype), KeyError, pandera's own errors
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidInput(f"{target} is not a valid pandera schema: {first}") from None
    if not isinstance(schema, pa.DataFrameSchema):
        raise InvalidInput(f"{target} is not a DataFrame schema")
    return schema


def _family_changes(schema: Any, frame: Any) -> list[Anomaly]:
    import pandas as pd

    from jupyter_mlops.capture.profile import dtype_family

    found = []
    for name, column in schema.columns.items():
        if name not in frame.columns or column.dtype is None:
            continue
        try:
            expected = dtype_family(pd.api.types.pandas_dtype(str(column.dtype)))
        except TypeError:
            continue
        actual = dtype_family(frame[name].dtype)
        if {expected, actual} <= {"string", "object"} or expected == actual:
            continue
        found.append(Anomaly(str(name), "dtype_change", f"dtype changed: {column.dtype} → {frame[name].dtype}",
                             str(column.dtype), str(frame[name].dtype)))
    return found


def _kind(check: str) -> str:
    if check == "column_in_dataframe":
        return "missing_column"
    if check == "column_in_schema":
        return "extra_column"
    if check.startswith(("dtype(", "coerce_dtype(")):
        return "dtype_change"
    if check == "not_nullable":
        return "nulls"
    if check.startswith(_RANGE_CHECKS):
        return "out_of_range"
    if check.startswith(("isin(", "notin(")):
        return "new_category"
    return "check_failed"


def validate(schema: Any, frame: Any) -> list[Anomaly]:
    """Every failing check of ``schema`` on ``frame`` (pandera, lazily), one anomaly per column and check."""
    pa = _pandera()
    anomalies = _family_changes(schema, frame)
    changed = {a.column for a in anomalies}
    try:
        schema.validate(frame, lazy=True)
        return anomalies
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    except pa.errors.SchemaError as error:  # a failure lazy mode does not collect (e.g. a dataframe check)
        return [*anomalies, Anomaly("", "check_failed", str(error).splitlines()[0])]
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in cases.itertuples(index=False):
        column = "" if not isinstance(row.column, str) else row.column
        check = str(row.check)
        if check.startswith(("column_in_dataframe", "column_in_schema")):
            column = str(row.failure_case)
        groups.setdefault((column, check), []).append(row.failure_case)
    for (column, check), failures in groups.items():
        kind = _kind(check)
        if column in changed and kind in ("dtype_change", "out_of_range", "check_failed", "new_category"):
            continue  # the dtype change above says it; checks on values of the wrong type only repeat it
        if kind in ("missing_column", "extra_column"):
            message = "column missing" if kind == "missing_column" else "column not in the schema"
        else:
            examples = list(dict.fromkeys(repr(_plain(f)) for f in failures))
            shown = ", ".join(examples[:3]) + (" …" if len(examples) > 3 else "")
            message = f"{check} failed for {len(failures)} value{'s' * (len(failures) != 1)}: {shown}"
        anomalies.append(Anomaly(column, kind, message, check, len(failures)))
    return anomalies


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, TypeError):
            return str(value)
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)

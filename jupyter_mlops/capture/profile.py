"""A compact per-column profile of a DataFrame or tabular file: what ``data check`` compares new data against.

Per column: dtype and its family (integer, float, boolean, datetime, timedelta, string, categorical, object),
non-null count, null share, min/max (numeric, datetime, timedelta), a quantile sketch (every 5 %), the distinct
count, and the top values with their shares (strings, categoricals, booleans, and numbers with few values).

Assumptions:
    * It must cost about what hashing the frame costs (ADR-067): counts, nulls, min and max read every value
      (numpy passes, no copies, min and max block by block so a column is read from memory once; when the frame is
      being recorded, its hashing pass gives them, ADR-081); quantiles,
      distinct counts and the top values of wide-valued columns come from a sample of :data:`SAMPLE_SIZE` rows:
      a run of 250 consecutive rows at a random place in each fortieth of the frame (stratified, so even a
      sorted file is covered end to end, and read from memory in 40 sequential runs rather than 10,000 random
      reads), seeded by the row count, so equal data gives equal profiles. A string column whose sample holds
      few values has them counted exactly over the whole column, so its category list is complete and shares
      exact. The distinct count of a sampled column is Haas and Stokes' Duj1 estimate (1998), which assumes a
      random sample (runs of sorted or repeated values bias it), and says so (``distinct_estimated``). A
      many-valued numeric column's sketch and distinct estimate come from every other sampled value (5,000
      rows, every stratum; ADR-120): sorting the sample was most of its cost.
    * Datetime quantiles are epoch seconds (timedeltas: seconds), so drift is computed on numbers; their min and
      max are ISO strings. Non-finite numbers (inf) become null in the JSON.
    * High-cardinality text is not copied into the profile: top values are kept only when the sample holds at most
      :data:`MAX_CATEGORIES` distinct values (a code, a country, a label), never for identifiers or free text.
    * pandas and numpy are imported inside functions: importing this module costs nothing.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PROFILE_VERSION", "dtype_family", "profile_file", "profile_frame", "profile_object", "read_table"]

logger = logging.getLogger(__name__)

PROFILE_VERSION = 1
#: Rows sampled for quantiles, distinct counts and top values.
SAMPLE_SIZE = 10_000
#: Probabilities of the quantile sketch: every 5 %.
QUANTILE_PROBS = tuple(i / 20 for i in range(21))
#: Top values kept per column; a column with at most this many values has its complete list.
TOP_K = 20
#: A sample with more distinct values than this is not categorical: no values are kept.
MAX_CATEGORIES = 50
#: Columns profiled per frame (a wider frame has its first ones profiled and says so).
MAX_COLUMNS = 1000
#: Files larger than this are not read a second time to be profiled when a cell reads them.
MAX_FILE_BYTES = 256 << 20

#: The sample is one run of consecutive rows at a random place in each of this many equal parts of the frame.
_STRATA = 40
_RUN = SAMPLE_SIZE // _STRATA
#: A many-valued numeric column's sketch and distinct estimate use every this-many-th sampled value (ADR-120).
_SKETCH_STEP = 2
#: Sample positions by row count (they depend on nothing else).
_SAMPLES: dict[int, Any] = {}
#: Profiles of files by identity (path, device, inode, size, mtime_ns): an unchanged file is read once.
_PROFILES: dict[tuple[str, int, int, int, int], dict[str, Any]] = {}
_DATETIME_UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def dtype_family(dtype: Any) -> str:
    """The family of a pandas/numpy dtype: what ``data check`` compares (``int64`` and ``Int64`` are one family)."""
    import pandas as pd
    from pandas.api import types as t

    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if t.is_bool_dtype(dtype):
        return "boolean"
    if t.is_integer_dtype(dtype):
        return "integer"
    if t.is_float_dtype(dtype):
        return "float"
    if t.is_datetime64_any_dtype(dtype):
        return "datetime"
    if t.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.StringDtype) or str(dtype) in ("str", "string"):
        return "string"
    if t.is_string_dtype(dtype):  # object dtype: strings as far as pandas can tell without looking
        return "object"
    return str(dtype)


def _number(value: Any) -> float | int | None:
    if isinstance(value, (bool,)):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    if float(number).is_integer() and abs(number) < 2**53 and not isinstance(value, float):
        return int(number)
    return number


def _sample_index(rows: int) -> Any:
    """Sorted row positions of the sample (all rows when the frame is small); seeded by ``rows``."""
    import numpy as np

    if rows <= SAMPLE_SIZE:
        return None
    cached = _SAMPLES.get(rows)
    if cached is None:
        if len(_SAMPLES) >= 8:
            _SAMPLES.clear()
        span = rows // _STRATA
        starts = np.arange(_STRATA) * span + np.random.default_rng(rows).integers(0, span - _RUN + 1, _STRATA)
        cached = _SAMPLES[rows] = (starts[:, None] + np.arange(_RUN)).ravel()
        cached.setflags(write=False)
    return cached


_PROBS: Any = None


def _sorted_stats(values: Any, total: int, sampled: bool) -> dict[str, Any]:
    """Quantiles, distinct count and (few-valued) top values of a sorted 1-D numpy array of non-null values."""
    import numpy as np

    global _PROBS
    n = len(values)
    out: dict[str, Any] = {}
    if n == 0:
        return {"distinct": 0, "distinct_estimated": False}
    if _PROBS is None:
        _PROBS = np.asarray(QUANTILE_PROBS)
    positions = _PROBS * (n - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    as_float = values.astype(np.float64, copy=False)
    quantiles = as_float[low] + (as_float[high] - as_float[low]) * (positions - low)
    out["quantiles"] = [_number(float(q)) for q in quantiles]
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    lengths = np.diff(np.append(starts, n))
    out.update(_distinct(len(starts), int(np.count_nonzero(lengths == 1)), n, total, sampled))
    if len(starts) <= TOP_K:
        order = np.argsort(-lengths, kind="stable")
        out["top"] = [[_number(values[starts[i]].item()), round(float(lengths[i]) / n, 6)] for i in order]
        out["top_complete"] = not sampled
    return out


def _sample_stats(sample: Any, total: int, sampled: bool) -> dict[str, Any]:
    """:func:`_sorted_stats` of a numeric sample; a many-valued column's from every other sampled value.

    Sorting is most of a float column's profile: ~26 ns a value here (numpy's sort without SIMD, 0.26 ms for
    10,000 values; partial selection of the 42 ranks the sketch needs was as slow on real samples). Half the
    sample (still every stratum) gives the quantile sketch and the distinct estimate of a many-valued column;
    a column with few values in it is sorted whole, so its top values and shares are exactly what they were
    (ADR-120).
    """
    import numpy as np

    if sampled and len(sample) > SAMPLE_SIZE // 2:
        stats = _sorted_stats(np.sort(sample[::_SKETCH_STEP]), total, True)
        if "top" not in stats:
            return stats
    return _sorted_stats(np.sort(sample), total, sampled)


def _distinct(seen: int, singletons: int, n: int, total: int, sampled: bool) -> dict[str, Any]:
    if not sampled or n >= total:
        return {"distinct": seen, "distinct_estimated": False}
    # Haas & Stokes' Duj1: N for an all-distinct sample, the values seen when none was seen only once.
    estimate = n * seen / (n - singletons + singletons * n / total)
    return {"distinct": int(min(total, round(estimate))), "distinct_estimated": True}


def _min_max(array: Any) -> tuple[Any, Any]:
    from jupyter_mlops.capture.frames import block_min_max

    return block_min_max(array)


def _numeric_column(array: Any, mask: Any, index: Any, family: str, unit: int = 1,
                    known: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Min/max and null count over every value, the rest over the sample. ``mask``: True where null, or None.

    ``known``: ``array``'s min and max when the caller has them (from the hashing pass), used when ``mask`` is None.
    """
    import numpy as np

    rows = len(array)
    out: dict[str, Any] = {}
    low: Any = None
    high: Any = None
    if mask is None and rows:
        low, high = known if known is not None else _min_max(array)
        if family == "float" and (np.isnan(low) or np.isnan(high)):  # NaN propagates: only then pay for a mask
            mask, low, high = np.isnan(array), None, None
    nulls = int(np.count_nonzero(mask)) if mask is not None else 0
    valid = array if not nulls else array[~mask]
    if len(valid) and low is None:
        low, high = _min_max(valid)
    if len(valid):
        if family in ("datetime", "timedelta"):
            out["min"], out["max"] = int(low), int(high)
        else:
            out["min"], out["max"] = _number(low.item()), _number(high.item())
    sample = array if index is None else array[index]
    if nulls and index is not None:
        sample = sample[~mask[index]]
    elif nulls:
        sample = valid
    stats = _sample_stats(sample, rows - nulls, index is not None)
    if "quantiles" in stats and "min" in out:  # the sketch's ends are the exact min and max, not the sample's
        stats["quantiles"][0], stats["quantiles"][-1] = _number(low.item()), _number(high.item())
    if unit != 1 and "quantiles" in stats:
        stats["quantiles"] = [None if q is None else q / unit for q in stats["quantiles"]]
    out.update(stats)
    return {"nulls": nulls, **out}


def _datetime_parts(series: Any, known: tuple[Any, Any] | None) -> tuple[Any, Any, int, Any, Any]:
    """Epoch integers, NaT mask (or None), unit divisor, unit name, and (min, max) when there is no NaT.

    NaT is the smallest int64, so a column holds one exactly when its minimum is NaT: the min/max pass (or the
    hashing pass's, ``known``) says whether a mask is needed, without a pass of its own.
    """
    import numpy as np

    array = series.array
    values = np.asarray(array.asi8)
    unit_name = getattr(series.dtype, "unit", None) or np.datetime_data(series.dtype)[0]
    unit = _DATETIME_UNITS.get(unit_name, 10**9)
    if not len(values):
        return values, None, unit, unit_name, None
    low_high = known if known is not None else _min_max(values)
    if low_high[0] != np.iinfo(np.int64).min:
        return values, None, unit, unit_name, low_high
    return values, values == np.iinfo(np.int64).min, unit, unit_name, None


def _iso(value: int, unit: str, tz: Any, family: str) -> str:
    import pandas as pd

    if family == "timedelta":
        return str(pd.Timedelta(value, unit=unit))
    return str(pd.Timestamp(value, unit=unit, tz=tz).isoformat())


def _categorical_column(series: Any, index: Any) -> dict[str, Any]:
    import numpy as np

    codes = np.asarray(series.array.codes)
    categories = series.array.categories
    nulls = int(np.count_nonzero(codes < 0))
    counts = np.bincount(codes[codes >= 0], minlength=len(categories)) if len(codes) else np.zeros(0, int)
    present = np.flatnonzero(counts)
    order = present[np.argsort(-counts[present], kind="stable")]
    valid = len(codes) - nulls
    out: dict[str, Any] = {"nulls": nulls, "distinct": int(len(present)), "distinct_estimated": False}
    out["top"] = [[_label(categories[i]), round(float(counts[i]) / valid, 6)] for i in order[:TOP_K]]
    out["top_complete"] = len(present) <= TOP_K
    out["categories"] = [_label(c) for c in categories[:MAX_CATEGORIES * 4]]
    return out


def _label(value: Any) -> Any:
    if isinstance(value, (str, bool)) or value is None:
        return value
    number = _number(value)
    return number if number is not None else str(value)


def _arrow_counts(chunked: Any) -> tuple[list[Any], Any]:
    """Values and counts (numpy, descending) of an Arrow array: pyarrow's hash count, without pandas' overhead."""
    import numpy as np
    import pyarrow.compute as pc

    counted = pc.value_counts(chunked)
    values = counted.field("values").drop_null() if counted.field("values").null_count else counted.field("values")
    counts = np.asarray(counted.field("counts"))
    if len(values) != len(counts):  # the null bucket: nulls are counted separately
        keep = np.asarray(counted.field("values").is_valid())
        counts = counts[keep]
    order = np.argsort(-counts, kind="stable")
    return [values[int(i)].as_py() for i in order[:TOP_K]], counts[order]


def _pandas_counts(series: Any) -> tuple[list[Any], Any]:
    counts = series.value_counts(dropna=True, sort=True)
    return list(counts.index[:TOP_K]), counts.to_numpy()


def _text_column(series: Any, index: Any) -> dict[str, Any]:
    rows = len(series)
    chunked = getattr(series.array, "_pa_array", None)
    count: Callable[[Any], tuple[list[Any], Any]]
    if chunked is not None:
        nulls = int(chunked.null_count)
        sample = chunked if index is None else chunked.take(index)
        count = _arrow_counts
    else:
        nulls = int(series.isna().sum())
        sample = series if index is None else series.iloc[index]
        count = _pandas_counts
    values, counts = count(sample)
    n = int(counts.sum())
    out: dict[str, Any] = {"nulls": nulls}
    seen = len(counts)
    out.update(_distinct(seen, int((counts == 1).sum()), n, rows - nulls, index is not None))
    if seen <= MAX_CATEGORIES:
        if index is not None:  # few values: count them exactly, so the list is complete and shares exact
            values, counts = count(chunked if chunked is not None else series)
            n = int(counts.sum())
            out.update({"distinct": len(counts), "distinct_estimated": False})
        out["top"] = [[_label(v), round(float(c) / n, 6)] for v, c in zip(values, counts[:TOP_K], strict=False)]
        out["top_complete"] = len(counts) <= TOP_K
    return out


def _column(series: Any, index: Any, known: tuple[Any, Any] | None = None) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    family = dtype_family(series.dtype)
    head: dict[str, Any] = {"name": str(series.name), "dtype": str(series.dtype), "family": family}
    rows = len(series)
    if family == "categorical":
        body = _categorical_column(series, index)
    elif family in ("datetime", "timedelta"):
        values, mask, unit, unit_name, low_high = _datetime_parts(series, known)
        body = _numeric_column(values, mask, index, family, unit, low_high)
        tz = getattr(series.dtype, "tz", None)
        for key in ("min", "max"):
            if key in body:
                body[key] = _iso(body[key], unit_name, tz, family)
        body.pop("top", None)  # raw epoch integers: the quantiles describe these columns
        body.pop("top_complete", None)
    elif family in ("integer", "float", "boolean"):
        array = series.array
        if hasattr(array, "_data") and hasattr(array, "_mask"):  # nullable Int64/Float64/boolean
            values, mask = np.asarray(array._data), np.asarray(array._mask)
            mask = mask if mask.any() else None
        elif isinstance(series.dtype, np.dtype):
            values, mask = series.to_numpy(), None
            if family == "boolean":
                known = None  # reduced below as int8, not as the hashing pass saw it
        else:  # Arrow-backed numbers: a float copy with NaN for nulls
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            mask, family = None, "float" if family != "boolean" else family
        if family == "boolean":
            values = values.astype(np.int8)
        body = _numeric_column(values, mask, index, "float" if values.dtype.kind == "f" else family,
                               known=known if mask is None and isinstance(series.dtype, np.dtype) else None)
        if family == "boolean":
            body.pop("quantiles", None)
            body["top"] = [[bool(v), share] for v, share in body.get("top", [])]
    else:
        body = _text_column(series, index)
    body["null_share"] = round(body["nulls"] / rows, 6) if rows else 0.0
    body["count"] = rows - body["nulls"]
    if isinstance(series.dtype, pd.CategoricalDtype):
        body.setdefault("top_complete", True)
    return {**head, **body}


def _safe_column(series: Any, index: Any, known: tuple[Any, Any] | None) -> dict[str, Any]:
    try:
        return _column(series, index, known)
    except Exception as exc:  # cells pandas cannot count (lists, dicts): the column keeps its name and dtype
        logger.info("not profiling column %s: %s", series.name, exc)
        return {"name": str(series.name), "dtype": str(series.dtype), "family": dtype_family(series.dtype),
                "unprofiled": f"{type(exc).__name__}: {exc}"[:200]}


def profile_frame(frame: Any, min_max: dict[int, tuple[Any, Any]] | None = None) -> dict[str, Any]:
    """The profile of a pandas DataFrame or Series.

    Args:
        frame: the DataFrame (a Series is profiled as a one-column frame).
        min_max: ``{column position: (min, max)}`` from ``capture.frames.describe_object(frame, min_max=...)``
            on this same frame (its hashing pass computed them): those columns are not read a second time. The
            profile is the same with or without it.

    Returns:
        ``{"version": 1, "rows": n, "sampled": bool, "sample_size": k, "columns": [column profile, ...]}``;
        ``"truncated": true`` when only the first :data:`MAX_COLUMNS` columns were profiled.

    Raises:
        Exception: whatever pandas raises on a frame it cannot read; :func:`profile_object` catches it.
    """
    import pandas as pd

    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    rows = int(frame.shape[0])
    index = _sample_index(rows)
    width = frame.shape[1]
    known = min_max or {}
    columns = [_safe_column(frame.iloc[:, i], index, known.get(i)) for i in range(min(width, MAX_COLUMNS))]
    profile: dict[str, Any] = {
        "version": PROFILE_VERSION,
        "rows": rows,
        "sampled": index is not None,
        "sample_size": SAMPLE_SIZE if index is not None else rows,
        "columns": columns,
    }
    if width > MAX_COLUMNS:
        profile["truncated"] = True
    return profile


def profile_object(obj: Any, min_max: dict[int, tuple[Any, Any]] | None = None) -> dict[str, Any] | None:
    """The profile of a DataFrame/Series (pandas; polars and Arrow tables through pandas), else None.

    ``min_max``: as for :func:`profile_frame` (pandas objects only). Never raises: a frame that cannot be profiled
    logs one warning and returns None.
    """
    module = type(obj).__module__.partition(".")[0]
    name = type(obj).__name__
    try:
        if module == "pandas" and name in ("DataFrame", "Series"):
            return profile_frame(obj, min_max)
        if module in ("polars", "pyarrow") and hasattr(obj, "to_pandas") and name in ("DataFrame", "Table"):
            return profile_frame(obj.to_pandas())
    except Exception as exc:
        logger.warning("could not profile %s object: %s", name, exc)
    return None


def read_table(path: str | os.PathLike[str]) -> Any:
    """Read a csv/tsv/parquet/feather file into a pandas DataFrame, as ``pd.read_csv`` would by default.

    Raises:
        ValueError: the file's suffix is not a tabular one.
        OSError, pandas errors: the file cannot be read.
    """
    import pandas as pd

    from jupyter_mlops.capture.frames import TABULAR_SUFFIXES

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in TABULAR_SUFFIXES:
        raise ValueError(f"not a tabular file (csv, tsv, tab, parquet, pq, feather): {target.name}")
    sep = TABULAR_SUFFIXES[suffix]
    if sep is not None:
        return pd.read_csv(target, sep=sep)
    if suffix == ".feather":
        return pd.read_feather(target)
    return pd.read_parquet(target)


def profile_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any] | None:
    """The profile of a tabular file (read with :func:`read_table`), or None.

    None for other file types, files larger than ``max_bytes`` and files that cannot be read (one warning).
    Never raises.
    """
    from jupyter_mlops.capture.frames import TABULAR_SUFFIXES
    from jupyter_mlops.capture.hashing import stat_key

    target = Path(path)
    if target.suffix.lower() not in TABULAR_SUFFIXES:
        return None
    try:
        key = stat_key(target)
        cached = _PROFILES.get(key)
        if cached is not None:
            return copy.deepcopy(cached)
        if target.stat().st_size > max_bytes:
            logger.info("not profiling %s: larger than %d bytes", target, max_bytes)
            return None
        profile = profile_frame(read_table(target))
    except Exception as exc:
        logger.warning("could not profile %s: %s", target, exc)
        return None
    if len(_PROFILES) > 256:
        _PROFILES.clear()
    _PROFILES[key] = profile
    return copy.deepcopy(profile)

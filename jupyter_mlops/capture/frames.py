"""Content hash and schema of in-memory data (DataFrames, Series, arrays, Arrow tables) and of tabular files.

An object's hash covers its schema (column names, dtypes, shape) and its values, read straight from the column
buffers: numpy memory for numeric/datetime columns, the Arrow buffers of Arrow-backed (e.g. pandas 3 string)
columns, codes plus categories for categoricals, and ``pandas.util.hash_pandas_object`` only as the fallback for
Python-object columns. The hash does not depend on memory layout (a column is hashed the same whether it sits in
a consolidated 2-D block or alone), so equal content gives equal hashes. Values under nulls are hashed as stored.

Recording a DataFrame also profiles it (``capture.profile``), and a profile needs each numeric column's exact min
and max: :func:`describe_object` can return them from the hashing pass itself (``min_max=``), each block reduced
while it is still in cache, so the column is read from memory once for both (ADR-081). The blocks are the
profile's own (:func:`block_min_max`), so the values are those a separate profile computes.

pandas, numpy and pyarrow are imported inside functions: importing this module costs nothing.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_mlops.capture.hashing import stat_key

__all__ = ["TABULAR_SUFFIXES", "block_min_max", "describe_object", "describe_tabular_file"]

logger = logging.getLogger(__name__)

ALGORITHM = "xxh3_128"
TABULAR_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".parquet": None, ".pq": None, ".feather": None}
#: Rows read to infer a CSV's columns and dtypes.
SAMPLE_ROWS = 1000
_COUNT_BLOCK = 8 << 20
#: Elements per min/max block (512 KiB of float64: stays in a core's L2 cache for the second reduction).
MIN_MAX_BLOCK = 1 << 16
#: Column kinds whose min and max the hashing pass computes: numbers and (as int64) datetimes and timedeltas.
_MIN_MAX_KINDS = frozenset("iufmM")
#: Schemas of files by identity (path, device, inode, size, mtime_ns): an unchanged file is not re-read.
_SCHEMAS: dict[tuple[str, int, int, int, int], dict[str, Any]] = {}


def _hasher() -> Any:
    import xxhash

    return xxhash.xxh3_128()


def _numpy_buffer(array: Any) -> Any:
    import numpy as np

    if array.dtype == object:
        return None
    contiguous = np.ascontiguousarray(array)
    return contiguous.view(np.uint8).reshape(-1) if contiguous.size else b""


def _arrow_buffers(chunked: Any) -> Iterator[Any] | None:
    """Canonical bytes of an Arrow array: offsets and data trimmed to the values, nulls as a byte mask."""
    import numpy as np
    import pyarrow as pa

    array = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
    if array.offset != 0 or array.type.num_buffers not in (2, 3) or pa.types.is_nested(array.type):
        return None  # sliced or nested layouts: let the generic path handle them
    buffers = array.buffers()
    parts: list[Any] = [str(array.type).encode()]
    if array.null_count:
        parts.append(np.asarray(array.is_null()).view(np.uint8))
    n = len(array)
    if array.type.num_buffers == 3:  # variable width: validity, offsets, data
        width = 8 if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type) else 4
        offsets = np.frombuffer(buffers[1], dtype=np.int64 if width == 8 else np.int32, count=n + 1)
        parts.append(offsets.view(np.uint8))
        if buffers[2] is not None:
            parts.append(memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])])
    elif buffers[1] is not None:
        bit_width = array.type.bit_width
        if bit_width % 8:
            parts.append(np.asarray(array.fill_null(False) if array.null_count else array).view(np.uint8))
        else:
            parts.append(memoryview(buffers[1])[: n * bit_width // 8])
    return iter(parts)


def _series_buffers(series: Any) -> Iterator[Any]:
    """Byte buffers that together determine a pandas Series' values."""
    import pandas as pd

    array = series.array
    if isinstance(series.dtype, pd.CategoricalDtype):
        yield from _series_buffers(pd.Series(array.codes))
        yield from _series_buffers(pd.Series(array.categories))
        return
    ndarray = getattr(array, "_ndarray", None)
    buffer = _numpy_buffer(ndarray) if ndarray is not None else None
    if buffer is None and hasattr(array, "_data") and hasattr(array, "_mask"):  # nullable Int64/boolean/Float
        buffer = _numpy_buffer(array._data)
        if buffer is not None:
            yield _numpy_buffer(array._mask)
    if buffer is None and hasattr(array, "_pa_array"):
        arrow = _arrow_buffers(array._pa_array)
        if arrow is not None:
            yield from arrow
            return
    if buffer is None:
        try:
            buffer = pd.util.hash_pandas_object(series, index=False).to_numpy().view("uint8")
        except TypeError:  # unhashable cells (dicts, lists): their JSON text, slow but rare
            buffer = json.dumps(series.tolist(), default=repr, sort_keys=True).encode()
    yield buffer


def _update(hasher: Any, buffers: Iterator[Any]) -> None:
    for buffer in buffers:
        view = memoryview(buffer)
        hasher.update(struct.pack("<Q", view.nbytes))  # length prefix: buffer boundaries are part of the content
        hasher.update(view)


def block_min_max(array: Any, visit: Any = None) -> tuple[Any, Any]:
    """Min and max of a 1-D numpy array, block by block: the second reduction reads the block from cache.

    ``visit`` (optional) is called with each block first, so a caller can hash it while it is in cache. A NaN
    propagates through both results, as through a plain ``min()`` and ``max()``.
    """
    import numpy as np

    if len(array) <= MIN_MAX_BLOCK:
        if visit is not None:
            visit(array)
        return array.min(), array.max()
    lows, highs = [], []
    for start in range(0, len(array), MIN_MAX_BLOCK):
        block = array[start:start + MIN_MAX_BLOCK]
        if visit is not None:
            visit(block)
        lows.append(block.min())
        highs.append(block.max())
    return np.min(lows), np.max(highs)


def _update_with_min_max(hasher: Any, series: Any) -> tuple[Any, Any] | None:
    """Hash a plain numpy column as :func:`_update` would, block by block, returning its min and max; else None.

    None (nothing hashed) for columns that are not plain non-empty numeric/datetime numpy arrays.
    """
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):  # its ``_ndarray`` is the codes: hashed with the categories
        return None
    ndarray = getattr(series.array, "_ndarray", None)
    if ndarray is None or ndarray.dtype.kind not in _MIN_MAX_KINDS or ndarray.ndim != 1 or not len(ndarray):
        return None
    contiguous = np.ascontiguousarray(ndarray)
    if contiguous.dtype.kind in "mM":  # the profile reads datetimes as int64 (``asi8``): reduce the same numbers
        contiguous = contiguous.view(np.int64)
    hasher.update(struct.pack("<Q", contiguous.nbytes))  # xxh3 streams: block updates hash as one buffer would
    return block_min_max(contiguous, lambda block: hasher.update(block.view(np.uint8)))


def _describe_pandas(obj: Any, min_max: dict[int, tuple[Any, Any]] | None = None) -> tuple[str, dict[str, Any]]:
    import pandas as pd

    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    columns = [{"name": str(name), "dtype": str(dtype)} for name, dtype in frame.dtypes.items()]
    schema: dict[str, Any] = {"columns": columns, "rows": int(frame.shape[0]), "shape": list(obj.shape)}
    hasher = _hasher()
    index = frame.index
    index_id = (
        ["range", index.start, index.stop, index.step] if isinstance(index, pd.RangeIndex) else ["values"]
    )
    hasher.update(json.dumps([type(obj).__name__, columns, schema["shape"], index_id]).encode())
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        found = _update_with_min_max(hasher, series) if min_max is not None else None
        if found is None:
            _update(hasher, _series_buffers(series))
        elif min_max is not None:
            min_max[position] = found
    if not isinstance(index, pd.RangeIndex):
        _update(hasher, _series_buffers(index.to_series(index=pd.RangeIndex(len(index)))))
    return f"{ALGORITHM}:{hasher.hexdigest()}", schema


def _describe_numpy(array: Any) -> tuple[str, dict[str, Any]] | None:
    buffer = _numpy_buffer(array)
    if buffer is None:
        try:
            import pandas as pd

            buffer = pd.util.hash_array(array.ravel()).view("uint8")
        except Exception:  # objects pandas cannot hash: no content hash
            return None
    shape = list(array.shape)
    schema = {"columns": [], "rows": shape[0] if shape else 1, "shape": shape, "dtype": str(array.dtype)}
    hasher = _hasher()
    hasher.update(json.dumps(["ndarray", array.dtype.str, shape]).encode())
    _update(hasher, iter([buffer]))
    return f"{ALGORITHM}:{hasher.hexdigest()}", schema


def _describe_arrow(table: Any) -> tuple[str, dict[str, Any]] | None:
    columns = [{"name": field.name, "dtype": str(field.type)} for field in table.schema]
    schema = {"columns": columns, "rows": table.num_rows, "shape": [table.num_rows, table.num_columns]}
    hasher = _hasher()
    hasher.update(json.dumps(["arrow", columns, schema["shape"]]).encode())
    for column in table.columns:
        buffers = _arrow_buffers(column)
        if buffers is None:
            buffers = iter([json.dumps(column.to_pylist(), default=str).encode()])
        _update(hasher, buffers)
    return f"{ALGORITHM}:{hasher.hexdigest()}", schema


def describe_object(obj: Any, min_max: dict[int, tuple[Any, Any]] | None = None) -> tuple[str, dict[str, Any]] | None:
    """Content hash and schema of a DataFrame, Series, numpy array, Arrow table or polars DataFrame.

    Args:
        obj: the object.
        min_max: when given and ``obj`` is a pandas DataFrame/Series, filled with ``{column position: (min,
            max)}`` for its plain numpy numeric, datetime (as int64) and timedelta columns, computed in the hashing
            pass; :func:`capture.profile.profile_frame` takes it to skip its own pass. The hash is the same.

    Returns:
        ``(hash, schema)`` with schema ``{"columns": [{"name", "dtype"}], "rows": n, "shape": [...]}``, or None
        for objects of other types or that cannot be hashed (one warning for the latter). Never raises.
    """
    module = type(obj).__module__.partition(".")[0]
    try:
        if module == "pandas" and type(obj).__name__ in ("DataFrame", "Series"):
            return _describe_pandas(obj, min_max)
        if module == "numpy" and hasattr(obj, "dtype") and hasattr(obj, "shape"):
            return _describe_numpy(obj)
        if module == "pyarrow" and hasattr(obj, "schema") and hasattr(obj, "columns"):
            return _describe_arrow(obj)
        if module == "polars" and hasattr(obj, "to_arrow"):
            arrow = obj.to_arrow()
            if hasattr(arrow, "schema"):
                return _describe_arrow(arrow)
            import pyarrow as pa

            return _describe_arrow(pa.table({getattr(obj, "name", "") or "values": arrow}))
    except Exception as exc:
        logger.warning("could not hash %s object: %s", type(obj).__name__, exc)
        return None
    return None


def _count_lines(path: Path) -> tuple[int, bool]:
    """Newlines in a file and whether it ends without one, streamed in large blocks."""
    count = 0
    last = ord("\n")
    buffer = bytearray(_COUNT_BLOCK)
    with open(path, "rb", buffering=0) as stream:
        while n := stream.readinto(buffer):
            count += buffer.count(b"\n", 0, n)
            last = buffer[n - 1]
    return count, last != ord("\n")


def _csv_schema(path: Path, sep: str) -> dict[str, Any]:
    import pandas as pd

    sample = pd.read_csv(path, sep=sep, nrows=SAMPLE_ROWS)
    columns = [{"name": str(name), "dtype": str(dtype)} for name, dtype in sample.dtypes.items()]
    if len(sample) < SAMPLE_ROWS:
        rows = len(sample)  # the whole file was read: exact, whatever quoting it uses
    else:
        newlines, unterminated = _count_lines(path)
        rows = newlines + int(unterminated) - 1  # minus the header line
    return {"columns": columns, "rows": rows, "shape": [rows, len(columns)], "dtypes_from": "sample"}


def _arrow_file_schema(path: Path) -> dict[str, Any]:
    import pyarrow as pa

    if path.suffix.lower() == ".feather":
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            arrow_schema = reader.schema
            rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    else:
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(path)
        arrow_schema = metadata.schema.to_arrow_schema()
        rows = metadata.num_rows
    # Report pandas dtype names, as the CSV path does, so a csv → parquet switch compares sensibly.
    dtypes = arrow_schema.empty_table().to_pandas().dtypes
    columns = [{"name": str(name), "dtype": str(dtype)} for name, dtype in dtypes.items()]
    return {"columns": columns, "rows": rows, "shape": [rows, len(columns)]}


def describe_tabular_file(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Columns, dtypes and row count of a csv/tsv/parquet/feather file, read cheaply.

    CSV dtypes are inferred from the first :data:`SAMPLE_ROWS` rows and rows are counted as newlines (quoted
    fields containing newlines make that an over-count); Parquet/Feather come from their metadata. Results are
    cached by file identity. Never raises.

    Args:
        path: the file.

    Returns:
        ``{"columns": [{"name", "dtype"}], "rows": n, "shape": [n, m]}``, or None for other file types and for
        files that cannot be read (one warning).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in TABULAR_SUFFIXES:
        return None
    try:
        key = stat_key(target)
        cached = _SCHEMAS.get(key)
        if cached is not None:
            return copy.deepcopy(cached)
        sep = TABULAR_SUFFIXES[suffix]
        schema = _csv_schema(target, sep) if sep is not None else _arrow_file_schema(target)
    except Exception as exc:
        logger.warning("could not read the schema of %s: %s", target, exc)
        return None
    if len(_SCHEMAS) > 4096:
        _SCHEMAS.clear()
    _SCHEMAS[key] = schema
    return copy.deepcopy(schema)

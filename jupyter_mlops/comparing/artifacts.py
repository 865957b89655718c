"""Artifact diffs as pure data: text, images, tables and JSON, each the way a person reads that kind (ADR-104).

Every function takes the two artifacts' bytes (baseline first) and returns a JSON-ready dict; images also return
PNG bytes (the changed-pixel overlay, and the two images side by side with it). Nothing here reads a store.

* **text** — a unified diff (``difflib``), with counts of added and removed lines;
* **image** (PNG, JPEG; Pillow) — sizes, the changed pixels (any channel differs, over the larger canvas when the
  sizes differ), their share and bounding box; the overlay shows changed pixels in red over the baseline faded
  to grey;
* **table** (CSV, TSV, Parquet; pandas) — columns added/removed, dtype changes, row counts, and per column the
  mean/std (numeric columns), nulls and distinct values of each side with the delta;
* **json** — paths (``$.model.layers[2]``) added, removed and changed.

Hostile inputs never raise anything but :class:`ArtifactDiffError` (an ``InvalidInput``) with one line: an
artifact over the size limit of its kind, an image over :data:`MAX_IMAGE_PIXELS` (a decompression bomb is
refused before it is decoded), binary content posing as text, a table or JSON that does not parse.
"""

from __future__ import annotations

import difflib
import io
import json
import math
from collections.abc import Callable
from typing import Any

from jupyter_mlops.errors import InvalidInput

__all__ = [
    "KINDS",
    "MAX_BYTES",
    "MAX_CHANGES",
    "MAX_IMAGE_PIXELS",
    "ArtifactDiffError",
    "diff_bytes",
    "diff_image",
    "diff_json",
    "diff_table",
    "diff_text",
    "kind_of",
]

#: File suffix → kind; anything else is sniffed (text when it decodes as UTF-8 without NUL bytes, else binary).
KINDS = {
    **dict.fromkeys((".txt", ".md", ".log", ".py", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".sql", ".sh", ".html",
                     ".xml", ".rst", ".tex", ".r"), "text"),
    ".png": "image", ".jpg": "image", ".jpeg": "image",
    ".csv": "table", ".tsv": "table", ".parquet": "table", ".pq": "table",
    ".json": "json", ".geojson": "json", ".ipynb": "json",
}
#: Largest artifact (each side) diffed, per kind: bigger ones are compared by hash and size only.
MAX_BYTES = {"text": 8 << 20, "image": 64 << 20, "table": 256 << 20, "json": 32 << 20}
#: Largest image (width x height) decoded; Pillow's own bomb check stops at twice its default of ~89 Mpx.
MAX_IMAGE_PIXELS = 40_000_000
#: Most JSON paths (and unified-diff lines) listed; the rest is counted.
MAX_CHANGES = 2000
_TEXT_SNIFF = 8192


class ArtifactDiffError(InvalidInput):
    """An artifact cannot be diffed as its kind (too large, not what it claims, does not parse): one line."""


def kind_of(name: str, head: bytes = b"") -> str:
    """The kind of an artifact by its name's suffix, else by sniffing its first bytes: text or binary."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if suffix in KINDS:
        return KINDS[suffix]
    return "text" if _looks_text(head[:_TEXT_SNIFF]) else "binary"


def _looks_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3  # a multi-byte character cut by the sniff window
    return True


def _decode(data: bytes, name: str, side: str) -> str:
    if b"\x00" in data[:_TEXT_SNIFF * 8]:
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is binary, not text (it holds NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is not UTF-8 text (invalid byte at offset {exc.start})"
                                ) from None


def diff_text(a: bytes, b: bytes, name: str = "artifact") -> dict[str, Any]:
    r"""A unified diff of two UTF-8 texts: ``{"kind", "identical", "added", "removed", "diff", "truncated"}``.

    Example:
        >>> d = diff_text(b"a\nb\n", b"a\nc\n", "notes.txt")
        >>> (d["added"], d["removed"]), d["diff"].splitlines()[-2:]
        ((1, 1), ['-b', '+c'])
    """
    before, after = _decode(a, name, "baseline"), _decode(b, name, "run")
    lines = list(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                      fromfile=f"a/{name}", tofile=f"b/{name}"))
    added = sum(1 for line in lines[2:] if line.startswith("+"))
    removed = sum(1 for line in lines[2:] if line.startswith("-"))
    shown = lines[:MAX_CHANGES]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in shown)
    return {"kind": "text", "identical": before == after, "added": added, "removed": removed, "diff": text,
            "truncated": len(lines) > MAX_CHANGES}


# -- images --------------------------------------------------------------------------------------------------------

#: How to get what an optional kind needs (Pillow is not a dependency of the package; pyarrow reads Parquet).
INSTALL_HINT = "pip install 'jupyter_mlops[artifacts]'"


def _open_image(data: bytes, name: str, side: str) -> Any:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ArtifactDiffError(f"artifact {name!r}: image diffs need Pillow ({INSTALL_HINT})") from None

    try:
        image = Image.open(io.BytesIO(data))  # reads the header only: the size is known before any decoding
    except UnidentifiedImageError:  # its message names an in-memory object: say it plainly
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is not a readable PNG or JPEG image: "
                                "unrecognised content") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is not a readable PNG or JPEG image: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is {width}x{height} pixels, over the "
                                f"{MAX_IMAGE_PIXELS:,} pixel limit of an image diff")
    if image.format not in ("PNG", "JPEG"):
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is a {image.format} image; only PNG and JPEG are diffed")
    try:
        return image.convert("RGBA")
    except (OSError, ValueError, SyntaxError) as exc:  # a truncated or corrupt image body
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is a damaged image: {str(exc).splitlines()[0]}") from None


def _png(array: Any) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG", optimize=False)
    return out.getvalue()


def diff_image(a: bytes, b: bytes, name: str = "artifact") -> tuple[dict[str, Any], bytes, bytes]:
    """Changed pixels of two images: ``(summary, overlay PNG, side-by-side PNG)``.

    The summary is ``{"kind", "identical", "format", "size": [[w, h], [w, h]], "changed_pixels", "total_pixels",
    "changed_share", "bbox"}`` (``bbox`` ``[left, top, right, bottom)`` of the changed pixels, None when none).
    """
    import numpy as np

    first, second = _open_image(a, name, "baseline"), _open_image(b, name, "run")
    width, height = max(first.width, second.width), max(first.height, second.height)
    canvas = []
    for image in (first, second):
        pixels = np.zeros((height, width, 4), dtype=np.uint8)  # transparent where one image is smaller
        pixels[:image.height, :image.width] = np.asarray(image)
        canvas.append(pixels)
    changed = np.any(canvas[0] != canvas[1], axis=2)
    count = int(changed.sum())
    rows, cols = np.nonzero(changed)
    bbox = [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1] if count else None
    grey = canvas[0][:, :, :3].mean(axis=2, keepdims=True).astype(np.uint8) // 2 + 127
    overlay = np.concatenate([np.repeat(grey, 3, axis=2), np.full((height, width, 1), 255, np.uint8)], axis=2)
    overlay[changed] = (220, 20, 60, 255)
    gap = np.full((height, 8, 4), 255, dtype=np.uint8)
    side = np.concatenate([canvas[0], gap, canvas[1], gap, overlay], axis=1)
    total = width * height
    summary = {
        "kind": "image", "identical": count == 0 and first.size == second.size,
        "format": [_format(a), _format(b)], "size": [list(first.size), list(second.size)],
        "changed_pixels": count, "total_pixels": total, "changed_share": round(count / total, 6) if total else 0.0,
        "bbox": bbox,
    }
    return summary, _png(overlay), _png(side)


def _format(data: bytes) -> str:
    return "PNG" if data.startswith(b"\x89PNG") else "JPEG" if data.startswith(b"\xff\xd8") else "unknown"


# -- tables --------------------------------------------------------------------------------------------------------

def _read_table(data: bytes, name: str, side: str) -> Any:
    import pandas as pd

    lowered = name.lower()
    try:
        if lowered.endswith((".parquet", ".pq")):
            return pd.read_parquet(io.BytesIO(data))
        _decode(data, name, side)
        return pd.read_csv(io.BytesIO(data), sep="\t" if lowered.endswith(".tsv") else ",", low_memory=False)
    except ArtifactDiffError:
        raise
    except ImportError:
        raise ArtifactDiffError(f"artifact {name!r}: Parquet diffs need pyarrow ({INSTALL_HINT})") from None
    except Exception as exc:  # pandas/pyarrow raise many types for a malformed file; each is one line here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is not a readable table: {first}") from None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 10) if math.isfinite(number) else None


def _delta(a: float | int | None, b: float | int | None) -> float | int | None:
    if a is None or b is None:
        return None
    return b - a if isinstance(a, int) and isinstance(b, int) else _number(b - a)


def _column_stats(series: Any) -> dict[str, Any]:
    from pandas.api import types

    numeric = types.is_numeric_dtype(series) and not types.is_bool_dtype(series)
    return {
        "mean": _number(series.mean()) if numeric else None,
        "std": _number(series.std()) if numeric else None,
        "nulls": int(series.isna().sum()),
        "distinct": int(series.nunique(dropna=True)),
    }


def diff_table(a: bytes, b: bytes, name: str = "artifact") -> dict[str, Any]:
    """Schema, row counts and per-column statistics of two tables.

    Returns ``{"kind", "identical", "rows": [a, b], "columns_added", "columns_removed", "dtype_changes":
    [{"column", "from", "to"}], "columns": [{"column", "dtype": [a, b], "mean"|"std"|"nulls"|"distinct":
    {"a", "b", "delta"}}]}`` for the columns both have, in the baseline's order.
    """
    first, second = _read_table(a, name, "baseline"), _read_table(b, name, "run")
    before, after = [str(c) for c in first.columns], [str(c) for c in second.columns]
    first.columns, second.columns = before, after
    shared = [c for c in before if c in after]
    columns = []
    for column in shared:
        left, right = _column_stats(first[column]), _column_stats(second[column])
        row: dict[str, Any] = {"column": column, "dtype": [str(first[column].dtype), str(second[column].dtype)]}
        for stat in ("mean", "std", "nulls", "distinct"):
            row[stat] = {"a": left[stat], "b": right[stat], "delta": _delta(left[stat], right[stat])}
        columns.append(row)
    try:
        identical = before == after and first.equals(second)
    except Exception:  # unorderable mixed types: not identical as far as we can tell
        identical = False
    return {
        "kind": "table", "identical": bool(identical), "rows": [len(first), len(second)],
        "columns_added": [c for c in after if c not in before],
        "columns_removed": [c for c in before if c not in after],
        "dtype_changes": [{"column": c["column"], "from": c["dtype"][0], "to": c["dtype"][1]}
                          for c in columns if c["dtype"][0] != c["dtype"][1]],
        "columns": columns,
    }


# -- JSON ----------------------------------------------------------------------------------------------------------

def _load_json(data: bytes, name: str, side: str) -> Any:
    text = _decode(data, name, side)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactDiffError(f"artifact {name!r} ({side}) is not valid JSON: {exc.msg} at line {exc.lineno} "
                                f"column {exc.colno}") from None
    except RecursionError:
        raise ArtifactDiffError(f"artifact {name!r} ({side}) nests JSON too deeply to diff") from None


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def diff_json(a: bytes, b: bytes, name: str = "artifact") -> dict[str, Any]:
    """Paths added, removed and changed between two JSON documents (lists compared position by position).

    Example:
        >>> d = diff_json(b'{"lr": 0.1, "layers": [1, 2]}', b'{"lr": 0.2, "layers": [1], "seed": 3}')
        >>> d["changed"], d["added"]
        ([{'path': '$.lr', 'from': 0.1, 'to': 0.2}], [{'path': '$.seed', 'value': 3}])
        >>> d["removed"]
        [{'path': '$.layers[1]', 'value': 2}]
    """
    first, second = _load_json(a, name, "baseline"), _load_json(b, name, "run")
    found: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    counts = {"added": 0, "removed": 0, "changed": 0}

    def note(kind: str, record: dict[str, Any]) -> None:
        counts[kind] += 1
        if sum(len(v) for v in found.values()) < MAX_CHANGES:
            found[kind].append(record)

    # An explicit stack, not recursion: a deeply nested document must not exhaust the interpreter's stack.
    stack: list[tuple[str, Any, Any]] = [("$", first, second)]
    while stack:
        path, left, right = stack.pop()
        if isinstance(left, dict) and isinstance(right, dict):
            for key in sorted(set(left) | set(right), reverse=True):
                where = _key_path(path, str(key))
                if key not in right:
                    note("removed", {"path": where, "value": left[key]})
                elif key not in left:
                    note("added", {"path": where, "value": right[key]})
                else:
                    stack.append((where, left[key], right[key]))
        elif isinstance(left, list) and isinstance(right, list):
            for index in range(max(len(left), len(right)) - 1, -1, -1):
                where = f"{path}[{index}]"
                if index >= len(right):
                    note("removed", {"path": where, "value": left[index]})
                elif index >= len(left):
                    note("added", {"path": where, "value": right[index]})
                else:
                    stack.append((where, left[index], right[index]))
        elif left != right or type(left) is not type(right):
            note("changed", {"path": path, "from": left, "to": right})
    for kind in found:
        found[kind].sort(key=lambda r: r["path"])
    return {"kind": "json", "identical": not any(counts.values()), **found, "counts": counts,
            "truncated": sum(counts.values()) > MAX_CHANGES}


_DIFFERS: dict[str, Callable[[bytes, bytes, str], dict[str, Any]]] = {
    "text": diff_text, "table": diff_table, "json": diff_json,
}


def diff_bytes(kind: str, a: bytes, b: bytes, name: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Diff two artifacts of ``kind``: ``(summary, images)``; ``images`` holds ``overlay``/``side_by_side`` PNGs.

    Raises:
        ArtifactDiffError: an input over its kind's size limit, or not what its kind says.
    """
    limit = MAX_BYTES.get(kind)
    for side, data in (("baseline", a), ("run", b)):
        if limit is not None and len(data) > limit:
            raise ArtifactDiffError(f"artifact {name!r} ({side}) is {len(data):,} bytes, over the {limit:,} byte "
                                    f"limit of a {kind} diff")
    if kind == "image":
        summary, overlay, side = diff_image(a, b, name)
        return summary, {"overlay": overlay, "side_by_side": side}
    if kind in _DIFFERS:
        return _DIFFERS[kind](a, b, name), {}
    return {"kind": "binary", "identical": a == b}, {}

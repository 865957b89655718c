"""The compare's local-module diffs: each run's recorded module versions against the baseline's (ADR-102).

A code snapshot may list the project's own modules the run loaded: ``{"modules": [{"name", "path", "file", "hash",
"size", "versions"?, "skipped"?}]}``. Modules are matched by import name; a module whose hash differs is
``changed`` (with a unified diff of the two sources, when both were stored and are text), one only the run has is
``added``, one only the baseline has is ``removed``. Sources are read by the caller (``app.compare``) and passed in
by hash, so this module stays pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_DIFF_LINES",
    "changed_module_hashes",
    "module_changes",
    "module_sources_wanted",
    "snapshot_modules",
]

#: Longest unified diff kept per module; longer ones are cut with a note.
MAX_DIFF_LINES = 2000


def snapshot_modules(code: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The modules of a code snapshot by import name (malformed entries skipped)."""
    if not code:
        return {}
    found = code.get("modules") or []
    if not isinstance(found, list):
        return {}
    return {str(m["name"]): m for m in found if isinstance(m, Mapping) and isinstance(m.get("name"), str)}


def changed_module_hashes(base: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> set[str]:
    """Blob hashes whose sources a diff of these two snapshots' modules needs (both sides of each change)."""
    a, b = snapshot_modules(base), snapshot_modules(other)
    wanted: set[str] = set()
    for name in a.keys() | b.keys():
        left, right = a.get(name, {}).get("hash"), b.get(name, {}).get("hash")
        if left != right:
            wanted.update(str(h) for h in (left, right) if h)
    return wanted


def _text(data: Any) -> str | None:
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return data if isinstance(data, str) else None


def _diff(name: str, path: str, before: str | None, after: str | None) -> str:
    lines = list(difflib.unified_diff((before or "").splitlines(keepends=True),
                                      (after or "").splitlines(keepends=True),
                                      fromfile=f"a/{path}", tofile=f"b/{path}"))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... diff of {name} cut at {MAX_DIFF_LINES} lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def module_changes(
    base: Mapping[str, Any] | None, other: Mapping[str, Any] | None, sources: Mapping[str, Any]
) -> tuple[dict[str, Any], ...]:
    """Modules added, removed or changed between two code snapshots, by import name.

    Args:
        base: the baseline's code snapshot.
        other: the compared run's code snapshot.
        sources: module sources (bytes or str) by blob hash; a missing one diffs as unknown.

    Returns:
        ``{"change", "name", "path", "a_hash", "b_hash", "source_diff"}`` per module, sorted by name;
        ``source_diff`` is empty when a side's source is unavailable (``note`` then says why).

    Example:
        >>> a = {"modules": [{"name": "utils", "path": "utils.py", "hash": "h1"}]}
        >>> b = {"modules": [{"name": "utils", "path": "utils.py", "hash": "h2"}]}
        >>> sources = {"h1": "x = 1", "h2": "x = 2"}
        >>> [c["source_diff"].splitlines()[-2:] for c in module_changes(a, b, sources)]
        [['-x = 1', '+x = 2']]
    """
    a, b = snapshot_modules(base), snapshot_modules(other)
    out = []
    for name in sorted(a.keys() | b.keys()):
        left, right = a.get(name), b.get(name)
        a_hash = left.get("hash") if left else None
        b_hash = right.get("hash") if right else None
        if left is not None and right is not None and a_hash == b_hash:
            continue
        change = "added" if left is None else "removed" if right is None else "changed"
        path = str((right or left or {}).get("path") or name)
        before = _text(sources.get(str(a_hash))) if a_hash else None
        after = _text(sources.get(str(b_hash))) if b_hash else None
        record: dict[str, Any] = {"change": change, "name": name, "path": path, "a_hash": a_hash, "b_hash": b_hash,
                                  "source_diff": ""}
        missing = [side for side, entry, text in (("baseline", left, before), ("run", right, after))
                   if entry is not None and text is None]
        if missing:
            record["note"] = f"source not available ({', '.join(missing)}): not stored, too large or not text"
        else:
            record["source_diff"] = _diff(name, path, before, after)
        out.append(record)
    return tuple(out)


def module_sources_wanted(snapshots: Sequence[Mapping[str, Any] | None]) -> set[str]:
    """Every blob hash a comparison of these code snapshots (the first is the baseline) needs to read."""
    wanted: set[str] = set()
    for other in snapshots[1:]:
        wanted |= changed_module_hashes(snapshots[0], other)
    return wanted

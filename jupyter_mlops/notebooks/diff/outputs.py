"""What changed in a cell's outputs and attachments, described for a reader rather than as raw JSON.

Text (streams, ``text/*`` and JSON data, error messages and tracebacks) becomes a unified diff; binary data
(images and any other base64 payload) is described by size and a short SHA-256, with the pixel size of a PNG;
rich outputs are broken down by mime type, so "``image/png`` changed, ``text/plain`` did not" is visible.
nbdime aligns the two output lists (``diff_item_at_path`` at ``/cells/*/outputs``, the same output matching its
notebook diff uses), so an output inserted before the others reads as one added output.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

_CONTEXT_LINES = 2
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TEXT_MIMETYPES = ("text/", "application/json", "application/javascript")
_KNOWN_OUTPUT_KEYS = {"output_type", "data", "text", "name", "ename", "evalue", "traceback"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def unified_diff(old: str, new: str) -> str:
    """Unified diff of two texts without the ``---``/``+++`` header."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=_CONTEXT_LINES)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


def sequence_changes(entries: list[Any]) -> Iterator[tuple[str, int | None, int | None]]:
    """``(change, a_index, b_index)`` for each item that nbdime's sequence diff ``entries`` adds, removes or patches.

    nbdime orders entries by key in ``a`` and puts an ``addrange`` before a ``removerange`` at the same key, so the
    index in ``b`` is the key plus the net number of items inserted before it.
    """
    offset = 0
    for entry in entries:
        op, key = entry["op"], entry["key"]
        if op == "addrange":
            for j, _ in enumerate(entry["valuelist"]):
                yield "added", None, key + offset + j
            offset += len(entry["valuelist"])
        elif op == "removerange":
            for j in range(entry["length"]):
                yield "removed", key + j, None
            offset -= entry["length"]
        elif op == "patch":
            yield "changed", key, key + offset


def output_changes(old: list[Any], new: list[Any], entries: list[Any] | None = None) -> list[dict[str, Any]]:
    r"""One record per added, removed or changed output between two cells' output lists.

    Args:
        old: the old cell's outputs.
        new: the new cell's outputs.
        entries: nbdime's sequence diff of the two lists when the caller already has it (the cell's patch from
            the notebook diff); computed here otherwise.

    Returns:
        ``[{"change", "a_index", "b_index", "output_type", "parts"}]``; ``parts`` as in :func:`part_changes`.

    Example:
        >>> old = [{"output_type": "stream", "name": "stdout", "text": "loss 0.5\n"}]
        >>> new = [{"output_type": "stream", "name": "stdout", "text": "loss 0.4\n"}]
        >>> output_changes(old, new)[0]["parts"][0]["diff"]
        '@@ -1 +1 @@\n-loss 0.5\n+loss 0.4'
    """
    if old == new:
        return []
    if entries is None:
        from nbdime.diffing.notebooks import diff_item_at_path
        from nbformat import from_dict

        # nbdime's output predicates read attributes (output.output_type): give it NotebookNodes
        entries = diff_item_at_path(from_dict(list(old)), from_dict(list(new)), "/cells/*/outputs")  # type: ignore[no-untyped-call]
    records = []
    for change, a_index, b_index in sequence_changes(entries):
        before = old[a_index] if a_index is not None else {}
        after = new[b_index] if b_index is not None else {}
        records.append({
            "change": change,
            "a_index": a_index,
            "b_index": b_index,
            "output_type": str((after or before).get("output_type", "")),
            "parts": part_changes(_output_parts(before), _output_parts(after)),
        })
    return records


def attachment_changes(old: Any, new: Any) -> list[dict[str, Any]]:
    """The parts (``"<name> <mime>"``) of a markdown or raw cell's attachments that differ; see :func:`part_changes`."""
    def parts(attachments: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, bundle in (attachments or {}).items():
            for mime, value in (bundle or {}).items() if isinstance(bundle, dict) else ():
                found[f"{name} {mime}"] = value
        return found

    return part_changes(parts(old), parts(new))


def part_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare two ``{part name: value}`` maps (mime types, ``stdout``, ``error`` ...), part by part.

    Returns:
        ``[{"name", "change": "added|removed|changed", "diff", "old", "new"}]`` for the parts that differ: a text
        part has a unified ``diff`` (every line ``+`` or ``-`` when the part is added or removed) and ``old``/``new``
        None; a binary part has ``diff`` ``""`` and ``old``/``new`` descriptions such as
        ``"64×32, 1,234 bytes, sha256 0a1b2c3d4e5f"`` (None on the missing side).
    """
    changes = []
    for name in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change = "added" if name not in old else "removed" if name not in new else "changed"
        record: dict[str, Any] = {"name": name, "change": change, "diff": "", "old": None, "new": None}
        if _is_text(name, before if after is None else after):
            old_text, new_text = _text(before), _text(after)
            if change == "added":
                record["diff"] = "\n".join("+" + line for line in new_text.splitlines())
            elif change == "removed":
                record["diff"] = "\n".join("-" + line for line in old_text.splitlines())
            else:
                record["diff"] = unified_diff(old_text, new_text)
        else:
            record["old"] = describe_binary(before) if before is not None else None
            record["new"] = describe_binary(after) if after is not None else None
        changes.append(record)
    return changes


def _output_parts(output: Any) -> dict[str, Any]:
    """An output as named parts: its stream text, each mime type of its data, its error, and any other key."""
    if not output:
        return {}
    parts: dict[str, Any] = {}
    kind = output.get("output_type")
    if kind == "stream":
        parts[str(output.get("name", "stream"))] = output.get("text", "")
    elif kind == "error":
        parts["error"] = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        parts["traceback"] = _ANSI_ESCAPE.sub("", "\n".join(map(str, output.get("traceback", []))))
    for mime, value in (output.get("data") or {}).items():
        parts[mime] = value
    for key, value in output.items():
        if key not in _KNOWN_OUTPUT_KEYS and value not in (None, {}, []):
            parts[key] = value  # execution_count, metadata (image width ...), transient, unknown keys
    if kind not in ("stream", "error", "display_data", "execute_result"):
        parts["output_type"] = kind
    return parts


def _is_text(name: str, value: Any) -> bool:
    if not isinstance(value, (str, list)):
        return True  # JSON data, metadata dicts, counts: shown as indented JSON text
    mime = name.split(" ")[-1]
    return "/" not in mime or mime.startswith(_TEXT_MIMETYPES) or mime.endswith(("+json", "+xml"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=str)


def describe_binary(value: Any) -> str:
    """``"[W×H, ]N bytes, sha256 <12 hex>"`` for base64 data (the text's UTF-8 bytes if it is not base64)."""
    text = _text(value)
    try:
        payload = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        payload = text.encode("utf-8")
    size = ""
    if payload.startswith(_PNG_SIGNATURE) and len(payload) >= 24:
        size = f"{int.from_bytes(payload[16:20], 'big')}×{int.from_bytes(payload[20:24], 'big')}, "
    return f"{size}{len(payload):,} bytes, sha256 {hashlib.sha256(payload).hexdigest()[:12]}"

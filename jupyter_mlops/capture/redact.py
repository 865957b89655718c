"""Secret redaction: every text the tracker stores loses its secrets first, and lint flags the same ones.

One pass, :func:`redact_text`, for every stored text: param names and values, tags, notes, run, experiment and
metric names, config-file params, argparse values, git diffs, code snapshots, notebook snapshots (sources and
outputs) and script snapshots. The detector (:mod:`jupyter_mlops.capture.secret_rules`, ADR-019) has three
parts:

* **Value formats**: the patterns of detect-secrets' regex plugins plus a supplement for formats it lacks
  (Google, Anthropic, newer OpenAI/Stripe keys, Hugging Face, npm, Databricks, Azure connection strings and SAS
  signatures, Slack app tokens), passwords in URLs, PEM blocks, Authorization/Bearer values.
* **Names** (:func:`is_secret_key`): decided by the name's last word: ``db_password``, ``api_key``, ``conn_str``,
  ``webhook_url``, ``hfToken`` are secret names, ``password_strength_model``, ``secretary``, ``tokenizer``,
  ``max_tokens``, ``pad_token`` are not. A value under a secret name is masked whatever it is (numbers too;
  booleans and None are never secrets).
* **Assignments in text**: ``api_key = "..."``, YAML ``password: hunter2``, ``.env`` ``DB_PASSWORD=hunter2``.

Redacted text becomes :data:`MASK` (``"***"``). Hits never carry the secret itself, so reporting one is safe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jupyter_mlops.capture.secret_rules import is_secret_name, value_rules

__all__ = [
    "MASK",
    "SecretHit",
    "find_secrets",
    "is_secret_key",
    "looks_secret",
    "redact_argv",
    "redact_code_snapshot",
    "redact_mapping",
    "redact_notebook",
    "redact_source",
    "redact_tags",
    "redact_text",
    "redact_value",
]

MASK = "***"

#: ``name = "literal"`` / ``name: "literal"`` / ``"name": "literal"`` where the name is a secret name (code, YAML).
# The lookbehind anchors a name at a name boundary: without it, a long run of name characters (a base64 blob in
# an output) is retried from every offset, which is quadratic and hangs lint on one long line.
_ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?::\s*[A-Za-z_][\w\[\], .]*)?\s*[:=]\s*"""
    r"""(?P<quote>["'])(?P<value>[^"'\n]{4,})(?P=quote)"""
)
#: An unquoted value that is the rest of its line: YAML ``password: hunter2``, ``.env``/INI/CLI
#: ``PASSWORD=hunter2`` (no space before ``=``: in Python ``password = other_name`` names a variable).
_BARE_ASSIGNMENT = re.compile(
    r"""(?m)(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?::[ \t]*|=[ \t]*)"""
    r"""(?P<value>[^\s'"#,;()\[\]{}<>*]{4,})[ \t]*(?:#.*)?$"""
)
#: Bare values that are types, literals or references, not secrets (``token: bool``, ``pw: ${PW}``).
_NOT_VALUES = frozenset({"bool", "str", "int", "float", "bytes", "None", "null", "none", "true", "false", "True",
                         "False", "Optional", "SecretStr", "object", "required", "optional"})
#: ``token: TokenType`` / ``key: np.ndarray`` (annotations in code): a type or a dotted name, not a secret.
_TYPE_NAME = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_TAIL = re.compile(r"[A-Za-z0-9_\-+/=.]*")
_TAG = re.compile(r"([^=:]+)([=:])")
#: Notebook output mimetypes that hold text (images and other binary payloads are left alone).
_TEXT_MIMETYPES = ("text/", "application/json", "application/javascript")
#: Texts up to this size are memoised (code cells are redacted again at every snapshot refresh).
_CACHED_TEXT_CHARS = 65_536


@dataclass(frozen=True, slots=True)
class SecretHit:
    """Where a secret was found. ``line`` and ``column`` are 1-based; ``preview`` shows at most 4 characters."""

    kind: str
    line: int
    column: int
    preview: str


def is_secret_key(name: str) -> bool:
    """Whether a param/tag/variable name says its value is a secret (its last word decides; ADR-019).

    Examples:
        >>> is_secret_key("DB_PASSWORD"), is_secret_key("model.apiKey"), is_secret_key("hf-token")
        (True, True, True)
        >>> is_secret_key("tokenizer"), is_secret_key("max_tokens"), is_secret_key("password_strength_model")
        (False, False, False)
    """
    return is_secret_name(str(name))


def looks_secret(value: str) -> bool:
    """Whether a string contains a secret (a known key format, a URL password, a secret assignment)."""
    return bool(_spans(value))


def redact_value(value: Any) -> Any:
    """A value with secrets masked inside strings; dicts and lists recurse (dict keys too).

    Example:
        >>> redact_value(["plain", "postgresql://me:pw1@db/x"])
        ['plain', 'postgresql://me:***@db/x']
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    return value


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Params (or any mapping) with secret-named keys' values masked and secrets in keys and values masked.

    Examples:
        >>> redact_mapping({"lr": 0.1, "db": {"password": "hunter2"}, "note": "AKIAABCDEFGHIJKLMNOP"})
        {'lr': 0.1, 'db': {'password': '***'}, 'note': '***'}
    """
    result: dict[str, Any] = {}
    for key, value in values.items():
        name = redact_text(str(key))
        masked = is_secret_key(name) and value is not None and not isinstance(value, bool)
        result[name] = MASK if masked else redact_value(value)
    return result


def redact_tags(tags: Iterable[str]) -> list[str]:
    """Tags with secrets masked: a ``key=value``/``key:value`` tag with a secret key keeps the key only.

    Example:
        >>> redact_tags(["baseline", "password=hunter2", "lr=0.1"])
        ['baseline', 'password=***', 'lr=0.1']
    """
    result: list[str] = []
    for tag in tags:
        match = _TAG.match(tag)
        if match and is_secret_key(match.group(1)):
            result.append(f"{redact_text(match.group(1))}{match.group(2)}{MASK}")
        else:
            result.append(redact_text(tag))
    return result


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Merged (start, end, kind) spans of secret text, by position."""
    spans: list[tuple[int, int, str]] = []
    lowered: str | None = None
    for rule in value_rules():
        if rule.hints:
            if rule.pattern.flags & re.IGNORECASE:
                lowered = text.lower() if lowered is None else lowered
                if not any(hint in lowered for hint in rule.hints):
                    continue
            elif not any(hint in text for hint in rule.hints):
                continue
        for match in rule.pattern.finditer(text):
            start, end = _secret_span(match, rule.group)
            if start == end or (rule.valid is not None and not rule.valid(text[start:end])):
                continue
            if rule.extend:
                end = _TAIL.match(text, end).end()  # type: ignore[union-attr]  # matches empty at worst
            spans.append((start, end, rule.kind))
    if "=" in text or ":" in text:
        spans.extend(_assignment_spans(text))
    return _merge(spans)


def _secret_span(match: re.Match[str], group: int | None) -> tuple[int, int]:
    if group is not None:
        return match.span(group)
    for index in range(1, (match.re.groups or 0) + 1):
        start, end = match.span(index)
        if end - start >= 8:
            return start, end
    return match.span(0)


def _assignment_spans(text: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in _ASSIGNMENT.finditer(text):
        if is_secret_key(match.group("name")) and match.group("value") != MASK:
            spans.append((match.start("value"), match.end("value"), "assignment"))
    for match in _BARE_ASSIGNMENT.finditer(text):
        value = match.group("value")
        if value in _NOT_VALUES or value.startswith(("$", "%")) or _TYPE_NAME.fullmatch(value):
            continue
        if not is_secret_key(match.group("name")):
            continue
        spans.append((match.start("value"), match.end("value"), "assignment"))
    return spans


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    # Overlapping hits become one span covering both, so no part of either secret stays in clear.
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end, merged[-1][2])
            continue
        merged.append((start, end, kind))
    return merged


def find_secrets(text: str) -> list[SecretHit]:
    r"""Every secret in a text (code, output, config), with 1-based line and column.

    Examples:
        >>> [hit.kind for hit in find_secrets('x = 1\napi_key = "abcd1234efgh"\n')]
        ['assignment']
    """
    hits: list[SecretHit] = []
    for start, end, kind in _spans(text):
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        secret = text[start:end]
        preview = secret[:4] + "…" if len(secret) > 8 else "…"
        hits.append(SecretHit(kind, line, column, preview))
    return hits


def redact_text(text: str) -> str:
    """The text with each secret replaced by :data:`MASK` (surrounding text kept).

    Examples:
        >>> redact_text('token = "s3cr3t-value"  # Authorization: Bearer abcdefghijklmnop1234')
        'token = "***"  # Authorization: Bearer ***'
    """
    if len(text) <= _CACHED_TEXT_CHARS:
        return _redact_cached(text)
    return _redact(text)


@lru_cache(maxsize=4096)
def _redact_cached(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    spans = _spans(text)
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end, _ in spans:
        parts.append(text[last:start])
        parts.append(MASK)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _option_name(arg: str) -> str | None:
    """``--api-key`` / ``--api-key=x`` -> ``api-key``; None for a value or a short option (``-p``)."""
    if not arg.startswith("--") or len(arg) == 2:
        return None
    return arg[2:].partition("=")[0]


def redact_argv(argv: Sequence[str]) -> tuple[list[str], list[int]]:
    """A command line with secrets masked, and the indices of the arguments that were changed.

    The value of an option with a secret name (``--password x``, ``--api-key=x``) is masked whatever it is, and
    any argument holding a secret (a key format, a URL password) loses it. The indices let a replay of the
    command refuse, naming the argument, instead of passing ``***`` on as if it were the value.

    Examples:
        >>> redact_argv(["train.py", "--password", "hunter2", "--api-key=abc123", "--lr", "0.1"])
        (['train.py', '--password', '***', '--api-key=***', '--lr', '0.1'], [2, 3])
    """
    result = [str(arg) for arg in argv]
    changed: list[int] = []
    secret_value_next = False
    for index, arg in enumerate(result):
        name = _option_name(arg)
        if secret_value_next and name is None:
            result[index] = MASK
        elif name is not None and "=" in arg and is_secret_key(name):
            result[index] = f"{arg.partition('=')[0]}={MASK}"
        else:
            result[index] = redact_text(arg)
        if result[index] != argv[index]:
            changed.append(index)
        # an option's value follows it unless it is given with `=` (a bare flag then masks nothing)
        secret_value_next = name is not None and "=" not in arg and is_secret_key(name)
    return result, changed


def redact_code_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A code snapshot (``{"cells": [...], ...}``) with secrets masked in cell sources and recorded errors.

    An exception message can quote a connection string, so the run's and each cell's ``error`` are masked too.
    """
    result = dict(snapshot)
    result["cells"] = [_redact_cell(cell) for cell in snapshot.get("cells", [])]
    if isinstance(snapshot.get("error"), Mapping):
        result["error"] = _redact_error(snapshot["error"])
    return result


def _redact_cell(cell: Any) -> Any:
    if not isinstance(cell, Mapping):
        return cell
    cleaned = dict(cell)
    if isinstance(cell.get("source"), str):
        cleaned["source"] = redact_text(cell["source"])
    if isinstance(cell.get("error"), Mapping):
        cleaned["error"] = _redact_error(cell["error"])
    return cleaned


def _redact_error(error: Mapping[str, Any]) -> dict[str, Any]:
    return {key: redact_text(value) if isinstance(value, str) else value for key, value in error.items()}


def redact_notebook(data: bytes) -> bytes:
    """A saved notebook's bytes with secrets masked in cell sources, text outputs and metadata values.

    Images and other binary outputs are kept as they are. A file that is not JSON is redacted as text. When
    nothing is found the bytes are returned unchanged (the snapshot's content hash stays stable).
    """
    text = data.decode("utf-8", "replace")
    try:
        notebook = json.loads(text)
    except ValueError:
        redacted = redact_text(text)
        return data if redacted == text else redacted.encode("utf-8")
    cleaned = _redact_json(notebook)
    if cleaned == notebook:
        return data
    return (json.dumps(cleaned, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def redact_source(data: bytes) -> bytes:
    """A source file's bytes (a local module, ADR-102) with secrets masked as in code cells.

    When nothing is found the bytes are returned unchanged, whatever their encoding (the content hash stays stable).
    """
    text = data.decode("utf-8", "replace")
    redacted = redact_text(text)
    return data if redacted == text else redacted.encode("utf-8")


def _redact_json(node: Any, bundle: bool = False) -> Any:
    # Walks the whole notebook: sources, outputs (streams, text mime data, errors) and metadata (papermill keeps
    # the injected parameters there). ``bundle``: ``node`` is an output's ``data`` (keys are mimetypes).
    if isinstance(node, str):
        return redact_text(node)
    if isinstance(node, list):
        if node and all(isinstance(item, str) for item in node):
            # Multi-line strings are stored as lists of lines: a PEM block spans lines, so redact the joined text.
            joined = "".join(node)
            redacted = redact_text(joined)
            return node if redacted == joined else redacted.splitlines(keepends=True)
        return [_redact_json(item) for item in node]
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        output = "output_type" in node
        for key, value in node.items():
            if bundle and not str(key).startswith(_TEXT_MIMETYPES):
                result[key] = value  # an image or other binary payload
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool) and is_secret_key(key):
                result[key] = MASK
            else:
                result[key] = _redact_json(value, output and key == "data")
        return result
    return node

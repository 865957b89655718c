"""Secret redaction: params, tags, code and outputs lose their secrets before anything is stored.

Two detectors, used everywhere (capture, the store's callers, and ``notebooks.lint``):

* **By name** (:func:`is_secret_key`): a key whose name contains ``password``, ``passwd``, ``secret``,
  ``credential``, ``api_key``/``apikey``, ``access_key``, ``private_key`` (case-insensitive; ``-``, ``_``, ``.``,
  spaces and camelCase are all separators), or whose name has ``token`` as a word (``token``, ``auth_token``,
  ``hfToken``, ``token_count``). ``tokenizer`` and ``max_tokens`` are *not* secret names: ``token`` must be a
  whole word or the end of one (``authtoken``). Names are redacted whatever their value, numbers included
  (``pin_password = 1234`` is a secret); see ``docs/decisions.md``.
* **By value** (:func:`find_secrets`): well-known key formats: AWS access key ids, GitHub and Slack tokens,
  ``Bearer`` tokens, PEM private key blocks, JWTs, and passwords inside URLs. In code, a quoted literal assigned
  to a secret name (``api_key = "..."``) is a secret too.

Redacted values become :data:`MASK` (``"***"``). Hits never carry the secret itself, so reporting one is safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MASK",
    "SecretHit",
    "find_secrets",
    "is_secret_key",
    "looks_secret",
    "redact_mapping",
    "redact_tags",
    "redact_text",
    "redact_url",
    "redact_value",
]

MASK = "***"

_NAME_WORDS = ("password", "passwd", "secret", "credential", "apikey", "accesskey", "privatekey")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[-_.\s/:]+")

#: (kind, pattern, group holding the secret). Order matters only for overlapping hits (first wins).
_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[\s\S]*)"
        ),
        0,
    ),
    ("aws_access_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), 0),
    ("github_token", re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})"), 0),
    ("slack_token", re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}"), 0),
    ("bearer_token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)"), 1),
    ("jwt", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    ("url_password", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"]+)@"), 1),
)

#: ``name = "literal"`` / ``name: "literal"`` / ``"name": "literal"`` where the name is a secret name (code, YAML).
# The lookbehind anchors a name at a name boundary: without it, a long run of name characters (a base64 blob in
# an output) is retried from every offset, which is quadratic and hangs lint on one long line.
_ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?::\s*[A-Za-z_][\w\[\], .]*)?\s*[:=]\s*"""
    r"""(?P<quote>["'])(?P<value>[^"'\n]{4,})(?P=quote)"""
)


@dataclass(frozen=True, slots=True)
class SecretHit:
    """Where a secret was found. ``line`` and ``column`` are 1-based; ``preview`` shows at most 4 characters."""

    kind: str
    line: int
    column: int
    preview: str


def _name_words(name: str) -> list[str]:
    return [word for word in _SEPARATORS.split(_CAMEL.sub("_", name).lower()) if word]


def is_secret_key(name: str) -> bool:
    """Whether a param/tag/variable name says its value is a secret.

    Examples:
        >>> is_secret_key("DB_PASSWORD"), is_secret_key("model.apiKey"), is_secret_key("hf-token")
        (True, True, True)
        >>> is_secret_key("tokenizer"), is_secret_key("max_tokens"), is_secret_key("learning_rate")
        (False, False, False)
    """
    words = _name_words(str(name))
    joined = "".join(words)
    if any(word in joined for word in _NAME_WORDS):
        return True
    # "token" must be a word or end one (authtoken): tokenizer/max_tokens are model settings, not secrets.
    return any(word.endswith("token") for word in words)


def looks_secret(value: str) -> bool:
    """Whether a string contains a well-known key format."""
    return any(pattern.search(value) for _, pattern, _ in _VALUE_PATTERNS)


def redact_value(value: Any) -> Any:
    """A value with secrets masked: a string holding a key becomes :data:`MASK`; dicts and lists recurse."""
    if isinstance(value, str):
        return MASK if looks_secret(value) else value
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    return value


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Params (or any mapping) with secret-named keys and secret-looking values masked, recursively.

    Examples:
        >>> redact_mapping({"lr": 0.1, "db": {"password": "hunter2"}, "note": "AKIAABCDEFGHIJKLMNOP"})
        {'lr': 0.1, 'db': {'password': '***'}, 'note': '***'}
    """
    return {key: MASK if is_secret_key(str(key)) else redact_value(value) for key, value in values.items()}


def redact_tags(tags: Iterable[str]) -> list[str]:
    """Tags with secrets masked: ``key=value``/``key:value`` tags with a secret key keep the key only."""
    result: list[str] = []
    for tag in tags:
        match = re.match(r"([^=:]+)([=:])", tag)
        if match and is_secret_key(match.group(1)):
            result.append(f"{match.group(1)}{match.group(2)}{MASK}")
        elif looks_secret(tag):
            result.append(MASK)
        else:
            result.append(tag)
    return result


def redact_url(url: str) -> str:
    """A URL without its password: ``postgresql://me:pw@host/db`` → ``postgresql://me:***@host/db``."""
    return redact_text(url)


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans of secret text, by position."""
    spans: list[tuple[int, int, str]] = []
    for kind, pattern, group in _VALUE_PATTERNS:
        for match in pattern.finditer(text):
            spans.append((match.start(group), match.end(group), kind))
    for match in _ASSIGNMENT.finditer(text):
        if is_secret_key(match.group("name")) and match.group("value") != MASK:
            spans.append((match.start("value"), match.end("value"), "assignment"))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            continue  # overlaps an earlier hit (e.g. a token inside a secret assignment): already masked
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

"""The pure rules of the model registry: model references, version numbers and the numbering rule (ADR-053).

One parser of references serves every face: ``NAME:MAJOR.MINOR.PIPELINE``, ``NAME:latest`` and ``NAME@ALIAS``
(and a bare ``NAME`` where a command takes a model, not a version). Standard library and entities only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.entities import MODEL_STAGES
from jupyter_mlops.errors import InvalidInput

#: Names of models and aliases: a letter or digit first, then letters, digits, ``._-`` (no ``:`` or ``@``).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_VERSION = re.compile(r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$")

#: The first version of every model.
FIRST_VERSION = (1, 0, 0)


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: exactly one of ``version``, ``alias`` or ``latest`` is set, or none (bare name)."""

    name: str
    version: str | None = None
    alias: str | None = None
    latest: bool = False

    @property
    def names_a_version(self) -> bool:
        """Whether the reference picks one version (not a bare model name)."""
        return bool(self.version or self.alias or self.latest)

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        if self.latest:
            return f"{self.name}:latest"
        return f"{self.name}:{self.version}" if self.version else self.name


def check_model_name(name: str, what: str = "model name") -> str:
    """Return ``name`` when it is a valid model (or alias) name.

    Raises:
        InvalidInput: empty, too long, or with characters outside ``A-Za-z0-9._-``.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(f"invalid {what} {str(name)[:80]!r}: use letters, digits, '.', '_' or '-' "
                           "(starting with a letter or digit)")
    if what == "alias" and name == "latest":
        raise InvalidInput("'latest' is reserved (NAME:latest always means the newest version); choose another alias")
    return name


def check_stage(stage: str) -> str:
    """Return ``stage`` when a version can be moved to it.

    Raises:
        InvalidInput: anything but ``staging``, ``production`` or ``archived``.
    """
    if stage not in MODEL_STAGES[1:]:
        raise InvalidInput(f"stage must be one of {', '.join(MODEL_STAGES[1:])}; got {str(stage)[:40]!r}")
    return stage


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2.0"`` as ``(1, 2, 0)``.

    Raises:
        InvalidInput: not three dot-separated non-negative integers.
    """
    match = _VERSION.fullmatch(str(text).strip())
    if not match:
        raise InvalidInput(f"invalid model version {str(text)[:40]!r}: expected MAJOR.MINOR.PIPELINE, e.g. 1.2.0")
    return int(match[1]), int(match[2]), int(match[3])


def format_version(parts: tuple[int, int, int]) -> str:
    """``(1, 2, 0)`` as ``"1.2.0"``."""
    return ".".join(str(p) for p in parts)


def parse_model_ref(text: str, *, need_version: bool = True) -> ModelRef:
    """Parse ``NAME:VERSION``, ``NAME:latest``, ``NAME@ALIAS`` (or a bare ``NAME`` when ``need_version`` is false).

    Raises:
        InvalidInput: malformed reference (one line naming the accepted forms).
    """
    raw = str(text or "").strip()
    forms = "NAME:MAJOR.MINOR.PIPELINE, NAME:latest or NAME@ALIAS"
    if not raw:
        raise InvalidInput(f"empty model reference; expected {forms}")
    if "@" in raw:
        name, _, alias = raw.partition("@")
        return ModelRef(check_model_name(name), alias=check_model_name(alias, "alias"))
    if ":" in raw:
        name, _, version = raw.partition(":")
        check_model_name(name)
        if version == "latest":
            return ModelRef(name, latest=True)
        try:
            return ModelRef(name, version=format_version(parse_version(version)))
        except InvalidInput:
            raise InvalidInput(f"invalid model reference {raw[:80]!r}: expected {forms}") from None
    if need_version:
        raise InvalidInput(f"model reference {raw[:80]!r} names no version: expected {forms}")
    return ModelRef(check_model_name(raw))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_fingerprint(inputs: Iterable[tuple[str, str]]) -> str:
    """Digest of the ``(name, content hash)`` of every input dataset; equal exactly when the data is."""
    return _digest(sorted(set(inputs)))


def schema_fingerprint(schemas: Mapping[str, Mapping[str, Any] | None], signature: Any) -> str:
    """Digest of each input's schema (columns and dtypes, never row counts) and the model's input signature."""
    shapes = {}
    for name, schema in schemas.items():
        schema = schema or {}
        shape = schema.get("shape")
        shapes[name] = {"columns": schema.get("columns"), "dtype": schema.get("dtype"),
                        "width": list(shape[1:]) if isinstance(shape, (list, tuple)) else None}
    return _digest({"data": shapes, "signature": signature})


def next_version(previous: tuple[int, int, int] | None, previous_schema: str, previous_data: str,
                 schema: str, data: str) -> tuple[int, int, int]:
    """The version a new registration gets, from the newest existing version (ADR-053).

    First version ``1.0.0``; MAJOR when the schema fingerprint (data schema or input signature) differs from the
    newest version's, MINOR when only the data fingerprint differs, PIPELINE otherwise (code or params changed).
    """
    if previous is None:
        return FIRST_VERSION
    major, minor, pipeline = previous
    if schema != previous_schema:
        return (major + 1, 0, 0)
    if data != previous_data:
        return (major, minor + 1, 0)
    return (major, minor, pipeline + 1)

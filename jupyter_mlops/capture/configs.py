"""Config files as params: YAML, TOML and JSON, flattened to dotted keys (``model.learning_rate``).

Lists stay values (``layers: [64, 32]`` is one param), as do empty mappings. Values that JSON cannot hold
(YAML dates, TOML datetimes) become ISO strings, so every param value is JSON-ready.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound

__all__ = ["SUFFIXES", "flatten", "load_config_params", "try_load_config_params"]

logger = logging.getLogger(__name__)

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
#: Config files larger than this are not params files (a JSON data dump is data, not configuration).
MAX_CONFIG_BYTES = 4 << 20


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys; lists and empty mappings are kept as values.

    Examples:
        >>> flatten({"model": {"lr": 0.1, "layers": [64, 32]}, "seed": 1})
        {'model.lr': 0.1, 'model.layers': [64, 32], 'seed': 1}
    """
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = _jsonable(value)
    return flat


def _parse(text: bytes, kind: str) -> Any:
    if kind == "json":
        return json.loads(text)
    if kind == "toml":
        import tomllib

        return tomllib.loads(text.decode("utf-8"))
    import yaml

    return yaml.safe_load(text)


def load_config_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML/TOML/JSON config file as flat params.

    Args:
        path: the file; its suffix picks the format.

    Returns:
        ``{"model.learning_rate": 0.05, ...}``; an empty file gives ``{}``.

    Raises:
        NotFound: the file does not exist.
        InvalidInput: unknown suffix, malformed content, or a top level that is not a mapping.
        MlopsError: the file cannot be read.
    """
    target = Path(path)
    kind = SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise InvalidInput(f"not a config file: {target} (expected {', '.join(sorted(SUFFIXES))})")
    try:
        if target.stat().st_size > MAX_CONFIG_BYTES:
            raise InvalidInput(f"config file too large to be params: {target} (over {MAX_CONFIG_BYTES} bytes)")
        text = target.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"config file not found: {target}") from None
    except OSError as exc:
        raise MlopsError(f"cannot read {target}: {exc.strerror}") from None
    try:
        data = _parse(text, kind)
    except Exception as exc:  # each parser has its own error tree; all mean "malformed"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"cannot parse {target} as {kind.upper()}: {first_line}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{target}: top level is a {type(data).__name__}, not a mapping of settings")
    return flatten(data)


def try_load_config_params(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """:func:`load_config_params` for automatic capture: one warning and None instead of an error."""
    try:
        return load_config_params(path)
    except Exception as exc:
        logger.warning("config %s not recorded as params: %s", path, exc)
        return None

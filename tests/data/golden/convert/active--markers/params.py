"""Parameters of active--markers.ipynb (cell 1), with a command line.

``python -m active_markers --help`` lists the flags. ``--config FILE`` reads YAML, TOML or JSON; flags given on the
command line win over the file, and the file wins over these defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Params:
    """The notebook's parameters; the defaults are the values in its parameters cell."""

    factor: int = 3
    """multiplies the base"""


#: name -> how a value from the command line or a config file is converted
KINDS: dict[str, str] = {
    'factor': 'int',
}
HELP: dict[str, str] = {
    'factor': 'multiplies the base',
}


def _convert(name: str, value: Any, *, from_text: bool) -> Any:
    """Convert and check one value against its parameter's kind; ValueError with a one-line reason."""
    kind = KINDS[name]
    if from_text and kind in ("list", "dict", "tuple", "any"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            if kind != "any":
                raise ValueError(f"--{name.replace('_', '-')} expects JSON ({kind}), got {value!r}") from None
    if kind == "any":
        return value
    if kind == "bool":
        if from_text and isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if isinstance(value, bool):
            return value
    elif kind == "float" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return float(value)
    elif kind == "int" and isinstance(value, (int, str)) and not isinstance(value, bool):
        if isinstance(value, int) or value.lstrip("-").isdigit():
            return int(value)
    elif kind == "str":
        if isinstance(value, str):
            return value
    elif kind == "tuple" and isinstance(value, (list, tuple)):
        return tuple(value)
    elif isinstance(value, {"list": (list, tuple), "dict": dict}[kind]):
        return list(value) if kind == "list" else value
    raise ValueError(f"parameter {name!r} expects {kind}, got {value!r}")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read parameter values from a YAML, TOML or JSON file (a flat mapping; dashes in keys become underscores)."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{file}: not valid YAML ({exc})".replace("\n", " ")) from None
    elif file.suffix == ".toml":
        import tomllib

        data = tomllib.loads(text)
    else:
        data = json.loads(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a mapping of parameter names to values")
    values = {str(key).replace("-", "_"): value for key, value in data.items()}
    unknown = sorted(set(values) - set(KINDS))
    if unknown:
        known = ", ".join(KINDS) or "none"
        raise ValueError(f"{file}: unknown parameter(s) {', '.join(unknown)} (known: {known})")
    return {key: _convert(key, value, from_text=False) for key, value in values.items()}


def build_parser(prog: str | None = "active_markers") -> argparse.ArgumentParser:
    """The argument parser: one ``--flag`` per parameter, plus ``--config FILE``."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0], argument_default=argparse.SUPPRESS)
    parser.add_argument("--config", metavar="FILE", help="YAML, TOML or JSON file of parameter values")
    for item in dataclasses.fields(Params):
        flag = "--" + item.name.replace("_", "-")
        default = getattr(Params(), item.name)
        text = f"{HELP.get(item.name, '')} (default: {default!r})".strip()
        if KINDS[item.name] == "bool":
            parser.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction, help=text)
        else:
            parser.add_argument(flag, dest=item.name, metavar=KINDS[item.name].upper(), help=text)
    return parser


def parse_args(argv: list[str] | None = None) -> Params:
    """Params from the command line (``argv`` defaults to ``sys.argv[1:]``); exits 2 with one line on bad input."""
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    values: dict[str, Any] = {}
    try:
        config = given.pop("config", None)
        if config is not None:
            values.update(load_config(config))
        for name, value in given.items():
            values[name] = value if isinstance(value, bool) else _convert(name, value, from_text=True)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    return Params(**values)

"""The ``parameters`` cell → a typed frozen dataclass module with a command line (``params.py`` of a package).

The parameters cell is found by :func:`jupyter_mlops.capture.parameters.find_parameters_cell`: the code cell
tagged ``parameters`` (papermill's convention); without a tag, the first of the first three non-blank code cells
made only of literal assignments (``lr = 0.1``, ``layers: list[int] = [64, 32]``). Types come
from annotations, else from the default; help text comes from the assignment's trailing ``# comment``. In a
tagged cell, statements that are not literal assignments stay in the pipeline as ordinary code.

The generated module is self-contained (standard library, plus PyYAML only for a ``.yaml`` config): converted
packages should run without jupyter_mlops installed unless they track runs.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.capture.parameters import literal_assignment

#: annotation (outermost name) → how the command line and config files convert a value.
_KIND_BY_ANNOTATION = {
    "int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list", "List": "list",
    "dict": "dict", "Dict": "dict", "tuple": "tuple", "Tuple": "tuple", "Sequence": "list", "Mapping": "dict",
}


@dataclass
class ParamField:
    """One parameter: its name, annotation text, conversion kind, default (Python source) and help."""

    name: str
    annotation: str
    kind: str
    default: str
    help: str = ""


@dataclass
class ParamSpec:
    """The parameters found in a notebook, and where."""

    cell_index: int | None = None
    fields: list[ParamField] = field(default_factory=list)
    #: source lines of the parameters cell that are not literal assignments (kept as pipeline code)
    rest: str = ""


def _docstring_like(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _kind(annotation: ast.expr | None, value: Any) -> tuple[str, str]:
    """(annotation text, conversion kind) from an annotation or, failing that, from the default value."""
    if annotation is not None:
        text = ast.unparse(annotation)
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        name = head.attr if isinstance(head, ast.Attribute) else getattr(head, "id", "")
        return text, _KIND_BY_ANNOTATION.get(name, "any")
    for typ in (bool, int, float, str, list, dict, tuple):  # bool before int: True is an int
        if isinstance(value, typ):
            return typ.__name__, typ.__name__
    return "Any", "any"


def _trailing_comments(source: str) -> dict[int, str]:
    """Line number → text of a comment that ends that line."""
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return comments


def extract_params(source: str, tree: ast.Module, cell_index: int, *, tagged: bool) -> ParamSpec | None:
    """Read a parameters cell; None if the cell does not qualify (untagged with anything but literal assignments).

    Args:
        source: the cell's (magic-free) source.
        tree: its parsed module.
        cell_index: the cell's index in the notebook.
        tagged: the cell carries the ``parameters`` tag (then other statements are allowed and kept).
    """
    comments = _trailing_comments(source)
    lines = source.split("\n")
    spec = ParamSpec(cell_index)
    rest: list[str] = []
    seen: set[str] = set()
    for stmt in tree.body:
        if not tagged and _docstring_like(stmt):
            continue  # allowed in an untagged parameters cell (see capture.parameters), not a parameter
        found = literal_assignment(stmt)
        if found is None or found[0] in seen:
            if not tagged:
                return None
            rest.extend(lines[stmt.lineno - 1 : stmt.end_lineno])
            continue
        name, annotation, value = found
        seen.add(name)
        text, kind = _kind(annotation, ast.literal_eval(value))
        spec.fields.append(ParamField(name, text, kind, ast.unparse(value), comments.get(stmt.end_lineno or 0, "")))
    if not spec.fields and not tagged:
        return None
    spec.rest = "\n".join(rest)
    return spec


def render_params_module(spec: ParamSpec, *, notebook: str, package: str) -> str:
    """The text of ``params.py`` for a package."""
    lines = []
    for item in spec.fields:
        default = item.default
        if item.kind in ("list", "dict") or default.startswith(("[", "{")):
            default = f"_field(default_factory=lambda: {default})"
        lines.append(f"    {item.name}: {item.annotation} = {default}")
        if item.help:
            lines.append(f"    {_docstring(item.help)}")
    body = "\n".join(lines) if lines else "    pass"
    kinds = "".join(f"\n    {item.name!r}: {item.kind!r}," for item in spec.fields)
    helps = "".join(f"\n    {item.name!r}: {item.help!r}," for item in spec.fields if item.help)
    origin = f"cell {spec.cell_index}" if spec.cell_index is not None else "no parameters cell"
    return _TEMPLATE.format(
        notebook=notebook, package=package, origin=origin, fields=body, kinds=kinds + "\n" if kinds else "",
        helps=helps + "\n" if helps else "",
    )


def _docstring(text: str) -> str:
    return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '"""'


_TEMPLATE = '''"""Parameters of {notebook} ({origin}), with a command line.

``python -m {package} --help`` lists the flags. ``--config FILE`` reads YAML, TOML or JSON; flags given on the
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

{fields}


#: name -> how a value from the command line or a config file is converted
KINDS: dict[str, str] = {{{kinds}}}
HELP: dict[str, str] = {{{helps}}}


def _convert(name: str, value: Any, *, from_text: bool) -> Any:
    """Convert and check one value against its parameter's kind; ValueError with a one-line reason."""
    kind = KINDS[name]
    if from_text and kind in ("list", "dict", "tuple", "any"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            if kind != "any":
                raise ValueError(f"--{{name.replace('_', '-')}} expects JSON ({{kind}}), got {{value!r}}") from None
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
    elif isinstance(value, {{"list": (list, tuple), "dict": dict}}[kind]):
        return list(value) if kind == "list" else value
    raise ValueError(f"parameter {{name!r}} expects {{kind}}, got {{value!r}}")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read parameter values from a YAML, TOML or JSON file (a flat mapping; dashes in keys become underscores)."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{{file}}: not valid YAML ({{exc}})".replace("\\n", " ")) from None
    elif file.suffix == ".toml":
        import tomllib

        data = tomllib.loads(text)
    else:
        data = json.loads(text)
    if data is None:
        return {{}}
    if not isinstance(data, dict):
        raise ValueError(f"{{file}}: expected a mapping of parameter names to values")
    values = {{str(key).replace("-", "_"): value for key, value in data.items()}}
    unknown = sorted(set(values) - set(KINDS))
    if unknown:
        known = ", ".join(KINDS) or "none"
        raise ValueError(f"{{file}}: unknown parameter(s) {{', '.join(unknown)}} (known: {{known}})")
    return {{key: _convert(key, value, from_text=False) for key, value in values.items()}}


def build_parser(prog: str | None = "{package}") -> argparse.ArgumentParser:
    """The argument parser: one ``--flag`` per parameter, plus ``--config FILE``."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0], argument_default=argparse.SUPPRESS)
    parser.add_argument("--config", metavar="FILE", help="YAML, TOML or JSON file of parameter values")
    for item in dataclasses.fields(Params):
        flag = "--" + item.name.replace("_", "-")
        default = getattr(Params(), item.name)
        text = f"{{HELP.get(item.name, '')}} (default: {{default!r}})".strip()
        if KINDS[item.name] == "bool":
            parser.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction, help=text)
        else:
            parser.add_argument(flag, dest=item.name, metavar=KINDS[item.name].upper(), help=text)
    return parser


def parse_args(argv: list[str] | None = None) -> Params:
    """Params from the command line (``argv`` defaults to ``sys.argv[1:]``); exits 2 with one line on bad input."""
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    values: dict[str, Any] = {{}}
    try:
        config = given.pop("config", None)
        if config is not None:
            values.update(load_config(config))
        for name, value in given.items():
            values[name] = value if isinstance(value, bool) else _convert(name, value, from_text=True)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    return Params(**values)
'''

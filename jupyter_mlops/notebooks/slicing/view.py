"""A cell as plain Python: ``%track`` magics as API calls, display magics dropped, the rest commented out and named.

The executed-cell log holds sources as the user typed them, magics included. The slicer analyses, and emits, the
Python view this module builds, so the two always agree:

* ``%track ...`` and ``%%track params|metrics`` become the calls of the Python API that convert writes
  (:mod:`jupyter_mlops.notebooks.convert.translate`); ``%track slice|reproduce|compare|list|show|status`` only
  look at the store and are dropped;
* ``%load_ext``, ``%matplotlib`` and the other display magics are dropped; ``%time`` keeps its statement;
  ``%pip``/``%conda`` are dropped (the run's environment is recorded elsewhere);
* ``%%writefile [-a] PATH`` becomes the ``open(PATH, "w").write(...)`` it performs, so the file it writes is
  seen like any other file write;
* anything else (``!cmd``, ``%run``, ``%cd``, ``%%bash`` ...) stays as a comment and makes the cell *unsure*:
  it may have changed any name or file, so the slicer keeps it where it could matter and says why.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field

from jupyter_mlops.notebooks.convert.translate import (
    API_IMPORT,
    BODY_CELL_MAGICS,
    DISPLAY_CELL_MAGICS,
    _continues_statement,
    translate_cell,
    translate_line_magic,
)

__all__ = ["API_IMPORT", "CellView", "python_view"]

#: ``%track`` sub-commands that only read the store: nothing to run in a slice.
_READ_ONLY_TRACK = frozenset({"slice", "reproduce", "compare", "list", "show", "status"})
#: line magics with no effect on computed values that convert refuses (it makes packages; a slice may drop them).
_ENVIRONMENT_MAGICS = frozenset({"pip", "conda", "mamba"})
_MAGIC = re.compile(r"^(?P<indent>[ \t]*)(?P<sigil>%%|%|!!|!)(?P<rest>.*)$")
_ASSIGN_MAGIC = re.compile(r"^[ \t]*[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*=[ \t]*[%!]")
_HELP_LINE = re.compile(r"^[ \t]*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})[ \t]*$")


@dataclass
class CellView:
    """One cell's Python view.

    Attributes:
        code: plain Python (magics translated, dropped or commented out).
        unsure: why the cell's effects cannot be seen (a shell command, ``%run`` ...), one line each.
        imports: imports the translated code needs (``import jupyter_mlops as mlops``, convert's runtime helpers).
    """

    code: str
    unsure: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)


def python_view(source: str) -> CellView:
    """The Python view of one executed cell's source (see the module docstring)."""
    if "%" not in source and "!" not in source and "?" not in source:
        return CellView(source)
    try:
        ast.parse(source)
        return CellView(source)  # a `%` here is an operator or inside a string
    except (SyntaxError, ValueError):
        pass
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        return _cell_magic(lines[first].strip()[2:], "\n".join(lines[first + 1:]))
    return _line_magics(lines)


def _cell_magic(header: str, body: str) -> CellView:
    name, _, args = header.partition(" ")
    if name in DISPLAY_CELL_MAGICS:
        return CellView("")
    if name in BODY_CELL_MAGICS:
        return python_view(body)
    if name == "track":
        translated = translate_cell(f"%%{header}\n{body}")
        if translated.errors:
            return _commented(f"%%{header}\n{body}", translated.errors[0])
        imports = [API_IMPORT, *translated.imports]
        return CellView(translated.code, [], imports)
    if name == "writefile":
        return _writefile(args, body)
    return _commented(f"%%{header}\n{body}", f"`%%{name}` runs the cell outside Python")


def _writefile(args: str, body: str) -> CellView:
    try:
        words = shlex.split(args)
    except ValueError:
        words = []
    paths = [word for word in words if not word.startswith("-")]
    if len(paths) != 1:
        return _commented(f"%%writefile {args}\n{body}", "`%%writefile` with an unreadable path")
    mode = "a" if any(word in ("-a", "--append") for word in words) else "w"
    text = body if body.endswith("\n") else body + "\n"  # IPython writes the cell with its final newline
    return CellView(f"with open({paths[0]!r}, {mode!r}) as _file:\n    _file.write({text!r})")


def _commented(source: str, reason: str) -> CellView:
    lines = [f"# {line}" if line.strip() else line for line in source.split("\n")]
    return CellView("\n".join([f"# not converted: {reason}", *lines]), [reason])


def _line_magics(lines: list[str]) -> CellView:
    out: list[str] = []
    unsure: list[str] = []
    uses_api = False
    for line in lines:
        stripped = line.lstrip()
        candidate = bool(stripped) and (stripped[0] in "%!?" or bool(_ASSIGN_MAGIC.match(line)))
        if not candidate or _continues_statement(out):
            out.append(line)
            continue
        if _HELP_LINE.match(line):
            continue
        indent = line[: len(line) - len(stripped)]
        code, reason = _line(stripped)
        if reason is not None:
            unsure.append(reason)
            out.append(f"{indent}# {stripped}  (not converted: {reason})")
            if indent:
                out.append(f"{indent}pass")
            continue
        uses_api = uses_api or "mlops." in code
        if code:
            out.extend(indent + part for part in code.split("\n"))
        elif indent:
            out.append(f"{indent}pass")
    return CellView("\n".join(out), unsure, [API_IMPORT] if uses_api else [])


def _line(text: str) -> tuple[str, str | None]:
    """One magic or shell line (without indentation) as Python, or ``("", reason)`` when it cannot be."""
    if _ASSIGN_MAGIC.match(text):
        return "", "assigns the output of a magic or shell command"
    match = _MAGIC.match(text)
    if match is None:
        return text, None
    sigil, rest = match["sigil"], match["rest"].strip()
    if sigil.startswith("!"):
        return "", "runs a shell command"
    if sigil == "%%":
        return "", f"cell magic `%%{rest}` is not on the first line"
    name, _, args = rest.partition(" ")
    if name in _ENVIRONMENT_MAGICS:
        return "", None
    if name == "track":
        sub = args.split(None, 1)[0] if args.split() else ""
        if sub in _READ_ONLY_TRACK:
            return "", None
        if sub == "model":
            return _track_model(args)
    code, error = translate_line_magic(rest)
    if error is not None:
        return "", error.replace("`", "")
    return code, None


def _track_model(args: str) -> tuple[str, str | None]:
    """``%track model NAME TARGET`` as ``mlops.log_model`` (a variable wins over a path, as in the magic)."""
    try:
        words = [word for word in shlex.split(args)[1:] if not word.startswith("-")]
    except ValueError:
        words = []
    if len(words) < 2:
        return "", "%track model with options the slice cannot translate"
    name, target = words[0], words[1]
    value = target if target.isidentifier() else repr(target)
    return f"mlops.log_model({value}, {name!r})", None

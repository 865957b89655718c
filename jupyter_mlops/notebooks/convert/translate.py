"""Translate IPython magics in a cell to plain Python, or reject the ones that change what the code means.

notebooks/ must not import IPython, so the lines are recognised here: a line starting with ``%``, ``%%`` or
``!`` (after indentation), ``name = !cmd`` / ``name = %magic``, and ``obj?`` help lines — but only at the start
of a logical line (never inside a bracket, a multi-line string or after a backslash), checked by tokenizing the
already-translated lines before it.

Three outcomes per magic:

* ``%track ...`` / ``%%track params|metrics`` become calls of the Python API (``import jupyter_mlops as mlops``);
* display-only magics (``%matplotlib``, ``%autoreload``, ``%config``, ``%timeit``, ``%%html`` ...) are dropped,
  and ``%time`` / ``%%time`` / ``%%capture`` keep their body;
* anything else (``!cmd``, ``%pip``, ``%run``, ``%cd``, ``%env``, ``%%bash``, unknown magics) is an error, which the
  caller collects per cell and raises once as a ConversionError.
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field

#: line magics with no effect on the values a notebook computes.
DISPLAY_LINE_MAGICS = frozenset(
    {
        "matplotlib", "autoreload", "aimport", "config", "timeit", "precision", "who", "whos", "who_ls", "pwd",
        "history", "lsmagic", "pdb", "xmode", "colors", "magic", "page", "pinfo", "pinfo2", "psearch", "pprint",
        "notebook", "qtconsole", "reload_ext", "tb", "doctest_mode", "automagic", "autocall", "autosave",
    }
)
#: cell magics whose whole cell is display-only.
DISPLAY_CELL_MAGICS = frozenset({"html", "HTML", "markdown", "latex", "javascript", "js", "svg", "timeit"})
#: cell magics that run their body unchanged.
BODY_CELL_MAGICS = frozenset({"time", "capture"})
#: extensions whose loading changes nothing once the magics are translated.
HARMLESS_EXTENSIONS = frozenset({"jupyter_mlops", "autoreload", "watermark"})

_MAGIC_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<sigil>%%|%|!!|!)(?P<rest>.*)$")
_ASSIGN_MAGIC = re.compile(r"^[ \t]*[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*=[ \t]*[%!]")
_HELP_LINE = re.compile(r"^[ \t]*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})[ \t]*$")

API_IMPORT = "import jupyter_mlops as mlops"
RUNTIME_MODULE = "jupyter_mlops.notebooks.convert.runtime"
#: ``%%track KIND`` logs only some of the cell's assignments: the generated call filters them the same way
_RUNTIME_FILTER = {"metrics": "tracked_metrics", "params": "tracked_params"}


@dataclass
class CellTranslation:
    """The Python for one code cell, plus the problems found in it."""

    code: str
    errors: list[str] = field(default_factory=list)
    uses_api: bool = False
    #: imports the translated code needs besides ``API_IMPORT``
    imports: list[str] = field(default_factory=list)
    #: 1-based lines of ``code`` left blank where a magic was dropped (not blank lines of the cell itself)
    placeholders: set[int] = field(default_factory=set)


def translate_cell(source: str, after_start: str = "") -> CellTranslation:
    """Translate the magics of one cell's source.

    Args:
        source: the cell's source text.
        after_start: a statement to run right after a translated ``%track start`` (the pipeline logs the
            parameters-cell values there, as the notebook's observer does when a run starts).

    Returns:
        The translated code (same number of lines where a magic maps to one statement) and the reasons it
        cannot be converted, if any.
    """
    if "%" not in source and "!" not in source and "?" not in source:
        return CellTranslation(source)
    try:
        ast.parse(source)
        return CellTranslation(source)  # valid Python: a `%` or `!` line here is an operator or inside a string
    except SyntaxError:
        pass
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        return _translate_cell_magic(lines[first].strip()[2:], "\n".join(lines[first + 1 :]), after_start)
    return _translate_lines(lines, after_start)


def _translate_cell_magic(header: str, body: str, after_start: str) -> CellTranslation:
    name, _, args = header.partition(" ")
    if name in DISPLAY_CELL_MAGICS:
        return CellTranslation("")
    if name in BODY_CELL_MAGICS:
        return translate_cell(body, after_start)
    if name == "track":
        kind, _, options = args.strip().partition(" ")
        return _track_cell(kind, options, body)
    return CellTranslation("", [f"%%{name} runs the cell outside Python"])


def _track_cell(kind: str, options: str, body: str) -> CellTranslation:
    """``%%track params`` / ``%%track metrics [--step N]``: keep the assignments, then log the names they assign."""
    if kind not in ("params", "metrics"):
        return CellTranslation("", [f"%%track {kind} is not a known cell form (use params or metrics)"])
    try:
        _, parsed = _options(shlex.split(options), {"step": "step"} if kind == "metrics" else {})
    except ValueError as exc:
        return CellTranslation("", [f"%%track {kind} {options}: {exc}"])
    step = f", step={_value(parsed['step'][-1])}" if "step" in parsed else ""
    inner = translate_cell(body)
    if inner.errors:
        return inner
    try:
        tree = ast.parse(inner.code)
    except SyntaxError as exc:
        return CellTranslation("", [f"syntax error in %%track {kind} body: {exc.msg}"])
    from jupyter_mlops.capture.cells import analyze

    names = list(dict.fromkeys(analyze(tree).assigned_names))  # the names the magic looks up after the cell
    mapping = ", ".join(f"{name!r}: {name}" for name in names)
    call = f"mlops.log_{kind}({_RUNTIME_FILTER[kind]}({{{mapping}}}){step})"
    imports = [f"from {RUNTIME_MODULE} import {_RUNTIME_FILTER[kind]}"]
    return CellTranslation(inner.code.rstrip("\n") + "\n" + call, [], True, imports)


def _translate_lines(lines: list[str], after_start: str) -> CellTranslation:
    out: list[str] = []  # one entry per source line (a %track start entry holds two lines)
    errors: list[str] = []
    placeholders: set[int] = set()
    uses_api = False
    for line in lines:
        if not _is_candidate(line) or _continues_statement(out):
            out.append(line)
            continue
        if _HELP_LINE.match(line):
            out.append("")
            placeholders.add(len(out))
            continue
        if _ASSIGN_MAGIC.match(line):
            errors.append(f"`{line.strip()}` assigns the output of a magic or shell command")
            out.append("")
            continue
        match = _MAGIC_LINE.match(line)
        if match is None:  # a `?` that is not a help request: leave it for the parser to judge
            out.append(line)
            continue
        indent, sigil, rest = match["indent"], match["sigil"], match["rest"].strip()
        if sigil.startswith("!"):
            errors.append(f"`{line.strip()}` runs a shell command")
            out.append("")
            continue
        if sigil == "%%":
            errors.append(f"cell magic `%%{rest}` is not on the first line")
            out.append("")
            continue
        code, error = translate_line_magic(rest)
        if code.startswith("mlops.start_run(") and after_start:
            code += "\n" + indent + after_start
        if error:
            errors.append(error)
        uses_api = uses_api or "mlops." in (code or "")
        out.append(indent + code if code else (indent + "pass" if indent else ""))
        if not code and not indent:
            placeholders.add(len(out))
    # entries before a two-line %track start entry shift the line numbers after it
    numbers, line_number = {}, 0
    for position, entry in enumerate(out, start=1):
        numbers[position] = line_number + 1
        line_number += entry.count("\n") + 1
    return CellTranslation("\n".join(out), errors, uses_api, [], {numbers[p] for p in placeholders})


def _is_candidate(line: str) -> bool:
    stripped = line.lstrip()
    return bool(stripped) and (stripped[0] in "%!?" or bool(_ASSIGN_MAGIC.match(line)) or bool(_HELP_LINE.match(line)))


def _continues_statement(previous: list[str]) -> bool:
    """True when the next line is inside a bracket, a multi-line string or after a backslash."""
    if not previous:
        return False
    text = "\n".join(previous) + "\n"
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except tokenize.TokenError:
        return True
    except (SyntaxError, ValueError):  # an unrelated tokenizer complaint: judge the line on its own
        return False
    return False


def translate_line_magic(rest: str) -> tuple[str, str | None]:
    """Translate one line magic (without its ``%``) to Python.

    Returns:
        ``(code, error)``: ``code`` is empty when the magic is dropped; ``error`` names a magic that cannot be
        converted.
    """
    name, _, args = rest.partition(" ")
    args = args.strip()
    if name == "track":
        return translate_track(args)
    if name in ("load_ext", "reload_ext"):
        if args in HARMLESS_EXTENSIONS or name == "reload_ext":
            return "", None
        return "", f"`%{rest}` loads an extension that may change how cells run"
    if name == "time":
        return args, None
    if name in DISPLAY_LINE_MAGICS:
        return "", None
    return "", f"`%{rest}` changes the environment or runs code outside the notebook"


def translate_track(args: str) -> tuple[str, str | None]:
    """Translate the arguments of a ``%track`` line magic to a ``mlops.*`` call (same syntax as the magic)."""
    sub, _, raw = args.strip().partition(" ")
    if sub == "note":  # the magic keeps the rest of the line verbatim
        return f"mlops.note({raw.strip()!r})", None
    try:
        words = shlex.split(args)
    except ValueError as exc:
        return "", f"`%track {args}`: {exc}"
    if not words:
        return "", "`%track` needs a sub-command"
    sub, rest = words[0], words[1:]
    handler = _TRACK.get(sub)
    if handler is None:
        return "", f"`%track {sub}` is not a known sub-command"
    try:
        return handler(rest), None
    except ValueError as exc:
        return "", f"`%track {args}`: {exc}"


def _options(
    words: list[str], known: dict[str, str], flags: frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, list[str]]]:
    """Split ``words`` into positionals and ``--opt value`` options.

    ``known`` maps an option (long name, or one letter for ``-x``) to its keyword; ``flags`` take no value.
    """
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1 and not _is_number(word):
            key, eq, value = word.lstrip("-").partition("=")
            if key in flags:
                options.setdefault(key, []).append("")
                i += 1
                continue
            if key not in known:
                raise ValueError(f"unknown option {word}")
            if not eq:
                if i + 1 >= len(words):
                    raise ValueError(f"--{key} needs a value")
                i += 1
                value = words[i]
            options.setdefault(known[key], []).append(value)
        else:
            positional.append(word)
        i += 1
    return positional, options


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _value(text: str) -> str:
    """A magic argument as Python source: a literal stays a literal, anything else is an expression.

    IPython expands ``$name`` and ``{expr}`` in magic lines before the magic sees them; here they become the
    expression itself.
    """
    if text.startswith("$") and text[1:].isidentifier():
        return text[1:]
    if text.startswith("{") and text.endswith("}") and "{" not in text[1:-1]:
        return f"({text[1:-1]})"
    try:
        ast.literal_eval(text)
        return text
    except (ValueError, SyntaxError):
        pass
    try:
        ast.parse(text, mode="eval")
        return text
    except SyntaxError:
        return repr(text)


def _pairs(words: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise ValueError(f"expected key=value, got {word!r}")
        pairs.append((key, _value(value)))
    return pairs


def _track_start(words: list[str]) -> str:
    known = {"experiment": "experiment", "e": "experiment", "tag": "tags", "t": "tags", "note": "note", "n": "note"}
    positional, options = _options(words, known, frozenset({"no-auto"}))
    args = [repr(positional[0])] if positional else []
    if "experiment" in options:
        args.append(f"experiment={options['experiment'][-1]!r}")
    if "tags" in options:
        args.append(f"tags={options['tags']!r}")
    if "note" in options:
        args.append(f"note={options['note'][-1]!r}")
    return f"mlops.start_run({', '.join(args)})"


def _track_metric(words: list[str]) -> str:
    positional, options = _options(words, {"step": "step"})
    pairs = _pairs(positional)
    if not pairs:
        raise ValueError("expected NAME=VALUE")
    step = f", step={_value(options['step'][-1])}" if "step" in options else ""
    mapping = ", ".join(f"{key!r}: {value}" for key, value in pairs)
    return f"mlops.log_metrics({{{mapping}}}{step})"


def _track_params(words: list[str]) -> str:
    """``%track params a b`` logs variables by name; ``key=value`` pairs are accepted too."""
    pairs = [(w, w) if "=" not in w else _pairs([w])[0] for w in words]
    if not pairs:
        return ""  # `%track params` alone only shows the params
    mapping = ", ".join(f"{key!r}: {value}" for key, value in pairs)
    return f"mlops.log_params({{{mapping}}})"


def _track_data(words: list[str]) -> str:
    """Each target: a variable (logged under its name) or a path."""
    if not words:
        raise ValueError("expected a data path or variable")
    calls = [f"mlops.log_data({t}, name={t!r})" if t.isidentifier() else f"mlops.log_data({t!r})" for t in words]
    return "; ".join(calls)


def _track_stop(words: list[str]) -> str:
    _, options = _options(words, {}, frozenset({"failed"}))
    return 'mlops.end_run("failed")' if "failed" in options else "mlops.end_run()"


_TRACK: dict[str, Callable[[list[str]], str]] = {
    "start": _track_start,
    "stop": _track_stop,
    "metric": _track_metric,
    "params": _track_params,
    "data": _track_data,
    "artifact": lambda words: "; ".join(f"mlops.log_artifact({w!r})" for w in words),
    "tag": lambda words: f"mlops.set_tags({', '.join(repr(w) for w in words)})",
    # read-only views of the store: nothing to do in a pipeline
    "compare": lambda words: "",
    "list": lambda words: "",
    "show": lambda words: "",
    "status": lambda words: "",
}

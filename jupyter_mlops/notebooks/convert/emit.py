"""Render a :class:`~.flow.Plan` as the text of a package's modules (pure: returns ``{relative path: text}``)."""

from __future__ import annotations

from jupyter_mlops.notebooks.convert.flow import CodeItem, Plan, SectionPlan
from jupyter_mlops.notebooks.convert.params import render_params_module

_INDENT = "    "
_FUTURE = "from __future__ import annotations"

_DISPLAY_SHIM = '''

def display(*objs: object, **kwargs: object) -> None:
    """Stand-in for IPython's ``display()`` outside a notebook: print each object."""
    for obj in objs:
        print(obj)
'''


def _wrap(prefix: str, names: list[str], suffix: str, indent: str = "") -> str:
    """``prefix + names + suffix`` on one line if it fits in 120 columns, else one name per line (black style)."""
    line = f"{indent}{prefix}{', '.join(names)}{suffix}"
    if len(line) <= 120 or not names:
        return line
    inner = "".join(f"{indent}{_INDENT}{name},\n" for name in names)
    return f"{indent}{prefix}\n{inner}{indent}{suffix}"


def render_package(plan: Plan, *, package: str, notebook: str, notebook_folder: str = "..") -> dict[str, str]:
    """All files of the package, keyed by file name (the package folder's contents).

    ``notebook_folder`` is the notebook's folder relative to the package folder (POSIX spelling): the
    pipeline runs its sections there, as the notebook's cells ran.
    """
    files = {
        "__init__.py": _init_module(package, notebook),
        "__main__.py": _main_module(package),
        "params.py": render_params_module(plan.spec, notebook=notebook, package=package),
        "pipeline.py": _pipeline_module(plan, notebook, notebook_folder),
    }
    for section in plan.sections:
        files[f"{section.name}.py"] = _section_module(section, notebook)
    return files


def _init_module(package: str, notebook: str) -> str:
    return f'''"""{package}: the pipeline converted from {notebook} by ``jupyter-mlops convert``.

Run it with ``python -m {package} [--help]``, or from Python: ``run(Params(...))``.
"""

from .params import Params, parse_args
from .pipeline import run

__all__ = ["Params", "parse_args", "run"]
'''


def _main_module(package: str) -> str:
    return f'''"""``python -m {package}``: read the parameters from the command line and run the pipeline."""

from __future__ import annotations

import sys

from .params import parse_args
from .pipeline import run


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the pipeline."""
    run(parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
'''


def _cells_range(section: SectionPlan) -> str:
    indices = [item.cell_index for item in section.code_items()]
    return f"cell {indices[0]}" if len(indices) == 1 else f"cells {indices[0]}-{indices[-1]}"


def _section_module(section: SectionPlan, notebook: str) -> str:
    title = section.title.replace('"""', "'''").replace("\\", "/")
    head = [f'"""Section "{title}" of {notebook} ({_cells_range(section)})."""', "", _FUTURE]
    if section.imports:
        head += ["", *section.imports]
    shim = "display" in section.reads and "display" not in section.args and "display" not in section.writes
    signature = _wrap(f"def {section.function}(", section.args, "):")
    body = [f'{_INDENT}"""{title}."""' if not title.endswith(".") else f'{_INDENT}"""{title}"""']
    statements = 0
    for item in section.items:
        if isinstance(item, str):
            body += [f"{_INDENT}# {line}".rstrip() for line in item.strip().splitlines()]
        else:
            lines, count = _item_lines(item)
            body += lines
            statements += count
    if not statements and not section.outputs:
        body.append(f"{_INDENT}pass")
    if section.outputs:
        outputs = section.outputs
        plain = f"{_INDENT}return {', '.join(outputs)}"
        body.append(plain if len(plain) <= 120 else _wrap("return (", outputs, ")", _INDENT))
    text = "\n".join(head) + (_DISPLAY_SHIM if shim else "") + "\n\n\n" + signature + "\n" + "\n".join(body) + "\n"
    return text


def _item_lines(item: CodeItem) -> tuple[list[str], int]:
    """The cell's lines indented into the function body, as written (blank lines included).

    Hoisted imports and dropped magics are left out, display-only expressions become comments, re-definitions
    are inserted after the statement that calls for them.
    """
    out = [f"{_INDENT}# cell {item.cell_index}"]
    after_removal = False
    for number, (line, indent) in enumerate(zip(item.lines, item.indent, strict=True), start=1):
        if number in item.removed:
            after_removal = True
        elif number in item.shown:
            first = number in item.shown_starts
            out.append(f"{_INDENT}# {'shown in the notebook: ' if first else ''}{line}".rstrip())
        else:
            text = _indent(line, indent)
            blank = not text.strip()
            if not (blank and after_removal and (len(out) == 1 or not out[-1].strip())):
                out.append(text)  # a blank line that only separated a removed line from the code is not kept
            after_removal = after_removal and blank
        for extra, extra_indent in item.inserts.get(number, []):
            out.append(_indent(extra, extra_indent))
    while len(out) > 1 and not out[1].strip():
        del out[1]
    while out and not out[-1].strip():
        out.pop()
    return out, sum(1 for info in item.infos if not info.hoisted)


def _indent(line: str, indent: bool) -> str:
    if not indent:
        return line
    return _INDENT + line if line.strip() else ""


_FOLDER_HELPER = '''

@contextlib.contextmanager
def notebook_folder() -> Iterator[Path]:
    """Run in the notebook's folder, as its cells ran: its relative paths, its own modules and its project's
    run store resolve as in the notebook. Where the notebook is not there (the package was moved), the current
    folder is used, as for any script."""
    folder = (Path(__file__).resolve().parent / NOTEBOOK_FOLDER).resolve()
    if not (folder / NOTEBOOK).is_file():
        yield Path.cwd()
        return
    previous = os.getcwd()
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        os.chdir(previous)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
'''


def _pipeline_module(plan: Plan, notebook: str, notebook_folder: str) -> str:
    taken = set(plan.order)
    aliases: dict[str, str] = {}
    imports = []
    for section in plan.sections:
        alias = f"_{section.function}"
        while alias in taken:
            alias = f"_{alias}"
        taken.add(alias)
        aliases[section.name] = alias
        imports.append(f"{_INDENT * 2}from .{section.name} import {section.function} as {alias}")
    fields = sorted(plan.spec.fields, key=lambda f: f.name == "params")  # `params` itself last: it is the argument
    body = [f"{_INDENT * 2}{f.name} = params.{f.name}" for f in fields]
    for section in plan.sections:
        targets = ", ".join(section.outputs)
        indent = _INDENT * 2
        if len(targets) > 60:
            targets = _wrap("(", section.outputs, ")", indent).lstrip()
        prefix = f"{targets} = " if targets else ""
        body.append(_wrap(f"{prefix}{aliases[section.name]}(", section.args, ")", indent))
    return "\n".join(
        [
            f'"""The pipeline of {notebook}: its sections in notebook order, in the notebook\'s folder."""',
            "",
            "from __future__ import annotations",
            "",
            "import contextlib",
            "import os",
            "import sys",
            "from collections.abc import Iterator",
            "from pathlib import Path",
            "",
            "from .params import Params",
            "",
            "#: the notebook this package was converted from, and its folder relative to this package's folder",
            f"NOTEBOOK = {notebook!r}",
            f"NOTEBOOK_FOLDER = {notebook_folder!r}",
            _FOLDER_HELPER,
            "",
            "def run(params: Params) -> None:",
            f'{_INDENT}"""Run every section of the notebook in order, with ``params``, in the notebook\'s folder."""',
            f"{_INDENT}with notebook_folder():",
            f"{_INDENT * 2}# imported here: a section's imports may be modules next to the notebook",
            *sorted(imports),
            *([""] if imports and body else []),
            *(body or ([] if imports else [f"{_INDENT * 2}pass"])),
            "",
        ]
    )

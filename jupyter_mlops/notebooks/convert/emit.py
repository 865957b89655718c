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


def render_package(plan: Plan, *, package: str, notebook: str) -> dict[str, str]:
    """All files of the package, keyed by path relative to the output folder (``<package>/...``)."""
    files = {
        f"{package}/__init__.py": _init_module(package, notebook),
        f"{package}/__main__.py": _main_module(package),
        f"{package}/params.py": render_params_module(plan.spec, notebook=notebook, package=package),
        f"{package}/pipeline.py": _pipeline_module(plan, notebook),
    }
    for section in plan.sections:
        files[f"{package}/{section.name}.py"] = _section_module(section, notebook)
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
    """The cell's lines indented into the function body, without hoisted imports, with re-definitions."""
    out = [f"{_INDENT}# cell {item.cell_index}"]
    for number, (line, indent) in enumerate(zip(item.lines, item.indent, strict=True), start=1):
        if number not in item.removed:
            out.append(_indent(line, indent))
        for extra, extra_indent in item.inserts.get(number, []):
            out.append(_indent(extra, extra_indent))
    collapsed = out[:1]
    for line in out[1:]:  # dropped magics and hoisted imports leave blank runs behind
        if line.strip() or (collapsed[-1].strip() and len(collapsed) > 1):
            collapsed.append(line)
    while collapsed and not collapsed[-1].strip():
        collapsed.pop()
    return collapsed, sum(1 for info in item.infos if not info.hoisted)


def _indent(line: str, indent: bool) -> str:
    if not indent:
        return line
    return _INDENT + line if line.strip() else ""


def _pipeline_module(plan: Plan, notebook: str) -> str:
    taken = set(plan.order)
    aliases: dict[str, str] = {}
    imports = []
    for section in plan.sections:
        alias = f"_{section.function}"
        while alias in taken:
            alias = f"_{alias}"
        taken.add(alias)
        aliases[section.name] = alias
        imports.append(f"from .{section.name} import {section.function} as {alias}")
    fields = sorted(plan.spec.fields, key=lambda f: f.name == "params")  # `params` itself last: it is the argument
    body = [f"{_INDENT}{f.name} = params.{f.name}" for f in fields]
    for section in plan.sections:
        targets = ", ".join(section.outputs)
        if len(targets) > 60:
            targets = _wrap("(", section.outputs, ")", _INDENT).lstrip()
        prefix = f"{targets} = " if targets else ""
        body.append(_wrap(f"{prefix}{aliases[section.name]}(", section.args, ")", _INDENT))
    return "\n".join(
        [
            f'"""The pipeline of {notebook}: its sections in notebook order."""',
            "",
            "from __future__ import annotations",
            "",
            *sorted(imports),
            "from .params import Params",
            "",
            "",
            "def run(params: Params) -> None:",
            f'{_INDENT}"""Run every section of the notebook in order, with ``params``."""',
            *(body or [f"{_INDENT}pass"]),
            "",
        ]
    )

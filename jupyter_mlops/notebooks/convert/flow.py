"""Plan a package from a notebook: translated cells, hoisted imports, and each section's inputs and outputs.

How names flow (the approach, documented for users in docs/convert.md):

* Each section becomes a function. Its **arguments** are the names it reads or rebinds that the parameters or an
  earlier section may have defined; its **return values** are the names it binds or mutates that a later section
  takes as arguments. Computed backwards, so a name shadowed by a later section comes from the latest one.
* **Imports** bound only by identical ``import`` statements are hoisted to the top of every section module that
  uses them (deduplicated). An import whose name is also assigned elsewhere stays in place and flows as data.
* **Functions and classes** stay nested in their section function, so they close over the section's names
  exactly as notebook functions see notebook globals. When a later section rebinds a global that such a function
  reads at call time (and the function is still used), the definition is repeated right after the rebinding, so
  calls from then on see the new value, as in the notebook.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.capture.parameters import INJECTED_TAG, cell_source, cell_tags, find_parameters_cell
from jupyter_mlops.errors import ConversionError
from jupyter_mlops.notebooks.convert.active import INACTIVE, py_view
from jupyter_mlops.notebooks.convert.analysis import StatementInfo, analyze_statement, display_only
from jupyter_mlops.notebooks.convert.params import ParamSpec, extract_params
from jupyter_mlops.notebooks.convert.sections import split_sections, unique_names
from jupyter_mlops.notebooks.convert.translate import API_IMPORT, translate_cell

#: names that only exist inside IPython: reading them cannot be converted
_IPYTHON_ONLY = frozenset({"get_ipython", "In", "Out"})


@dataclass
class CodeItem:
    """One translated code cell inside a section."""

    cell_index: int
    lines: list[str]
    indent: list[bool]  # False for lines that continue a multi-line string (indenting them changes the string)
    infos: list[StatementInfo]
    removed: set[int] = field(default_factory=set)  # 1-based lines left out: hoisted imports, dropped magics
    shown: set[int] = field(default_factory=set)  # 1-based lines of display-only expressions (kept as comments)
    shown_starts: set[int] = field(default_factory=set)  # the first line of each of them
    inserts: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)  # after line → (text, indent)


@dataclass
class SectionPlan:
    """A section: title, names, the cells in it, and its data flow."""

    title: str
    name: str
    items: list[CodeItem | str] = field(default_factory=list)  # str: markdown text
    imports: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    function: str = ""

    def code_items(self) -> list[CodeItem]:
        """The code cells of the section."""
        return [item for item in self.items if isinstance(item, CodeItem)]


@dataclass
class Plan:
    """Everything the emitter needs."""

    spec: ParamSpec
    sections: list[SectionPlan]
    order: dict[str, int]
    star_imports: list[str] = field(default_factory=list)


def normalize_sources(nb: Any) -> Any:
    """Join list-of-lines cell sources (as stored on disk) into strings, in place; returns ``nb``."""
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb


def find_parameters(cells: list[tuple[int, Any]]) -> ParamSpec:
    """The notebook's parameters, from the cell :func:`~jupyter_mlops.capture.parameters.find_parameters_cell` finds.

    ``cells`` are ``(notebook index, cell)`` pairs; papermill's injected cell is never the parameters cell here
    (its values are one run's, not the package's defaults).
    """
    own = [(i, c) for i, c in cells if INJECTED_TAG not in cell_tags(c)]
    found = find_parameters_cell([c for _, c in own], tags_known=True)
    if found is None:
        return ParamSpec()
    index, cell = own[found.index]
    code = translate_cell(cell_source(cell)).code
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ParamSpec()
    return extract_params(code, tree, index, tagged=found.provenance == "tagged") or ParamSpec()


def _string_lines(tree: ast.Module, code: str) -> set[int]:
    """1-based lines that start inside a multi-line string literal."""
    lines: set[int] = set()
    if '"""' not in code and "'''" not in code and "\\\n" not in code:
        return lines  # a string can only span lines with triple quotes or a backslash-newline
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno and node.end_lineno > node.lineno:
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                lines.update(range(node.lineno + 1, node.end_lineno + 1))
    return lines


def _alone(stmt: ast.stmt, body: list[ast.stmt]) -> set[int]:
    """The lines of ``stmt`` if no other statement of ``body`` starts or ends on them, else an empty set."""
    lines = set(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    others = [other for other in body if other is not stmt]
    if any(other.lineno in lines or (other.end_lineno or other.lineno) in lines for other in others):
        return set()
    return lines


def _code_item(
    index: int, code: str, errors: list[str], first_line: str, placeholders: frozenset[int] = frozenset()
) -> CodeItem | None:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        errors.append(f"cell {index} (`{first_line}`): syntax error: {exc.msg} (line {exc.lineno})")
        return None
    # a bare expression only showed its value in the notebook: the package keeps it as a comment, not as code
    shown = [(stmt, _alone(stmt, tree.body)) for stmt in tree.body if display_only(stmt)]
    shown = [(stmt, lines) for stmt, lines in shown if lines]
    dropped = {id(stmt) for stmt, _ in shown}
    tree.body = [stmt for stmt in tree.body if id(stmt) not in dropped]
    infos = [analyze_statement(stmt) for stmt in tree.body]
    problems = [p for info in infos for p in info.problems]
    ipython_only = sorted({n for info in infos for n in info.reads} & _IPYTHON_ONLY)
    problems += [f"uses `{name}`, which exists only in IPython" for name in ipython_only]
    if problems:
        errors.append(f"cell {index} (`{first_line}`): {'; '.join(dict.fromkeys(problems))}")
    if not tree.body and not shown:
        return None
    lines = code.split("\n")
    strings = _string_lines(tree, code)
    item = CodeItem(index, lines, [n not in strings for n in range(1, len(lines) + 1)], infos)
    item.removed |= set(placeholders)
    item.shown = {n for _, lines_of in shown for n in lines_of}
    item.shown_starts = {min(lines_of) for _, lines_of in shown}
    return item


def _translate(index: int, cell: Any, spec: ParamSpec, errors: list[str]) -> CodeItem | None:
    source = str(cell.get("source", ""))
    first_line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if index == spec.cell_index:
        code = spec.rest
    else:
        names = [f.name for f in spec.fields]
        after = f"mlops.log_params({{{', '.join(f'{n!r}: {n}' for n in names)}}})" if names else ""
        translation = translate_cell(source, after_start=after)
        if translation.errors:
            errors.append(f"cell {index} (`{first_line}`): {'; '.join(translation.errors)}")
            return None
        prefix = ([API_IMPORT] if translation.uses_api else []) + translation.imports
        code = "\n".join([*prefix, translation.code])
        placeholders = frozenset(n + len(prefix) for n in translation.placeholders)
        return _code_item(index, code, errors, first_line, placeholders)
    return _code_item(index, code, errors, first_line)


def build_plan(nb: Any, *, sections: str = "h2", origin: str = "notebook") -> Plan:
    """Analyse a notebook into a :class:`Plan`.

    Args:
        nb: an nbformat v4 notebook.
        sections: ``h1``/``h2``/``h3``/``tag``, see :func:`~.sections.split_sections`.
        origin: how to name the notebook in errors.

    Raises:
        ConversionError: one line naming every cell that cannot be converted and why.
    """
    normalize_sources(nb)
    cells = [(i, py_view(c)) for i, c in enumerate(nb.cells) if INJECTED_TAG not in cell_tags(c)]
    spec = find_parameters(cells)
    errors: list[str] = []
    plans: list[SectionPlan] = []
    raw = split_sections([(i, c) for i, c in cells if i != spec.cell_index or spec.rest.strip()], sections)
    for raw_section, name in zip(raw, unique_names([s.title for s in raw]), strict=True):
        plan = SectionPlan(raw_section.title, name)
        for index, cell in raw_section.cells:
            if cell.get("cell_type") == "markdown":
                plan.items.append(str(cell.get("source", "")))
            elif cell.get("cell_type") == "raw" and str(cell.get("source", "")).strip():
                # kept for the reader, never run: a raw cell does not run in the notebook either
                inactive = (cell.get("metadata") or {}).get(INACTIVE)
                why = "runs only in the notebook: jupytext active marker" if inactive else "raw"
                plan.items.append(f"cell {index} ({why}):\n{cell.get('source', '')}")
            elif cell.get("cell_type") == "code":
                item = _translate(index, cell, spec, errors)
                if item is not None:
                    plan.items.append(item)
        plans.append(plan)
    if errors:
        raise ConversionError(f"cannot convert {origin}: " + "; ".join(errors))
    plans = [p for p in plans if p.code_items()]
    result = Plan(spec, plans, _first_use_order(spec, plans))
    hoisted = _hoist_imports(result)
    _insert_redefinitions(result, hoisted)
    _flow(result, hoisted)
    _name_functions(result)
    return result


def _first_use_order(spec: ParamSpec, plans: list[SectionPlan]) -> dict[str, int]:
    order: dict[str, int] = {f.name: i for i, f in enumerate(spec.fields)}
    for plan in plans:
        for item in plan.code_items():
            for info in item.infos:
                for name in sorted(info.writes | info.reads):  # statement order, then alphabetical
                    order.setdefault(name, len(order))
    return order


def _import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    return [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]


def _hoist_imports(plan: Plan) -> set[str]:
    """Mark hoistable imports removed from their cells and list them per section; returns the hoisted names."""
    texts: dict[str, set[str]] = {}
    other_writes = {f.name for f in plan.spec.fields}
    for section in plan.sections:
        for item in section.code_items():
            for info in item.infos:
                if isinstance(info.node, (ast.Import, ast.ImportFrom)):
                    for name in _import_names(info.node):
                        texts.setdefault(name, set()).add(ast.unparse(info.node))
                else:
                    other_writes |= info.writes
    hoisted: set[str] = set()
    bound_by: dict[str, str] = {}
    for section in plan.sections:
        own: list[str] = []
        for item in section.code_items():
            starts = [info.node.lineno for info in item.infos]
            for position, info in enumerate(item.infos):
                node = info.node
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                lines = set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
                alone = not any(
                    start in lines or (other.node.end_lineno or 0) in lines
                    for other_pos, (start, other) in enumerate(zip(starts, item.infos, strict=True))
                    if other_pos != position
                )
                if isinstance(node, ast.ImportFrom) and node.module == "__future__" and alone:
                    item.removed |= lines
                    info.hoisted = True  # the generated modules carry their own __future__ import
                    continue
                names = _import_names(node)
                if not alone or (isinstance(node, ast.ImportFrom) and node.level) or any(
                    name in other_writes or len(texts[name]) > 1 for name in names
                ):
                    continue
                item.removed |= lines
                info.hoisted = True
                text = ast.unparse(node)
                own.append(text)
                if not names:
                    plan.star_imports.append(text)
                for name in names:
                    hoisted.add(name)
                    bound_by[name] = text
        section.imports = own
    for section in plan.sections:
        used = {n for item in section.code_items() for info in item.infos for n in info.reads}
        needed = [bound_by[n] for n in sorted(used & hoisted, key=lambda n: plan.order.get(n, 0))]
        section.imports = list(dict.fromkeys([*plan.star_imports, *section.imports, *needed]))
    return hoisted


def _statements(section: SectionPlan) -> list[tuple[CodeItem, StatementInfo]]:
    return [(item, info) for item in section.code_items() for info in item.infos if not info.hoisted]


def _def_text(item: CodeItem, info: StatementInfo) -> list[tuple[str, bool]]:
    node = info.node
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    end = node.end_lineno or node.lineno
    return [(item.lines[n - 1], item.indent[n - 1]) for n in range(start, end + 1)]


def _insert_redefinitions(plan: Plan, hoisted: set[str]) -> None:
    """Repeat a function/class definition after a later section rebinds a global it reads when called."""
    later_reads: list[set[str]] = []
    acc: set[str] = set()
    for section in reversed(plan.sections):
        acc = acc | {n for _, info in _statements(section) for n in info.reads}
        later_reads.insert(0, acc)
    live: dict[str, tuple[int, CodeItem, StatementInfo]] = {}
    for position, section in enumerate(plan.sections):
        for item, info in _statements(section):
            rebound = set(info.writes)
            done: set[str] = set()
            while rebound:
                name = rebound.pop()
                for fname, (origin, def_item, def_info) in list(live.items()):
                    if (origin < position and fname not in done and name in def_info.late_reads - hoisted
                            and fname in later_reads[position]):
                        done.add(fname)
                        note = f"# re-defined: `{name}` changed since cell {def_item.cell_index} defined `{fname}`"
                        extra = [(note, True), *_def_text(def_item, def_info)]
                        item.inserts.setdefault(info.node.end_lineno or 0, []).extend(extra)
                        section_extra = StatementInfo(def_info.node, reads=set(def_info.reads), writes={fname})
                        item.infos.append(section_extra)
                        live[fname] = (position, def_item, def_info)
                        rebound.add(fname)
            for name in info.writes:
                if info.defines == name:
                    live[name] = (position, item, info)
                elif name not in done:
                    live.pop(name, None)  # rebound to something else: the old definition is no longer reachable


#: statements that bind their targets whenever they run (a name they bind need not come from earlier)
_DEFINITE = (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _flow(plan: Plan, hoisted: set[str]) -> None:
    """Arguments and return values of every section (backwards, so shadowing resolves to the latest writer).

    A section needs a name from earlier if it reads it before binding it for sure (upward-exposed), or if it
    hands the name on but binds it only conditionally (so the earlier value must pass through).
    """
    params = {f.name for f in plan.spec.fields}
    available: list[set[str]] = []
    exposed: list[set[str]] = []
    definite: list[set[str]] = []
    seen = set(params)
    for section in plan.sections:
        available.append(set(seen))
        killed: set[str] = set()
        section_exposed: set[str] = set()
        for _, info in _statements(section):
            section_exposed |= (info.reads - killed) - hoisted
            section.reads |= info.reads - hoisted
            section.writes |= (info.writes | info.mutates) - hoisted
            if isinstance(info.node, _DEFINITE) and not (
                isinstance(info.node, ast.AnnAssign) and info.node.value is None
            ):
                killed |= info.writes - info.mutates
        exposed.append(section_exposed)
        definite.append(killed)
        seen |= section.writes
    needed_later: set[str] = set()
    key = _order_key(plan.order)
    for position in range(len(plan.sections) - 1, -1, -1):
        section = plan.sections[position]
        outputs = section.writes & needed_later
        args = (exposed[position] | (outputs - definite[position])) & available[position]
        section.outputs = sorted(outputs, key=key)
        section.args = sorted(args, key=key)
        needed_later = (needed_later - definite[position]) | args


def _order_key(order: dict[str, int]) -> Any:
    return lambda name: (order.get(name, len(order)), name)


def _name_functions(plan: Plan) -> None:
    """Function name = section name, unless the notebook uses that name (a hoisted import could shadow it)."""
    used = set(plan.order)
    for section in plan.sections:
        section.function = section.name if section.name not in used else f"run_{section.name}"

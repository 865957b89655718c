"""Notebook lint: a registry of rules, the ``[tool.jupyter-mlops.lint]`` configuration, and the report formats.

A rule is a function ``(nb, path) -> list[Finding]`` registered under an id (``NB001``...) with
:func:`register`; rules that take settings declare them as keyword ``options`` (``NB006`` takes
``max_output_bytes``) and receive them from :class:`LintConfig`. Built-in rules live in :mod:`.lint_rules`; other
packages add rules through the ``jupyter_mlops.lint_rules`` entry-point group (name = rule id, value = a
:class:`Rule` or a rule function). Lint never modifies a notebook.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.config import find_project_root, read_tool_table
from jupyter_mlops.errors import InvalidInput

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "jupyter_mlops.lint_rules"
DEFAULT_MAX_OUTPUT_BYTES = 100_000
SEVERITIES = ("error", "warning")
FORMATS = ("text", "json", "github")
_CONFIG_KEYS = {"disable", "max-output-bytes"}


@dataclass(frozen=True)
class Finding:
    """One problem in one notebook.

    Attributes:
        rule_id: the rule's id, e.g. ``NB004``.
        message: one line saying what is wrong and, where useful, what to do.
        path: the notebook (file path, ``REV:path`` or ``-`` for stdin).
        cell_index: 0-based cell index, or None for a notebook-level finding.
        line: 1-based line within the cell's source, or None.
        severity: ``error`` or ``warning``.
    """

    rule_id: str
    message: str
    path: str
    cell_index: int | None = None
    line: int | None = None
    severity: str = "warning"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


RuleFunction = Callable[..., list[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered lint rule.

    Attributes:
        id: stable id used in config and output (``NB001``).
        name: short kebab-case name (``committed-outputs``).
        check: ``(nb, path, **options) -> list[Finding]``.
        description: one line for ``lint --list-rules`` and the docs.
        options: names of :class:`LintConfig` fields passed to ``check`` as keyword arguments.
    """

    id: str
    name: str
    check: RuleFunction
    description: str = ""
    options: tuple[str, ...] = ()


_REGISTRY: dict[str, Rule] = {}
_LOADED = False


def register(
    rule_id: str, check: RuleFunction, *, name: str = "", description: str = "", options: Iterable[str] = ()
) -> Rule:
    """Register (or replace) a rule under ``rule_id``.

    Args:
        rule_id: stable id, e.g. ``NB101`` (letters then digits).
        check: the rule function ``(nb, path, **options) -> list[Finding]``.
        name: short name (defaults to the function's name).
        description: one-line description.
        options: :class:`LintConfig` fields the rule takes as keyword arguments.

    Returns:
        The registered :class:`Rule`.
    """
    if not re.fullmatch(r"[A-Z]+[0-9]+", rule_id):
        raise InvalidInput(f"invalid lint rule id {rule_id!r}: use capital letters then digits, e.g. NB101")
    doc = (check.__doc__ or "").strip().splitlines()
    rule = Rule(rule_id, name or getattr(check, "__name__", rule_id), check, description or (doc[0] if doc else ""),
                tuple(options))
    _REGISTRY[rule_id] = rule
    return rule


def rules() -> dict[str, Rule]:
    """All rules by id (built-ins first, then entry points), sorted by id."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from jupyter_mlops.notebooks import lint_rules

        lint_rules.register_builtin_rules()
        _load_entry_points()
    return dict(sorted(_REGISTRY.items()))


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not stop lint; say which one and go on
            logger.warning("lint rule %s from %s could not be loaded: %s", ep.name, ep.value, exc)
            continue
        if isinstance(obj, Rule):
            _REGISTRY[obj.id] = obj
        elif callable(obj):
            register(ep.name, obj)


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; InvalidInput listing the valid ids otherwise."""
    known = rules()
    if rule_id not in known:
        raise InvalidInput(f"unknown lint rule {rule_id!r}; valid ids: {', '.join(known)}")
    return known[rule_id]


@dataclass(frozen=True)
class LintConfig:
    """Settings of one lint call.

    Attributes:
        disable: rule ids not to run.
        max_output_bytes: size above which one output is reported (``NB006``).
    """

    disable: frozenset[str] = field(default_factory=frozenset)
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES

    @classmethod
    def from_table(cls, table: Mapping[str, Any], disable: Iterable[str] = ()) -> LintConfig:
        """Build from a ``[tool.jupyter-mlops.lint]`` table plus extra ids to disable; validates everything."""
        unknown = set(table) - _CONFIG_KEYS
        if unknown:
            raise InvalidInput(
                f"unknown key(s) in [tool.jupyter-mlops.lint]: {', '.join(sorted(unknown))}; "
                f"valid keys: {', '.join(sorted(_CONFIG_KEYS))}"
            )
        ids = table.get("disable", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidInput("[tool.jupyter-mlops.lint] disable must be a list of rule ids, e.g. [\"NB003\"]")
        limit = table.get("max-output-bytes", DEFAULT_MAX_OUTPUT_BYTES)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise InvalidInput("[tool.jupyter-mlops.lint] max-output-bytes must be a positive integer")
        wanted = frozenset([*ids, *disable])
        for rule_id in sorted(wanted):
            get_rule(rule_id)
        return cls(disable=wanted, max_output_bytes=limit)

    def options_for(self, rule: Rule) -> dict[str, Any]:
        """The keyword arguments ``rule`` asked for."""
        return {name: getattr(self, name) for name in rule.options}


def load_config(start: Path | str | None = None, disable: Iterable[str] = ()) -> LintConfig:
    """Read ``[tool.jupyter-mlops.lint]`` from the project root found from ``start`` (default: cwd)."""
    table = read_tool_table(find_project_root(start)).get("lint", {})
    if not isinstance(table, dict):
        raise InvalidInput("[tool.jupyter-mlops] lint must be a table")
    return LintConfig.from_table(table, disable)


def lint_notebook(nb: Any, path: str, config: LintConfig | None = None) -> list[Finding]:
    """Run every enabled rule on one notebook.

    Args:
        nb: an nbformat v4 notebook (not modified).
        path: how to name it in findings; rules that look at the file system (pairing) use it as a path.
        config: settings; defaults to :class:`LintConfig` defaults.

    Returns:
        Findings sorted by cell, line and rule id.

    Example:
        >>> import nbformat.v4 as v4
        >>> nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})])
        >>> [f.rule_id for f in lint_notebook(nb, "demo.ipynb")]
        []
    """
    config = config or LintConfig()
    findings: list[Finding] = []
    for rule in rules().values():
        if rule.id not in config.disable:
            findings.extend(rule.check(nb, path, **config.options_for(rule)))
    return sorted(findings, key=lambda f: (-1 if f.cell_index is None else f.cell_index, f.line or 0, f.rule_id))


# -- report formats ---------------------------------------------------------------------------------------------

def format_text(findings: list[Finding]) -> str:
    """``path:cell 3:line 2: NB004 message`` lines."""
    lines = []
    for f in findings:
        where = "".join([f":cell {f.cell_index}" if f.cell_index is not None else "",
                         f":line {f.line}" if f.line is not None else ""])
        lines.append(f"{f.path}{where}: {f.rule_id} [{f.severity}] {f.message}")
    return "".join(line + "\n" for line in lines)


def format_json(findings: list[Finding], errors: list[str] | None = None) -> str:
    """``{"findings": [...], "errors": [...]}`` (errors: unreadable notebooks)."""
    return json.dumps({"findings": [f.to_dict() for f in findings], "errors": errors or []}, indent=1) + "\n"


def format_github(findings: list[Finding], raw: Mapping[str, str] | None = None) -> str:
    """GitHub workflow commands (``::warning file=..,line=..,title=..::message``).

    Args:
        findings: what to report.
        raw: file text by path, used to point each annotation at the cell's line in the ``.ipynb`` file.
    """
    lines = []
    for f in findings:
        params = [f"file={_escape_property(f.path)}"]
        line = file_line(raw.get(f.path, ""), f.cell_index, f.line) if raw and f.cell_index is not None else None
        if line is not None:
            params.append(f"line={line}")
        params.append(f"title={_escape_property(f.rule_id)}")
        cell = f"cell {f.cell_index}: " if f.cell_index is not None else ""
        lines.append(f"::{f.severity} {','.join(params)}::{_escape_data(cell + f.message)}")
    return "".join(line + "\n" for line in lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_CELL_KEY = re.compile(r'^\s*"cell_type":')
_SOURCE_KEY = re.compile(r'^\s*"source":\s*(\[)?')


def file_line(raw: str, cell_index: int | None, line: int | None) -> int | None:
    """The 1-based line of the ``.ipynb`` file where a cell (and a line of its source) is written.

    Works on files written the way Jupyter writes them (one source line per JSON line); returns the cell's
    ``"cell_type"`` line when the source line cannot be located, and None when the cell is not found.
    """
    if not raw or cell_index is None:
        return None
    lines = raw.splitlines()
    seen, start = -1, None
    for number, text in enumerate(lines):
        if _CELL_KEY.match(text):
            seen += 1
            if seen == cell_index:
                start = number
                break
    if start is None:
        return None
    for number in range(start, len(lines)):
        if number > start and _CELL_KEY.match(lines[number]):
            break
        match = _SOURCE_KEY.match(lines[number])
        if match:
            offset = (line or 1) if match.group(1) else 0
            return min(number + 1 + offset, len(lines))
    return start + 1

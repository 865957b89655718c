"""The settings of one lint call: ``[tool.jupyter-mlops.lint]`` and the command's flags, validated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.config import find_project_root, read_tool_table
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.lint.registry import Rule, get_rule

DEFAULT_MAX_OUTPUT_BYTES = 100_000
_CONFIG_KEYS = {"disable", "max-output-bytes"}


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

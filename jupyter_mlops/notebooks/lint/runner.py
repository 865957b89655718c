"""Running the registered rules on one notebook: the runner reads the registry, never the rules module."""

from __future__ import annotations

from typing import Any

from jupyter_mlops.notebooks.lint.config import LintConfig
from jupyter_mlops.notebooks.lint.registry import Finding, all_rules


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
    for rule in all_rules().values():
        if rule.id not in config.disable:
            findings.extend(rule.check(nb, path, **config.options_for(rule)))
    return sorted(findings, key=lambda f: (-1 if f.cell_index is None else f.cell_index, f.line or 0, f.rule_id))

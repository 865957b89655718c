"""Notebook lint: rules registered in a registry, the ``[tool.jupyter-mlops.lint]`` settings, and report formats.

:mod:`.registry` holds :class:`Finding`, :class:`Rule` and the registry object; :mod:`.rules` registers the
built-in rules ``NB001``-``NB010`` into it when imported (here, so that every import of the package sees them);
:mod:`.runner` reads the registry (it imports neither :mod:`.rules` nor is imported by it); :mod:`.config` and
:mod:`.report` are the settings and the output formats. Lint never modifies a notebook.
"""

from jupyter_mlops.notebooks.lint import rules as _builtin_rules  # noqa: F401  (registers NB001-NB010)
from jupyter_mlops.notebooks.lint.config import DEFAULT_MAX_OUTPUT_BYTES, LintConfig, load_config
from jupyter_mlops.notebooks.lint.registry import (
    ENTRY_POINT_GROUP,
    SEVERITIES,
    Finding,
    LintRules,
    Rule,
    RuleFunction,
    all_rules,
    get_rule,
    lint_rules,
    register,
)
from jupyter_mlops.notebooks.lint.report import FORMATS, file_line, format_github, format_json, format_text
from jupyter_mlops.notebooks.lint.runner import lint_notebook

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES", "ENTRY_POINT_GROUP", "FORMATS", "SEVERITIES", "Finding", "LintConfig", "LintRules",
    "Rule", "RuleFunction", "file_line", "format_github", "format_json", "format_text", "get_rule", "lint_notebook",
    "lint_rules", "load_config", "register", "all_rules",
]

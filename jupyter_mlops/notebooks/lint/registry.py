"""The lint rule registry: what a rule and a finding are, and the one registry object rules are written into.

A rule is a function ``(nb, path) -> list[Finding]`` registered under an id (``NB001``...) with
:func:`register`; rules that take settings declare them as keyword ``options`` (``NB006`` takes
``max_output_bytes``). Built-in rules register themselves in :mod:`.rules` (imported by the package); other
packages add rules through the ``jupyter_mlops.lint_rules`` entry-point group (name = rule id, value = a
:class:`Rule` or a rule function). This module imports neither the rules nor the runner (ADR-045).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from jupyter_mlops.errors import InvalidInput

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "jupyter_mlops.lint_rules"
SEVERITIES = ("error", "warning")


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
        options: names of ``LintConfig`` fields passed to ``check`` as keyword arguments.
    """

    id: str
    name: str
    check: RuleFunction
    description: str = ""
    options: tuple[str, ...] = ()


class LintRules:
    """The rule registry (papermill's engine registry, for lint rules).

    Built-in rules register when the package is imported (:mod:`.rules`); rules of other packages come from the
    ``jupyter_mlops.lint_rules`` entry points, loaded on the first read. The runner only reads this object.
    """

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._entry_points_loaded = False

    def register(self, rule_id: str, check: RuleFunction, *, name: str = "", description: str = "",
                 options: Iterable[str] = ()) -> Rule:
        """Register (or replace) a rule under ``rule_id`` (see :func:`register`)."""
        if not re.fullmatch(r"[A-Z]+[0-9]+", rule_id):
            raise InvalidInput(f"invalid lint rule id {rule_id!r}: use capital letters then digits, e.g. NB101")
        doc = (check.__doc__ or "").strip().splitlines()
        rule = Rule(rule_id, name or getattr(check, "__name__", rule_id), check,
                    description or (doc[0] if doc else ""), tuple(options))
        self._rules[rule_id] = rule
        return rule

    def unregister(self, rule_id: str) -> None:
        """Forget a rule (no error when it is not registered)."""
        self._rules.pop(rule_id, None)

    def register_entry_points(self) -> None:
        """Load the rules of the ``jupyter_mlops.lint_rules`` entry points (a broken one is logged and skipped)."""
        from importlib.metadata import entry_points

        self._entry_points_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not stop lint; say which one and go on
                logger.warning("lint rule %s from %s could not be loaded: %s", ep.name, ep.value, exc)
                continue
            if isinstance(obj, Rule):
                self._rules[obj.id] = obj
            elif callable(obj):
                self.register(ep.name, obj)

    def all(self) -> dict[str, Rule]:
        """Every rule by id, sorted by id (entry points are loaded on the first call)."""
        if not self._entry_points_loaded:
            self.register_entry_points()
        return dict(sorted(self._rules.items()))

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; InvalidInput listing the valid ids otherwise."""
        known = self.all()
        if rule_id not in known:
            raise InvalidInput(f"unknown lint rule {rule_id!r}; valid ids: {', '.join(known)}")
        return known[rule_id]


#: The one registry: :mod:`.rules` writes the built-ins into it, the runner reads it.
lint_rules = LintRules()


def register(
    rule_id: str, check: RuleFunction, *, name: str = "", description: str = "", options: Iterable[str] = ()
) -> Rule:
    """Register (or replace) a rule under ``rule_id``.

    Args:
        rule_id: stable id, e.g. ``NB101`` (letters then digits).
        check: the rule function ``(nb, path, **options) -> list[Finding]``.
        name: short name (defaults to the function's name).
        description: one-line description.
        options: :class:`~jupyter_mlops.notebooks.lint.config.LintConfig` fields the rule takes as keyword
            arguments.

    Returns:
        The registered :class:`Rule`.
    """
    return lint_rules.register(rule_id, check, name=name, description=description, options=options)


def all_rules() -> dict[str, Rule]:
    """All rules by id (built-ins and entry points), sorted by id."""
    return lint_rules.all()


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; InvalidInput listing the valid ids otherwise."""
    return lint_rules.get(rule_id)

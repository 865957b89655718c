"""The run filter language: a pure parser from text to a tree (no SQLAlchemy here).

Examples of the language (full reference with semantics in ``docs/filter-language.md``)::

    params.lr = 0.1 and metrics.auc >= 0.8
    tag = "baseline" or (name ~ "lgbm*" and not status in (failed, crashed))
    data.path = "data/train.csv" and params.model.num_leaves is not null

:func:`parse` turns text into a small tree of frozen dataclasses and never touches a database; every mistake
raises :class:`~jupyter_mlops.errors.FilterSyntaxError` with the 0-based position of the offending token.
:func:`jupyter_mlops.store.filter_sql.compile_node` turns a tree into a boolean Core expression over ``runs``
(semi-joins for params, metrics, tags and data inputs); values are always bound parameters, never pasted into SQL
text. The compiler imports this module and never the other way round.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from jupyter_mlops.entities import RunStatus
from jupyter_mlops.errors import FilterSyntaxError

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null"})
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~", "!~")
_OP_ALIASES = {"==": "=", "<>": "!="}

#: Run columns a filter may name, and whether they hold text or numbers.
RUN_TEXT_FIELDS = ("id", "name", "status", "experiment", "note", "notebook_path", "git_commit", "reproduction_of")
RUN_NUMBER_FIELDS = ("start_time", "end_time", "duration")
DATA_FIELDS = ("path", "hash", "name", "kind", "role")
_FIELD_ALIASES = {"tags": "tag", "notebook": "notebook_path", "run_id": "id", "commit": "git_commit"}
_PREFIX_ALIASES = {"params": "param", "param": "param", "metrics": "metric", "metric": "metric", "data": "data"}

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
      | (?P<op>==|!=|<>|<=|>=|!~|=|<|>|~)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<bare>(?:[^\s()=!<>~,'"`]|`[^`]*`)+)
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

#: How deeply ``(`` and ``not`` may nest. The parser and the SQL compiler recurse once per level; past a few hundred
#: levels Python runs out of stack. No filter a person writes comes near this.
MAX_DEPTH = 64
#: How many comparisons a filter may hold, each value of an ``in (...)`` list counting as one. Each becomes a
#: condition in one SQL expression, and SQLite refuses expressions deeper than 1,000 ("Expression tree is too
#: large"): 400 ``and``-ed param conditions still ran, 500 did not.
MAX_TERMS = 256
#: How many conditions a filter may put on params, metrics, tags and data inputs. Each is a semi-join, and
#: PostgreSQL's planning time grows sharply with ``and``-ed semi-joins and with the table statistics: 16 planned
#: in 0.1-0.4 s and 32 in 1.5 s over 1,500 runs, while 32 over the test suite's statistics held a server process
#: at 6 GB for minutes (SQLite stays in milliseconds). A long ``in (...)`` list is one condition.
MAX_CHILD_CONDITIONS = 16
_CHILD_KINDS = frozenset({"param", "metric", "tag", "data", "sweep"})
#: A sweep's runs carry the tag ``sweep:<id>``; the field ``sweep`` reads it (``sweep = "<id>"``, ADR-092).
SWEEP_TAG_PREFIX = "sweep:"


@dataclass(frozen=True)
class Token:
    """One lexical token: ``kind`` is lparen, rparen, comma, op, string, bare or end."""

    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Field:
    """What a comparison looks at: ``kind`` is run, param, metric, tag or data; ``key`` the column or key."""

    kind: str
    key: str
    position: int


@dataclass(frozen=True)
class Value:
    """A literal: a number (unquoted and numeric) or a string (quoted, or any other bare word)."""

    value: float | str
    quoted: bool
    position: int


@dataclass(frozen=True)
class Comparison:
    """``field op value``."""

    field: Field
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    """``field [not] in (v1, v2, ...)``."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``."""

    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    """All of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The negation of ``item``."""

    item: Node


Node = Comparison | InList | IsNull | And | Or | Not


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens (whitespace dropped), ending with an ``end`` token.

    Raises:
        FilterSyntaxError: an unterminated string or a stray character.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            char = text[pos]
            problem = "unterminated string" if char in "\"'" else f"unexpected character {char!r}"
            if char == "`":
                problem = "unterminated backquoted key"
            raise FilterSyntaxError(problem, text, pos)
        kind = match.lastgroup or "ws"
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent parser; ``not`` binds tighter than ``and``, which binds tighter than ``or``.

    Grammar: or_expr := and_expr (OR and_expr)*; and_expr := unary (AND unary)*;
    unary := NOT unary | '(' or_expr ')' | predicate.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.terms = 0
        self.child_conditions = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> FilterSyntaxError:
        return FilterSyntaxError(message, self.text, (token or self.token).position)

    def is_keyword(self, word: str) -> bool:
        return self.token.kind == "bare" and self.token.text.lower() == word

    def take(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise self.error("empty filter")
        node = self.or_expr()
        if self.token.kind != "end":
            raise self.error(f"expected 'and', 'or' or the end of the filter, found {self.token.text!r}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_keyword("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while self.is_keyword("and"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        if not (self.is_keyword("not") or self.token.kind == "lparen"):
            return self.predicate()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the filter nests '(' and 'not' more than {MAX_DEPTH} deep")
        if self.is_keyword("not"):
            self.take()
            node: Node = Not(self.unary())
        else:
            opening = self.take()
            node = self.or_expr()
            if self.token.kind != "rparen":
                raise self.error("missing ')' for the '(' here", opening)
            self.take()
        self.depth -= 1
        return node

    def count_term(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(f"the filter has more than {MAX_TERMS} comparisons and listed values")

    def predicate(self) -> Node:
        token = self.token
        if token.kind != "bare" or token.text.lower() in KEYWORDS:
            found = "the end of the filter" if token.kind == "end" else repr(token.text)
            raise self.error(f"expected a field such as params.lr, metrics.auc, tag or name, found {found}")
        self.count_term()
        field = parse_field(token, self.text)
        if field.kind in _CHILD_KINDS:
            self.child_conditions += 1
            if self.child_conditions > MAX_CHILD_CONDITIONS:
                raise self.error(f"the filter has more than {MAX_CHILD_CONDITIONS} conditions on params, metrics, "
                                 "tags and data; combine values with 'in (...)'")
        self.take()
        if self.is_keyword("is"):
            self.take()
            negated = self.is_keyword("not")
            if negated:
                self.take()
            if not self.is_keyword("null"):
                raise self.error("expected 'null' after 'is'")
            self.take()
            return _sweep_as_tag(IsNull(field, negated))
        negated = self.is_keyword("not")
        if negated:
            self.take()
            if not self.is_keyword("in"):
                raise self.error("expected 'in' after 'not'")
        if self.is_keyword("in"):
            self.take()
            return _sweep_as_tag(self.in_list(field, negated))
        if self.token.kind != "op":
            raise self.error(f"expected an operator ({' '.join(OPERATORS)}, in, is) after {field_text(field)!r}")
        op = self.take().text
        op = _OP_ALIASES.get(op, op)
        comparison = Comparison(field, op, self.value())
        check_comparison(comparison, self.text)
        return _sweep_as_tag(comparison)

    def in_list(self, field: Field, negated: bool) -> Node:
        if self.token.kind != "lparen":
            raise self.error("expected '(' after 'in'")
        self.take()
        values = [self.value()]
        while self.token.kind == "comma":
            self.take()
            self.count_term()
            values.append(self.value())
        if self.token.kind != "rparen":
            raise self.error("expected ',' or ')' in the value list")
        self.take()
        node = InList(field, tuple(values), negated)
        for value in values:
            check_comparison(Comparison(field, "=", value), self.text)
        return node

    def value(self) -> Value:
        token = self.token
        if token.kind == "string":
            self.take()
            return Value(_unquote(token.text), True, token.position)
        if token.kind == "bare" and token.text.lower() not in KEYWORDS:
            self.take()
            if _NUMBER.match(token.text):
                return Value(float(token.text), False, token.position)
            return Value(token.text, False, token.position)
        found = "the end of the filter" if token.kind == "end" else repr(token.text)
        raise self.error(f"expected a value (a number, a word or a quoted string), found {found}")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_field(token: Token, text: str) -> Field:
    """Turn a bare token into a :class:`Field`, resolving aliases; unknown names raise FilterSyntaxError."""
    raw = token.text
    head, dot, rest = raw.partition(".")
    prefix = _PREFIX_ALIASES.get(head.lower()) if dot else None
    if prefix in ("param", "metric"):
        key = re.sub(r"`([^`]*)`", r"\1", rest)
        if not key:
            raise FilterSyntaxError(f"missing key after {head}.", text, token.position)
        return Field(prefix, key, token.position)
    if prefix == "data":
        if rest.lower() not in DATA_FIELDS:
            raise FilterSyntaxError(f"unknown data field {rest!r}; use one of data.{', data.'.join(DATA_FIELDS)}",
                                    text, token.position)
        return Field("data", rest.lower(), token.position)
    name = _FIELD_ALIASES.get(raw.lower(), raw.lower())
    if name == "tag":
        return Field("tag", "tag", token.position)
    if name == "sweep":
        return Field("sweep", "sweep", token.position)
    if name in RUN_TEXT_FIELDS or name in RUN_NUMBER_FIELDS:
        return Field("run", name, token.position)
    valid = ", ".join(("params.<key>", "metrics.<key>", "tag", "sweep", "data.path", *RUN_TEXT_FIELDS,
                       *RUN_NUMBER_FIELDS))
    raise FilterSyntaxError(f"unknown field {raw!r}; valid fields: {valid}", text, token.position)


def field_text(field: Field) -> str:
    """The canonical spelling of a field (``params.lr``, ``tag``, ``start_time``)."""
    if field.kind in ("param", "metric", "data"):
        return f"{'params' if field.kind == 'param' else 'metrics' if field.kind == 'metric' else 'data'}.{field.key}"
    return field.key


def check_comparison(node: Comparison, text: str) -> None:
    """Reject comparisons that can never make sense, pointing at the operator's value."""
    field, op, value = node.field, node.op, node.value
    where = value.position
    if field.kind in ("tag", "data", "sweep") and op in ("<", "<=", ">", ">="):
        raise FilterSyntaxError(f"{field_text(field)} supports = != ~ !~ in and is null, not {op}", text, where)
    if field.kind == "metric" and op in ("~", "!~"):
        raise FilterSyntaxError("metrics compare with numbers; '~' needs a text field", text, where)
    if field.kind == "metric" and isinstance(value.value, str) and _special_float(value.value) is None:
        raise FilterSyntaxError(f"metrics compare with numbers, not {value.value!r}", text, where)
    if field.kind == "run" and field.key == "status" and op not in ("~", "!~"):
        if str(value.value).lower() not in {s.value for s in RunStatus}:
            statuses = ", ".join(s.value for s in RunStatus)
            raise FilterSyntaxError(f"unknown status {value.value!r}; use one of {statuses}", text, where)
    if field.kind == "run" and field.key in RUN_NUMBER_FIELDS:
        if op in ("~", "!~"):
            raise FilterSyntaxError(f"{field.key} is a number; '~' needs a text field", text, where)
        if isinstance(value.value, str) and to_epoch(value.value) is None:
            raise FilterSyntaxError(f"{field.key} compares with a number or an ISO date, not {value.value!r}",
                                    text, where)


def _sweep_as_tag(node: Node) -> Node:
    """A condition on ``sweep`` as the same condition on the ``sweep:<id>`` tag (other nodes unchanged)."""
    if isinstance(node, IsNull):
        if node.field.kind != "sweep":
            return node
        # "no sweep" is "no tag that starts with sweep:"
        tag, pattern = Field("tag", "tag", node.field.position), Value(SWEEP_TAG_PREFIX + "*", True, 0)
        return Comparison(tag, "~" if node.negated else "!~", pattern)
    if isinstance(node, InList):
        if node.field.kind != "sweep":
            return node
        return InList(Field("tag", "tag", node.field.position), tuple(_sweep_value(v) for v in node.values),
                      node.negated)
    if isinstance(node, Comparison) and node.field.kind == "sweep":
        return Comparison(Field("tag", "tag", node.field.position), node.op, _sweep_value(node.value))
    return node


def _sweep_value(value: Value) -> Value:
    raw = value.value
    text = raw if isinstance(raw, str) else (str(int(raw)) if raw.is_integer() else repr(raw))
    return Value(SWEEP_TAG_PREFIX + text, True, value.position)


def _special_float(word: str) -> float | None:
    lowered = word.lower()
    if lowered in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(lowered)
    return None


def to_epoch(text: str) -> float | None:
    """An ISO date or date-time (UTC unless it says otherwise) as epoch seconds, or None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse(text: str) -> Node:
    """Parse filter text into a tree; pure (no database).

    Args:
        text: e.g. ``'metrics.auc >= 0.8 and tag = "baseline"'``.

    Returns:
        The root :data:`Node`.

    Raises:
        FilterSyntaxError: with the 0-based ``position`` of the problem.

    Example:
        >>> node = parse("params.lr = 0.1")
        >>> node.field.kind, node.field.key, node.op, node.value.value
        ('param', 'lr', '=', 0.1)
    """
    return _Parser(text).parse()


def metric_number(value: Value) -> float:
    """The float a metric comparison uses (``nan``/``inf`` spelled as words are allowed)."""
    if isinstance(value.value, float):
        return value.value
    special = _special_float(value.value)
    return math.nan if special is None else special


__all__ = [
    "And", "Comparison", "Field", "InList", "IsNull", "Node", "Not", "Or", "Token", "Value",
    "MAX_CHILD_CONDITIONS", "MAX_DEPTH", "MAX_TERMS", "parse", "tokenize",
]

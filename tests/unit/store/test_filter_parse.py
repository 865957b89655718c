"""The filter parser alone (pure, no database): grammar, precedence, values and error positions."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import FilterSyntaxError
from jupyter_mlops.store.filters import And, Comparison, Field, InList, IsNull, Not, Or, Value, parse, tokenize


def test_simple_comparison():
    assert parse("params.lr = 0.1") == Comparison(Field("param", "lr", 0), "=", Value(0.1, False, 12))


@pytest.mark.parametrize(("text", "kind", "key"), [
    ("params.model.num_leaves > 3", "param", "model.num_leaves"),
    ("param.`learning rate` > 3", "param", "learning rate"),
    ("metrics.val.auc > 3", "metric", "val.auc"),
    ("tags = x", "tag", "tag"),
    ("data.path = x", "data", "path"),
    ("DATA.HASH = x", "data", "hash"),
    ("notebook = x", "run", "notebook_path"),
    ("Name = x", "run", "name"),
])
def test_fields_and_aliases(text, kind, key):
    node = parse(text)
    assert isinstance(node, Comparison)
    assert (node.field.kind, node.field.key) == (kind, key)


@pytest.mark.parametrize(("text", "value", "quoted"), [
    ("name = lgbm-1", "lgbm-1", False),
    ("name = 'it''s'" .replace("''", "\\'"), "it's", True),
    ('data.path = "data/train.csv"', "data/train.csv", True),
    ("data.path = data/train.csv", "data/train.csv", False),
    ("params.x = -1e-3", -0.001, False),
    ("params.x = '0.1'", "0.1", True),
    ("params.x = true", "true", False),
    ("start_time > 2024-01-01", "2024-01-01", False),
])
def test_values(text, value, quoted):
    node = parse(text)
    assert isinstance(node, Comparison)
    assert (node.value.value, node.value.quoted) == (value, quoted)


def test_operators_and_aliases():
    for op in ("=", "!=", "<", "<=", ">", ">=", "~", "!~"):
        assert parse(f"name {op} x").op == op  # type: ignore[union-attr]
    assert parse("name == x").op == "="  # type: ignore[union-attr]
    assert parse("name <> x").op == "!="  # type: ignore[union-attr]
    assert parse("params.lr<=0.1").op == "<="  # type: ignore[union-attr]


def test_precedence_not_over_and_over_or():
    node = parse("tag = a or tag = b and not tag = c")
    assert isinstance(node, Or)
    assert isinstance(node.items[1], And)
    assert isinstance(node.items[1].items[1], Not)


def test_parentheses_override_precedence():
    node = parse("(tag = a OR tag = b) AND tag = c")
    assert isinstance(node, And) and isinstance(node.items[0], Or)


def test_in_lists_and_null_tests():
    node = parse("status in (finished, 'failed')")
    assert isinstance(node, InList) and [v.value for v in node.values] == ["finished", "failed"]
    assert parse("tag not in (a)") == InList(Field("tag", "tag", 0), (Value("a", False, 12),), True)
    assert parse("params.lr is null") == IsNull(Field("param", "lr", 0), False)
    assert parse("params.lr IS NOT NULL") == IsNull(Field("param", "lr", 0), True)


def test_tokenize_positions():
    assert [(t.kind, t.position) for t in tokenize("a=(1, 'x')")] == [
        ("bare", 0), ("op", 1), ("lparen", 2), ("bare", 3), ("comma", 4), ("string", 6), ("rparen", 9), ("end", 10)]


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("", 0, "empty filter"),
    ("   ", 3, "empty filter"),
    ("params.lr =", 11, "expected a value"),
    ("params.lr 0.1", 10, "expected an operator"),
    ("colour = red", 0, "unknown field 'colour'"),
    ("name = 'abc", 7, "unterminated string"),
    ("(tag = a", 0, "missing ')'"),
    ("tag = a)", 7, "expected 'and', 'or'"),
    ("tag = a and", 11, "expected a field"),
    ("tag = a b", 8, "expected 'and', 'or'"),
    ("status = exploded", 9, "unknown status"),
    ("metrics.auc ~ 'x*'", 14, "metrics compare with numbers"),
    ("metrics.auc > high", 14, "metrics compare with numbers"),
    ("tag < b", 6, "supports"),
    ("start_time > yesterday", 13, "ISO date"),
    ("params. = 1", 0, "missing key"),
    ("data.size = 1", 0, "unknown data field"),
    ("tag in a", 7, "expected '('"),
    ("tag in (a b)", 10, "expected ',' or ')'"),
    ("tag is nul", 7, "expected 'null'"),
    ("tag not = a", 8, "expected 'in'"),
    ("name = and", 7, "expected a value"),
    ("name = x & y", 9, "expected 'and', 'or'"),
    ("name ! x", 5, "unexpected character '!'"),
    ("params.`lr = 1", 7, "unterminated backquoted key"),
])
def test_errors_point_at_the_problem(text, position, fragment):
    with pytest.raises(FilterSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in info.value.message
    assert "\n" not in info.value.message
    assert info.value.to_dict()["position"] == position

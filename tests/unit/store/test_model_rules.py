"""The pure registry rules: one reference parser and the version-numbering rule (ADR-053)."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store.model_rules import (
    ModelRef,
    data_fingerprint,
    next_version,
    parse_model_ref,
    schema_fingerprint,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("churn:1.2.0", ModelRef("churn", version="1.2.0")),
    (" churn:10.0.3 ", ModelRef("churn", version="10.0.3")),
    ("churn:latest", ModelRef("churn", latest=True)),
    ("churn@champion", ModelRef("churn", alias="champion")),
    ("my-model.v2@prod_1", ModelRef("my-model.v2", alias="prod_1")),
])
def test_references_parse(text, expected):
    assert parse_model_ref(text) == expected
    assert str(expected) == text.strip()


@pytest.mark.parametrize("text", ["churn:x.y", "churn:1.2", "churn:1.2.0.1", "churn:", "@champion", "churn@",
                                  "churn@latest", "ch urn:1.0.0", "churn:01.0.0", "", "a@b@c", "../x:1.0.0"])
def test_bad_references_are_one_line_errors(text):
    with pytest.raises(InvalidInput) as info:
        parse_model_ref(text)
    assert "\n" not in info.value.message


def test_a_bare_name_needs_a_version_unless_a_model_is_meant():
    with pytest.raises(InvalidInput, match="names no version"):
        parse_model_ref("churn")
    assert parse_model_ref("churn", need_version=False) == ModelRef("churn")


def test_the_rule():
    assert next_version(None, "", "", "s", "d") == (1, 0, 0)
    assert next_version((1, 2, 3), "s", "d", "s", "d") == (1, 2, 4)  # only code or params changed
    assert next_version((1, 2, 3), "s", "d", "s", "d2") == (1, 3, 0)  # data changed, schema did not
    assert next_version((1, 2, 3), "s", "d", "s2", "d2") == (2, 0, 0)  # schema changed
    assert next_version((1, 2, 3), "s", "d", "s2", "d") == (2, 0, 0)  # signature changed, same data


def test_fingerprints_see_schema_but_not_row_counts():
    small = {"train": {"columns": [{"name": "a", "dtype": "int64"}], "rows": 10, "shape": [10, 1]}}
    large = {"train": {"columns": [{"name": "a", "dtype": "int64"}], "rows": 99, "shape": [99, 1]}}
    wider = {"train": {"columns": [{"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "str"}]}}
    assert schema_fingerprint(small, None) == schema_fingerprint(large, None)
    assert schema_fingerprint(small, None) != schema_fingerprint(wider, None)
    assert schema_fingerprint(small, None) != schema_fingerprint(small, {"n_features": 1})
    assert data_fingerprint([("a", "h1"), ("b", "h2")]) == data_fingerprint([("b", "h2"), ("a", "h1")])
    assert data_fingerprint([("a", "h1")]) != data_fingerprint([("a", "h2")])

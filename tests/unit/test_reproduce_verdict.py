"""The reproduction verdict: tolerance syntax and kinds, metric statuses, ``--param`` values."""

from __future__ import annotations

import math

import pytest

from jupyter_mlops.app.reproduce.execute import parse_params
from jupyter_mlops.app.reproduce.verdict import compare_metrics, parse_tolerances
from jupyter_mlops.errors import InvalidInput


def _statuses(original: dict, reproduced: dict, *tolerances: str) -> dict:
    return {row.key: row.status for row in compare_metrics(original, reproduced, parse_tolerances(tolerances))}


def test_default_tolerance_is_absolute_1e_6() -> None:
    assert _statuses({"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 1.0, "b": 1.0 + 5e-7, "c": 1.0 + 2e-6}) == {
        "a": "exact", "b": "within", "c": "diverged"}


def test_a_bare_amount_replaces_the_default() -> None:
    assert _statuses({"a": 1.0}, {"a": 1.01}, "0.1") == {"a": "within"}
    assert _statuses({"a": 1.0}, {"a": 1.0 + 1e-9}, "0") == {"a": "diverged"}


def test_per_metric_absolute_tolerance_leaves_the_others_at_the_default() -> None:
    assert _statuses({"auc": 0.9, "loss": 0.5}, {"auc": 0.9015, "loss": 0.5015}, "auc=0.002") == {
        "auc": "within", "loss": "diverged"}


def test_relative_tolerance_is_a_fraction_of_the_original() -> None:
    assert _statuses({"n": 200.0, "m": 200.0}, {"n": 201.9, "m": 202.1}, "n=1%", "m=1%") == {
        "n": "within", "m": "diverged"}
    assert _statuses({"n": 200.0}, {"n": 203.0}, "2%") == {"n": "within"}


def test_missing_and_new_metrics_and_nan() -> None:
    rows = compare_metrics({"gone": 1.0, "nan": math.nan, "half": 1.0}, {"new": 2.0, "nan": math.nan,
                                                                           "half": math.nan}, parse_tolerances([]))
    assert {row.key: row.status for row in rows} == {"gone": "missing", "half": "diverged", "nan": "exact",
                                                      "new": "new"}
    assert next(row for row in rows if row.key == "gone").difference is None


@pytest.mark.parametrize("bad", ["abc", "auc=", "=0.1", "auc=-1", "auc=x%", "auc=inf", "nan"])
def test_malformed_tolerances_are_one_line_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_tolerances([bad])
    assert "--tolerance" in raised.value.message and "\n" not in raised.value.message


def test_param_values_are_python_literals_else_text() -> None:
    assert parse_params(["lr=0.1", "name=lgbm", "layers=[1, 2]", "flag=True", "quoted='a b'"]) == {
        "lr": 0.1, "name": "lgbm", "layers": [1, 2], "flag": True, "quoted": "a b"}


@pytest.mark.parametrize("bad", ["lr", "=1", "1x=2", "a.b=3"])
def test_malformed_params_are_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput, match="--param"):
        parse_params([bad])

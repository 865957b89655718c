"""The shape of the SQL a filter compiles to (its meaning is tested against real databases in test_search.py)."""

from __future__ import annotations

from sqlalchemy.dialects import sqlite

from jupyter_mlops.store.filter_sql import compile_node
from jupyter_mlops.store.filters import parse


def sql(text: str) -> str:
    expression = compile_node(parse(text), stale_before=1_800_000_000.0 - 30.0)
    return str(expression.compile(dialect=sqlite.dialect()))


def test_a_conjunction_of_child_conditions_is_one_semi_join_driven_by_the_broadest():
    text = sql("tag = baseline and params.optimizer = adam and metrics.auc >= 0.8")
    assert text.count("runs.id IN") == 1
    # the metric range drives: its table is the outer subquery's; the tag and param become probes inside it
    assert text.startswith("runs.id IN (SELECT latest_metrics.run_id \nFROM latest_metrics")
    assert "latest_metrics.run_id IN (SELECT tags.run_id" in text
    assert "latest_metrics.run_id IN (SELECT params.run_id" in text


def test_ties_keep_the_written_order_and_presence_is_broadest():
    assert sql("tag = a and tag = b").startswith("runs.id IN (SELECT tags.run_id")
    assert sql("params.lr = 1 and metrics.auc is not null").startswith("runs.id IN (SELECT latest_metrics.run_id")


def test_a_condition_on_the_drivers_own_table_stays_its_own_subquery():
    text = sql("params.lr >= 0.1 and params.opt = adam")
    assert "params.run_id IN (SELECT params.run_id \nFROM params" in text


def test_negated_and_run_column_conditions_stay_outside_the_nested_join():
    text = sql("metrics.auc >= 0.8 and tag != gpu and name ~ 'x*'")
    assert "runs.id NOT IN (SELECT tags.run_id" in text
    assert "lower(runs.name) LIKE lower(?)" in text

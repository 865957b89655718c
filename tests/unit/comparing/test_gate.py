"""The gate's rules and verdicts as pure functions (no store): parsing, tolerance arithmetic, lineage."""

from __future__ import annotations

import math

import pytest

from jupyter_mlops.comparing import RunSnapshot, build_comparison
from jupyter_mlops.comparing.gate import (
    MetricRule,
    Tolerance,
    build_rules,
    judge,
    judge_metric,
    lineage_of,
    parse_metric,
    parse_tolerance,
)
from jupyter_mlops.entities import DataInput, Run, RunStatus
from jupyter_mlops.errors import InvalidInput


def test_parse_metric_and_tolerance():
    assert parse_metric(" auc:max ") == ("auc", "max")
    assert parse_metric("val:loss:min") == ("val:loss", "min")  # the direction is after the last colon
    assert parse_tolerance("latency_ms=5%", "--max-regression") == ("latency_ms", Tolerance(5.0, relative=True))
    assert parse_tolerance("auc = 0.002", "--min-delta") == ("auc", Tolerance(0.002))
    for bad in ("auc", ":max", "auc:", "a uc:max", "auc:maximum"):
        with pytest.raises(InvalidInput):
            parse_metric(bad)
    for bad in ("auc", "=1", "auc=", "auc=1e", "auc=inf", "auc=%", "auc=-0.1"):
        with pytest.raises(InvalidInput):
            parse_tolerance(bad, "--min-delta")


def test_a_hostile_argument_is_quoted_short():
    with pytest.raises(InvalidInput) as info:
        parse_metric("x" * 10_000)
    assert len(info.value.message) < 200


def test_build_rules_keeps_metric_order_and_attaches_tolerances():
    rules = build_rules(["auc:max", "latency_ms:min", "f1:max"], ["auc=0.002"], ["latency_ms=5%"])
    assert [r.key for r in rules] == ["auc", "latency_ms", "f1"]
    assert rules[0].min_delta == Tolerance(0.002) and rules[0].max_regression is None
    assert rules[1].max_regression == Tolerance(5.0, True) and rules[1].min_delta is None
    assert rules[2].describe() == "no worse"


@pytest.mark.parametrize(("rule", "base", "cand", "verdict"), [
    (MetricRule("auc", "max", min_delta=Tolerance(0.2)), 0.1, 0.3, "pass"),  # 0.3 - 0.1 = 0.19999999999999998
    (MetricRule("auc", "max", min_delta=Tolerance(0.2)), 0.1, 0.29, "regression"),
    (MetricRule("loss", "min", max_regression=Tolerance(10, True)), 2.0, 2.2, "pass"),  # 2.2 - 2.0 > 0.2 in floats
    (MetricRule("loss", "min", max_regression=Tolerance(10, True)), 2.0, 2.21, "regression"),
    (MetricRule("loss", "min", max_regression=Tolerance(10, True)), -2.0, -1.8, "pass"),  # % of |baseline|
    (MetricRule("auc", "max", min_delta=Tolerance(5, True)), 0.0, 0.0, "pass"),  # 5% of 0 is 0: equal passes
    (MetricRule("auc", "max"), 0.9, 0.9, "pass"),
    (MetricRule("auc", "max"), 0.9, 0.8999, "regression"),
])
def test_judge_metric_boundaries(rule, base, cand, verdict):
    assert judge_metric(rule, base, cand).verdict == verdict


@pytest.mark.parametrize(("base", "cand", "words"), [
    (None, 0.9, "missing on the baseline run"), (0.9, None, "missing on the candidate run"),
    (math.nan, 0.9, "nan on the baseline run"), (0.9, math.inf, "inf on the candidate run"),
])
def test_a_metric_that_cannot_be_judged_is_an_error(base, cand, words):
    verdict = judge_metric(MetricRule("auc", "max"), base, cand)
    assert verdict.verdict == "error" and words in verdict.reason
    assert verdict.to_dict()["baseline"] is None or math.isfinite(verdict.to_dict()["baseline"])


def _run(run_id: str, metrics: dict[str, float], params: dict, data_hash: str, code: str | None) -> Run:
    return Run(id=run_id, name=run_id, experiment="e", status=RunStatus.FINISHED, start_time=0.0, metrics=metrics,
               params=params, code_hash=code,
               data_inputs=(DataInput("train.csv", data_hash, size=10),))


def test_overall_verdict_and_lineage_from_the_comparison():
    base = _run("a" * 32, {"auc": 0.9, "lat": 10.0}, {"lr": 0.1, "depth": 3}, "xxh3_128:" + "1" * 32, "h1")
    cand = _run("b" * 32, {"auc": 0.95, "lat": 11.0}, {"lr": 0.2, "depth": 3}, "xxh3_128:" + "2" * 32, "h2")
    comparison = build_comparison([RunSnapshot(base), RunSnapshot(cand)])
    lineage = lineage_of(comparison)
    assert [(d.name, d.status, d.baseline_hash, d.candidate_hash) for d in lineage.data] == [
        ("train.csv", "changed", "xxh3_128:" + "1" * 32, "xxh3_128:" + "2" * 32)]
    assert lineage.params == (("lr", 0.1, 0.2),)
    assert lineage.code_changed is True
    rules = build_rules(["auc:max", "lat:min"])
    result = judge(base, cand, rules, lineage=lineage)
    assert (result.verdict, result.exit_code, result.count("regression")) == ("regression", 1, 1)
    assert judge(base, cand, build_rules(["auc:max"])).exit_code == 0
    assert judge(base, cand, build_rules(["auc:max", "f1:max"])).exit_code == 2
    assert result.to_dict()["lineage"]["params"] == [{"key": "lr", "baseline": 0.1, "candidate": 0.2}]


def test_code_cells_are_counted_from_the_snapshots_without_nbdime():
    base = _run("a" * 32, {}, {}, "xxh3_128:" + "1" * 32, "h1")
    cand = _run("b" * 32, {}, {}, "xxh3_128:" + "1" * 32, "h2")
    code = lambda *sources: {"cells": [{"index": i, "execution_count": i + 1, "source": s, "cell_id": f"c{i}"}  # noqa: E731
                                       for i, s in enumerate(sources)]}
    comparison = build_comparison([RunSnapshot(base), RunSnapshot(cand)])  # no code section, as the gate builds it
    lineage = lineage_of(comparison, (code("import x", "fit(lr=0.1)", "plot()"), code("import x", "fit(lr=0.2)")))
    assert (lineage.code_changed, lineage.code_cells) == (True, 3)  # one edited (counted each side), one removed
    same = _run("c" * 32, {}, {}, "xxh3_128:" + "1" * 32, "h1")
    assert lineage_of(build_comparison([RunSnapshot(base), RunSnapshot(same)])).code_changed is False
    assert lineage_of(build_comparison([RunSnapshot(base), RunSnapshot(_run("d" * 32, {}, {}, "x:1", None))])
                      ).code_changed is None

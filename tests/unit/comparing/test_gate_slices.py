"""The gate per slice (ADR-071) as pure rules: a candidate better overall but worse on one slice regresses and the
verdict names the slice; a slice missing in the candidate is an error that names it; a bare tolerance applies to
every metric."""

from __future__ import annotations

import pytest

from jupyter_mlops.comparing.gate import Tolerance, build_rules, judge, parse_per_slice, parse_tolerance
from jupyter_mlops.entities import Run, RunStatus
from jupyter_mlops.errors import InvalidInput


def _run(name: str, auc: float, slices: dict[str, float]) -> Run:
    return Run(id=name * 8, name=name, experiment="e", status=RunStatus.FINISHED, start_time=0.0,
               metrics={"auc": auc}, slices={"auc": slices})


BASE = _run("base", 0.90, {"region=EU": 0.88, "region=US": 0.91, "device=m,region=EU": 0.5})


def _judge(candidate: Run, *options: str, per_slice: tuple[str, ...] = ("region",)):
    return judge(BASE, candidate, build_rules(["auc:max"], (), options, per_slice))


def test_better_overall_but_worse_on_one_slice_regresses_naming_it():
    result = _judge(_run("cand", 0.93, {"region=EU": 0.84, "region=US": 0.95}), "2%")
    assert result.verdict == "regression" and result.exit_code == 1
    verdicts = {m.label: m.verdict for m in result.metrics}
    assert verdicts == {"auc": "pass", "auc [region=EU]": "regression", "auc [region=US]": "pass"}
    eu = next(m for m in result.metrics if m.slice == "region=EU")
    assert eu.to_dict()["slice"] == "region=EU" and round(eu.delta, 6) == -0.04
    assert "at most 2%" in eu.reason


def test_every_slice_within_the_tolerance_passes():
    result = _judge(_run("cand", 0.91, {"region=EU": 0.87, "region=US": 0.91, "region=APAC": 0.1}), "2%")
    assert result.verdict == "pass" and result.exit_code == 0
    assert [m.label for m in result.metrics] == ["auc", "auc [region=EU]", "auc [region=US]"]  # APAC: new, unjudged


def test_a_slice_missing_in_the_candidate_is_an_error_naming_it():
    result = _judge(_run("cand", 0.95, {"region=US": 0.99}))
    assert result.verdict == "error" and result.exit_code == 2
    missing = next(m for m in result.metrics if m.slice == "region=EU")
    assert missing.verdict == "error" and missing.reason == "auc on slice region=EU is missing on the candidate run"


def test_no_slice_over_the_dimensions_is_an_error():
    result = _judge(_run("cand", 0.95, {"region=EU": 0.9}), per_slice=("country",))
    bad = [m for m in result.metrics if m.verdict == "error"]
    assert len(bad) == 1 and bad[0].reason == "auc has no slices by country on either run"


def test_slices_over_several_dimensions_are_judged_together():
    result = _judge(_run("cand", 0.95, {"region=EU": 0.9, "device=m,region=EU": 0.4}), per_slice=("region,device",))
    assert [(m.label, m.verdict) for m in result.metrics] == [("auc", "pass"),
                                                             ("auc [device=m,region=EU]", "regression")]


def test_nan_on_a_slice_is_an_error_not_a_pass():
    result = _judge(_run("cand", 0.95, {"region=EU": float("nan"), "region=US": 0.99}))
    assert result.verdict == "error"
    assert "auc on slice region=EU is nan on the candidate run" in [m.reason for m in result.metrics]


def test_without_per_slice_the_gate_is_as_before():
    result = judge(BASE, _run("cand", 0.93, {"region=EU": 0.1}), build_rules(["auc:max"]))
    assert [m.label for m in result.metrics] == ["auc"] and result.verdict == "pass"


def test_bare_tolerances_and_per_slice_options():
    assert parse_tolerance("2%", "--max-regression") == ("", Tolerance(2.0, relative=True))
    assert parse_tolerance("0.01", "--min-delta") == ("", Tolerance(0.01))
    rules = build_rules(["auc:max", "loss:min"], (), ("2%", "loss=0.1"), ("region",))
    assert [(r.key, str(r.max_regression)) for r in rules] == [("auc", "2%"), ("loss", "0.1")]
    assert rules[0].per_slice == (frozenset({"region"}),)
    assert parse_per_slice(["region", " device , region "]) == (frozenset({"region"}),
                                                                 frozenset({"device", "region"}))
    for bad in (["region,"], [""], ["region", "region"]):
        with pytest.raises(InvalidInput):
            parse_per_slice(bad)
    with pytest.raises(InvalidInput, match="every metric already has"):
        build_rules(["auc:max"], ("1%",), ("2%",))
    with pytest.raises(InvalidInput):
        parse_tolerance("-2%", "--max-regression")

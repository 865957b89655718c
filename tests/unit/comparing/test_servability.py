"""The servability judgement: latency bounds, p95, the environment comparison, checks and verdicts (pure)."""

from __future__ import annotations

import pytest

from jupyter_mlops.comparing.servability import Check, Servability, env_check, judge, parse_latency, percentile
from jupyter_mlops.errors import InvalidInput


@pytest.mark.parametrize(("text", "ms"), [("50ms", 50.0), ("0.2s", 200.0), ("250us", 0.25), ("0.05", 50.0),
                                          (0.05, 50.0), (2, 2000.0)])
def test_latency_bounds_in_units_or_bare_seconds_read_as_milliseconds(text, ms):
    assert parse_latency(text) == ms


@pytest.mark.parametrize("text", ["fast", "-5ms", "0", "5 min", True])
def test_bad_latency_bounds_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_latency(text)


def test_p95_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 95.0 and percentile(values, 0.5) == 50.0
    assert percentile([3.0], 0.95) == 3.0 and percentile([], 0.95) is None


def test_environment_is_judged_on_recorded_key_packages_only():
    key = ["scikit-learn", "numpy", "scipy"]
    assert env_check(None, {}, key).status == "skip"
    same = env_check({"scikit-learn": "1.5.0", "numpy": "2.0.0"}, {"scikit-learn": "1.5.0", "numpy": "2.0.0"}, key)
    assert same == Check("environment", "pass", "scikit-learn 1.5.0, numpy 2.0.0")
    moved = env_check({"scikit-learn": "1.4.0", "numpy": "2.0.0"}, {"scikit-learn": "1.5.0"}, key)
    assert moved.status == "fail"
    assert moved.detail == ("scikit-learn 1.4.0 when registered, 1.5.0 here; numpy 2.0.0 when registered, "
                            "not installed here")


BASE = Servability(ref="m:1.0.0", entry_point="predict", sample="s.csv")
ENV = Check("environment", "skip", "none recorded")


def test_a_failed_stage_fails_its_check_and_skips_the_rest():
    result = judge(BASE, {"stage": "load", "error": "the pickle needs module 'x'", "hash": "h"}, ENV, 50.0)
    assert [(c.name, c.status) for c in result.checks] == [
        ("content_hash", "pass"), ("environment", "skip"), ("load", "fail"), ("predict", "skip"),
        ("output", "skip"), ("latency", "skip")]
    assert result.verdict == "not servable" and result.exit_code == 1


def test_an_unreadable_sample_is_could_not_check():
    result = judge(BASE, {"stage": "sample", "error": "cannot read the sample"}, ENV, None)
    assert result.exit_code == 2 and result.to_dict()["error"] == "cannot read the sample"


def test_latency_over_the_bound_fails_and_within_passes():
    answer = {"stage": "done", "hash": "h", "rows": 20, "load_s": 0.1, "batch_s": 0.01,
              "output": {"type": "numpy.ndarray", "length": 20, "dtype": "int64"},
              "latencies": [0.001] * 18 + [0.2, 0.2]}
    assert judge(BASE, answer, ENV, 50.0).exit_code == 1  # p95 of 20 is the 19th: 200 ms
    assert judge(BASE, {**answer, "latencies": [0.001] * 19 + [0.2]}, ENV, 50.0).exit_code == 0
    unbounded = judge(BASE, answer, ENV, None)
    assert unbounded.exit_code == 0 and unbounded.checks[-1].status == "skip"
    assert unbounded.latency_calls == 20 and unbounded.latency_p95_ms == pytest.approx(200.0)

"""The data-check rules over real profiles: each anomaly kind, PSI bands, and what is not an anomaly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.capture.profile import profile_frame
from jupyter_mlops.comparing.data_check import Limits, check_profiles, column_psi, profile_drift

N = 20_000


def frame(seed: int, shift: float = 0.0, colors=("red", "green", "blue")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 90, N),
        "income": rng.normal(50 + shift, 10, N),
        "color": rng.choice(list(colors), N),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, N), unit="D"),
    })


@pytest.fixture(scope="module")
def base():
    return profile_frame(frame(1))


def kinds(base, current, **limits) -> dict[tuple[str, str], str]:
    result = check_profiles("d.csv", base, profile_frame(current), Limits(**limits))
    return {(a.column, a.kind): a.message for a in result.anomalies}


def test_the_same_data_and_a_fresh_sample_of_it_are_clean(base):
    assert kinds(base, frame(1)) == {}
    result = check_profiles("d.csv", base, profile_frame(frame(2)))
    assert result.anomalies == () and all(v < 0.02 for v in result.drift.values())


def test_schema_changes(base):
    changed = frame(1).drop(columns=["when"]).assign(extra=1, age=lambda f: f["age"].astype(str))
    found = kinds(base, changed)
    assert set(found) == {("when", "missing_column"), ("extra", "extra_column"), ("age", "dtype_change")}
    assert "int64 → str" in found[("age", "dtype_change")]


def test_an_equivalent_dtype_is_not_a_change(base):
    assert kinds(base, frame(1).assign(age=lambda f: f["age"].astype("Int64"))) == {}


def test_constraints(base):
    changed = frame(1)
    changed.loc[5, "age"] = 150
    changed.loc[:9, "income"] = np.nan
    changed.loc[7, "color"] = "purple"
    found = kinds(base, changed)
    assert set(found) == {("age", "out_of_range"), ("income", "nulls"), ("color", "new_category")}
    assert "max 150 > 89" in found[("age", "out_of_range")]
    assert "10 nulls" in found[("income", "nulls")] and "'purple'" in found[("color", "new_category")]


def test_range_slack_and_null_increase_are_limits(base):
    changed = frame(1)
    changed.loc[5, "age"] = 92  # 3 above the max, within 10 % of the span
    assert kinds(base, changed) == {}
    assert set(kinds(base, changed, range_slack=0.0)) == {("age", "out_of_range")}
    with_nulls = frame(1)
    with_nulls.loc[:99, "income"] = np.nan
    base_nulls = profile_frame(with_nulls)
    more = frame(1)
    more.loc[:299, "income"] = np.nan  # 0.5 % → 1.5 %: +1 point
    assert set(kinds(base_nulls, more)) == set()
    assert set(kinds(base_nulls, more, null_increase=0.005)) == {("income", "nulls")}


def test_shifted_distributions_drift(base):
    found = kinds(base, frame(3, shift=6.0, colors=("red", "red", "red", "green", "blue")))
    assert set(found) == {("income", "drift"), ("color", "drift")}
    assert "PSI" in found[("income", "drift")]


def test_psi_bands():
    base = profile_frame(frame(1))
    small = profile_drift(base, profile_frame(frame(4, shift=1.0)))["income"]
    large = profile_drift(base, profile_frame(frame(4, shift=8.0)))["income"]
    assert small is not None and large is not None and small < 0.1 < 0.25 < large


def test_point_masses_and_unmeasurable_columns():
    zeros = profile_frame(pd.DataFrame({"x": [0] * 90 + [1] * 10}))
    ones = profile_frame(pd.DataFrame({"x": [0] * 50 + [1] * 50}))
    before, after = zeros["columns"][0], ones["columns"][0]
    assert column_psi(before, before) == 0.0 and column_psi(before, after) > 0.25
    empty = profile_frame(pd.DataFrame({"x": pd.Series([], dtype="int64")}))
    assert column_psi(before, empty["columns"][0]) is None
    result = check_profiles("d", zeros, empty)
    assert [a.kind for a in result.anomalies] == ["no_rows"]


def test_wire_shape(base):
    result = check_profiles("d.csv", base, profile_frame(frame(1).drop(columns=["color"])))
    wire = result.to_dict()
    assert wire["name"] == "d.csv" and wire["anomalies"][0] == {
        "column": "color", "kind": "missing_column", "message": "column missing", "expected": "str",
        "observed": None}

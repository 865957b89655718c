"""Profiles of real DataFrames (``capture.profile``): every dtype family, nulls, empty frames, sampling."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.capture import profile as profiling


def columns(frame: pd.DataFrame) -> dict[str, dict]:
    found = profiling.profile_frame(frame)
    json.dumps(found, allow_nan=False)  # plain JSON: what the blob store writes
    return {c["name"]: c for c in found["columns"]}


def test_numeric_columns_have_exact_nulls_min_max_and_a_quantile_sketch():
    frame = pd.DataFrame({"i": [3, 1, 2, 5, 4], "f": [0.5, np.nan, 1.5, 2.5, -1.0]})
    cols = columns(frame)
    assert (cols["i"]["family"], cols["i"]["min"], cols["i"]["max"], cols["i"]["nulls"]) == ("integer", 1, 5, 0)
    assert cols["i"]["quantiles"][0] == 1 and cols["i"]["quantiles"][-1] == 5 and cols["i"]["quantiles"][10] == 3
    assert len(cols["i"]["quantiles"]) == len(profiling.QUANTILE_PROBS)
    assert cols["i"]["distinct"] == 5 and cols["i"]["distinct_estimated"] is False
    assert (cols["f"]["family"], cols["f"]["min"], cols["f"]["max"]) == ("float", -1.0, 2.5)
    assert cols["f"]["nulls"] == 1 and cols["f"]["null_share"] == 0.2 and cols["f"]["count"] == 4


def test_strings_have_top_values_with_shares_and_no_range():
    frame = pd.DataFrame({"color": ["red", "red", "blue", None, "red", "green"]})
    col = columns(frame)["color"]
    assert col["family"] == "string" and col["nulls"] == 1 and "min" not in col
    assert col["top"][0] == ["red", 0.6] and {v for v, _ in col["top"]} == {"red", "blue", "green"}
    assert col["top_complete"] is True and col["distinct"] == 3


def test_datetime_min_max_are_iso_and_the_sketch_is_epoch_seconds():
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-03", None, "2024-01-02"])})
    col = columns(frame)["when"]
    assert col["family"] == "datetime" and col["nulls"] == 1
    assert col["min"] == "2024-01-01T00:00:00" and col["max"] == "2024-01-03T00:00:00"
    assert col["quantiles"][0] == pd.Timestamp("2024-01-01").timestamp()
    assert col["quantiles"][-1] == pd.Timestamp("2024-01-03").timestamp()


def test_timezone_aware_datetimes():
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-01T10:00", "2024-01-02T10:00"]).tz_localize("UTC")})
    col = columns(frame)["t"]
    assert col["min"] == "2024-01-01T10:00:00+00:00" and col["family"] == "datetime"


def test_categoricals_count_every_value_exactly():
    frame = pd.DataFrame({"c": pd.Categorical(["a", "b", "a", None, "a"], categories=["a", "b", "z"])})
    col = columns(frame)["c"]
    assert col["family"] == "categorical" and col["nulls"] == 1
    assert col["top"] == [["a", 0.75], ["b", 0.25]] and col["distinct"] == 2 and col["top_complete"] is True
    assert col["categories"] == ["a", "b", "z"]


def test_booleans_and_nullable_integers():
    frame = pd.DataFrame({"b": [True, False, True, True], "n": pd.array([1, None, 3, 4], dtype="Int64")})
    cols = columns(frame)
    assert cols["b"]["family"] == "boolean" and dict(map(tuple, cols["b"]["top"])) == {True: 0.75, False: 0.25}
    assert cols["n"]["family"] == "integer" and cols["n"]["nulls"] == 1
    assert (cols["n"]["min"], cols["n"]["max"]) == (1, 4)


def test_an_all_null_column_has_counts_and_nothing_else():
    frame = pd.DataFrame({"x": [np.nan, np.nan, np.nan], "s": pd.Series([None, None, None], dtype="str")})
    cols = columns(frame)
    for name in ("x", "s"):
        assert cols[name]["nulls"] == 3 and cols[name]["null_share"] == 1.0 and cols[name]["count"] == 0
        assert "min" not in cols[name] and not cols[name].get("top")


def test_an_empty_frame_keeps_its_columns():
    frame = pd.DataFrame({"a": pd.Series([], dtype="int64"), "s": pd.Series([], dtype="str")})
    found = profiling.profile_frame(frame)
    assert found["rows"] == 0 and [c["name"] for c in found["columns"]] == ["a", "s"]
    assert all(c["nulls"] == 0 and c["null_share"] == 0.0 for c in found["columns"])


def test_large_frames_are_sampled_deterministically_with_exact_extremes():
    rng = np.random.default_rng(7)
    n = profiling.SAMPLE_SIZE * 10
    frame = pd.DataFrame({"x": rng.normal(size=n), "cat": rng.choice(["a", "b", "c"], n), "id": np.arange(n)})
    first, second = profiling.profile_frame(frame), profiling.profile_frame(frame.copy())
    assert first == second and first["sampled"] is True
    cols = {c["name"]: c for c in first["columns"]}
    assert cols["x"]["min"] == frame["x"].min() and cols["x"]["max"] == frame["x"].max()
    assert cols["id"]["distinct_estimated"] is True and 0.5 * n < cols["id"]["distinct"] <= n
    assert "top" not in cols["id"]  # an identifier is not copied into the profile
    # few values: counted exactly over every row, so the category list is complete
    assert cols["cat"]["distinct_estimated"] is False and cols["cat"]["top_complete"] is True
    assert sum(s for _, s in cols["cat"]["top"]) == pytest.approx(1.0)
    assert abs(cols["x"]["quantiles"][10]) < 0.05  # the median of a standard normal


def test_profile_object_and_files(tmp_path):
    assert profiling.profile_object([1, 2]) is None
    assert profiling.profile_object(pd.Series([1, 2], name="s"))["columns"][0]["name"] == "s"
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    assert [c["family"] for c in profiling.profile_file(path)["columns"]] == ["integer", "string"]
    assert profiling.profile_file(tmp_path / "notes.txt") is None
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    assert profiling.profile_file(bad) is None
    assert profiling.profile_file(path, max_bytes=4) is not None  # cached by identity: not read again
    other = tmp_path / "other.csv"
    other.write_text("a\n1\n")
    assert profiling.profile_file(other, max_bytes=1) is None


def test_a_column_of_lists_is_profiled_with_text_labels():
    frame = pd.DataFrame({"tags": [["a"], ["b", "c"], []], "n": [1, 2, 3]})
    cols = columns(frame)  # plain JSON, checked in columns()
    assert cols["tags"]["family"] == "object" and cols["tags"]["distinct"] == 3 and cols["n"]["max"] == 3
    assert all(isinstance(label, str) for label, _ in cols["tags"]["top"])


def test_a_sampled_numeric_column_sketches_from_half_the_sample_unless_it_has_few_values():
    """ADR-120: many values → every other sampled value gives the sketch; few values → the whole sample, exact."""
    rng = np.random.default_rng(11)
    n = profiling.SAMPLE_SIZE * 20
    frame = pd.DataFrame({"u": rng.random(n), "level": rng.choice([1, 2, 3, 4, 5], n, p=[.4, .3, .15, .1, .05])})
    cols = {c["name"]: c for c in profiling.profile_frame(frame)["columns"]}
    sample = frame["u"].to_numpy()[profiling._sample_index(n)]
    half = np.sort(sample[::2])
    expected = np.quantile(half, profiling.QUANTILE_PROBS)
    assert cols["u"]["quantiles"][1:-1] == pytest.approx(expected[1:-1].tolist(), abs=1e-15)
    assert cols["u"]["quantiles"][0] == frame["u"].min() and cols["u"]["quantiles"][-1] == frame["u"].max()
    assert cols["u"]["distinct_estimated"] is True and cols["u"]["distinct"] == n  # all distinct in the half
    values, counts = np.unique(frame["level"].to_numpy()[profiling._sample_index(n)], return_counts=True)
    shares = dict(zip(values.tolist(), (counts / counts.sum()).round(6).tolist(), strict=True))
    assert dict(map(tuple, cols["level"]["top"])) == shares  # the whole sample's shares, not the half's

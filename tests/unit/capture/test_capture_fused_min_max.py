"""The hashing pass's min/max (``capture.frames.describe_object(min_max=...)``, ADR-081) changes nothing it feeds.

Hashes are stored in users' runs: they are pinned here to the values the separate (unfused) hashing gave before the
fused pass existed, and the profile built from the pass's min/max must equal the profile computed on its own.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.capture import frames
from jupyter_mlops.capture import profile as profiling

ROWS = 200_003  # three whole min/max blocks of 65,536 rows and a partial one


def _frames() -> dict[str, pd.DataFrame]:
    i = np.arange(ROWS)
    floats = ((i * 7919) % 10007) / 8.0 - 600.0  # exact binary fractions: the same bytes on every platform
    floats[::7] = np.nan
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(i % 5000, unit="min")
    with_nat = pd.Series(when).copy()
    with_nat[::11] = pd.NaT
    return {
        "float_nan": pd.DataFrame({"f": floats, "g": ((i * 31) % 1009) * 0.25}),
        "ints": pd.DataFrame({"i": (i * 7919) % 100_003 - 50_000, "u": (i % 250).astype(np.uint8)}),
        "datetimes": pd.DataFrame({"t": when, "t_nat": with_nat, "d": pd.to_timedelta(i % 97, unit="s")}),
        "empty": pd.DataFrame({"f": np.zeros(0), "i": np.zeros(0, dtype=np.int64)}),
        "all_null": pd.DataFrame({"f": np.full(ROWS, np.nan),
                                  "t": pd.Series(pd.NaT, index=range(ROWS), dtype="datetime64[ns]")}),
        "small": pd.DataFrame({"f": [1.5, -0.0, 0.0, 2.0], "i": [3, 1, 2, 2]}),
    }


#: ``describe_object`` hashes of :func:`_frames`, computed by the code before the fused pass (commit a6b155e).
PINNED = {
    "float_nan": "xxh3_128:4ad48cdd2e778b478fed07cf27a3358f",
    "ints": "xxh3_128:8980f681deaad79d3ed2a10b98ff94ed",
    "datetimes": "xxh3_128:dc6cfb3db3c4d356b2a8e33c47c2ed36",
    "empty": "xxh3_128:80b2a3bec650e4db65981f3a4be306e6",
    "all_null": "xxh3_128:e4ace366dc589cb4b82acceaa4d3a859",
    "small": "xxh3_128:4a275da385639c59d445e9e4c7af5303",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_fused_pass_gives_the_stored_hashes(name):
    frame = _frames()[name]
    found: dict = {}
    fused = frames.describe_object(frame, min_max=found)
    assert fused == frames.describe_object(frame)
    assert fused[0] == PINNED[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_profile_from_the_fused_min_max_equals_the_separate_profile(name):
    frame = _frames()[name]
    found: dict = {}
    frames.describe_object(frame, min_max=found)
    fused = profiling.profile_frame(frame, found)
    assert json.dumps(fused, sort_keys=True) == json.dumps(profiling.profile_frame(frame), sort_keys=True)


def test_the_pass_reports_exact_min_and_max_per_column_position():
    frame = _frames()["ints"].assign(s=lambda f: f["i"].astype(str), g=_frames()["float_nan"]["g"])
    found: dict = {}
    frames.describe_object(frame, min_max=found)
    assert sorted(found) == [0, 1, 3]  # the string column (position 2) is hashed as before, without min/max
    assert (found[0][0], found[0][1]) == (frame["i"].min(), frame["i"].max())
    assert (int(found[1][0]), int(found[1][1])) == (0, 249)
    assert (found[3][0], found[3][1]) == (0.0, 1008 * 0.25)


def test_nan_and_nat_propagate_so_the_profile_still_skips_nulls():
    frame = _frames()["float_nan"].join(_frames()["datetimes"])
    found: dict = {}
    frames.describe_object(frame, min_max=found)
    assert np.isnan(found[0][0]) and np.isnan(found[0][1])
    assert found[3][0] == np.iinfo(np.int64).min  # NaT, read as int64
    cols = {c["name"]: c for c in profiling.profile_frame(frame, found)["columns"]}
    assert cols["f"]["min"] == np.nanmin(frame["f"]) and cols["f"]["nulls"] == len(range(0, ROWS, 7))
    assert cols["t_nat"]["min"] == frame["t_nat"].min().isoformat()
    assert cols["t_nat"]["nulls"] == len(range(0, ROWS, 11))


def test_other_dtypes_get_no_min_max_and_profile_as_before():
    frame = pd.DataFrame({
        "b": np.arange(10) % 2 == 0,
        "n": pd.array([1, None, 3] + [4] * 7, dtype="Int64"),
        "c": pd.Categorical(list("ab") * 5),
        "p": pd.period_range("2024-01", periods=10, freq="M"),
        "tz": pd.date_range("2024-01-01", periods=10, tz="UTC"),
    })
    found: dict = {}
    assert frames.describe_object(frame, min_max=found) == frames.describe_object(frame)
    assert sorted(found) == [3, 4]  # tz-aware datetimes and periods are int64 underneath; bool, Int64, category not
    assert profiling.profile_frame(frame, found) == profiling.profile_frame(frame)


def test_a_series_uses_position_zero():
    series = pd.Series(np.arange(100_000, dtype=np.float64) - 7, name="x")
    found: dict = {}
    frames.describe_object(series, min_max=found)
    assert found == {0: (-7.0, 99_992.0)}
    assert profiling.profile_object(series, found) == profiling.profile_object(series)

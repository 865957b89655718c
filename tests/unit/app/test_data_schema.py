"""pandera schemas from recorded profiles: every dtype family round-trips through YAML and is enforced."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_mlops.app import data_schema
from jupyter_mlops.capture.profile import profile_frame
from jupyter_mlops.errors import InvalidInput, NotFound

FRAME = pd.DataFrame({
    "when": pd.to_datetime(["2024-01-01", "2024-02-01", None]),
    "tz": pd.to_datetime(["2024-01-01T10:00"] * 3).tz_localize("UTC"),
    "c": pd.Categorical(["a", "b", "a"]),
    "b": [True, False, True],
    "n": pd.array([1, None, 3], dtype="Int64"),
    "s": ["x", "y", "x"],
})


def test_a_profile_schema_round_trips_and_passes_its_own_data(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(data_schema.infer_from_profile(profile_frame(FRAME)))
    schema = data_schema.load_schema(path)
    assert data_schema.validate(schema, FRAME) == []
    bad = FRAME.assign(c=pd.Categorical(["a", "z", "a"]), s=["x", "y", "w"])
    bad.loc[0, "when"] = pd.Timestamp("2030-01-01")
    found = {(a.column, a.kind) for a in data_schema.validate(schema, bad)}
    assert found == {("when", "out_of_range"), ("c", "new_category"), ("s", "new_category")}


def test_dtype_family_changes_are_reported_once(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(data_schema.infer_from_profile(profile_frame(FRAME)))
    found = data_schema.validate(data_schema.load_schema(path), FRAME.assign(n=["1", "2", "3"]))
    assert [(a.column, a.kind) for a in found] == [("n", "dtype_change")]


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(NotFound, match="schema file not found"):
        data_schema.load_schema(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  a:\n    dtype: nonsense\n")
    with pytest.raises(InvalidInput, match="not a valid pandera schema") as raised:
        data_schema.load_schema(bad)
    assert "\n" not in raised.value.message

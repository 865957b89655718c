"""``run.log_data(df)`` profiles from the hashing pass's min/max (ADR-081): what it stores is the separate profile."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import jupyter_mlops as mlops
from jupyter_mlops.capture import frames
from jupyter_mlops.capture.profile import profile_frame


def test_a_logged_frames_profile_and_hash_are_those_computed_separately(project):
    rows = 150_001
    i = np.arange(rows)
    values = ((i * 37) % 1000) / 4.0
    values[::13] = np.nan
    frame = pd.DataFrame({"x": values, "n": i % 17 - 8, "plan": np.where(i % 3 == 0, "pro", "free"),
                          "t": pd.Timestamp("2024-01-01") + pd.to_timedelta(i % 999, unit="h")})
    with mlops.start_run("profiled", redact=False, auto_capture=False) as run:
        record = run.log_data(frame, name="features")
    assert record.hash == frames.describe_object(frame)[0]
    stored = run.blobs.get_json(record.schema["profile"])
    assert json.dumps(stored, sort_keys=True) == json.dumps(profile_frame(frame), sort_keys=True)
    assert {c["name"]: c["min"] for c in stored["columns"] if "min" in c} == {
        "x": 0.0, "n": -8, "t": "2024-01-01T00:00:00"}

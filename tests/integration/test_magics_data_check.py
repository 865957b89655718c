"""``%track data check`` in a live IPython shell: files and DataFrames against a run, the cell failing on anomalies,
and a DataFrame recorded with ``%track data`` getting its profile."""

from __future__ import annotations

from test_magics import one_line_error, run

import jupyter_mlops as mlops

SETUP = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
frame = pd.DataFrame({"age": rng.integers(18, 90, 500), "color": rng.choice(["red", "blue"], 500)})
frame.to_csv("train.csv", index=False)
"""


def test_check_files_and_frames_against_a_run(ip, capsys):
    run(ip, SETUP)
    run(ip, "%track start base --no-auto")
    run(ip, "%track data frame")
    run(ip, "%track stop")
    profile = mlops.get_run("base").data_inputs[0].schema["profile"]
    assert profile.startswith("xxh3_128:")
    capsys.readouterr()
    result = run(ip, "%track data check frame train.csv --against base --data frame")
    out = capsys.readouterr().out
    assert result.success and "Data check clean: 2 files against run base" in out
    run(ip, "changed = frame.assign(age=frame['age'] + 100)")
    err = one_line_error(ip, capsys, "%track data check changed --against base --data frame")
    assert "data check found 2 anomalies" in err  # out of range and drift
    result = run(ip, "%track data check changed --against base --data frame --warn")
    out = capsys.readouterr().out
    assert result.success and "out_of_range" in out and "drift" in out


def test_bad_input_is_one_line(ip, capsys):
    run(ip, SETUP)
    assert "data file not found: nope.csv" in one_line_error(ip, capsys, "%track data check nope.csv --against x")
    assert "no run, model version or schema file" in one_line_error(
        ip, capsys, "%track data check train.csv --against nosuchrun")

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


def test_a_tracked_cell_that_reads_a_csv_records_its_profile(ip, capsys):
    from jupyter_mlops.app.runs import show_run
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.tracking import context

    run(ip, SETUP)
    run(ip, "%track start auto")
    run(ip, "df = pd.read_csv('train.csv')")
    run(ip, "%track stop")
    assert context.drain()
    profiles = show_run(Workspace.of_process(), "auto").profiles
    columns = {c["name"]: c for c in profiles["train.csv"]["columns"]}
    assert columns["age"]["min"] >= 18 and columns["age"]["max"] <= 89 and columns["color"]["distinct"] == 2


def test_category_labels_are_redacted_like_params(ip, capsys):
    run(ip, "import pandas as pd\nkeys = pd.DataFrame({'k': ['AKIAIOSFODNN7EXAMPLE', 'plain']})")
    run(ip, "%track start secrets --no-auto")
    run(ip, "%track data keys")
    run(ip, "%track stop")
    from jupyter_mlops.app.runs import show_run
    from jupyter_mlops.app.workspace import Workspace

    top = show_run(Workspace.of_process(), "secrets").profiles["keys"]["columns"][0]["top"]
    labels = {label for label, _ in top}
    assert "plain" in labels and "AKIAIOSFODNN7EXAMPLE" not in labels

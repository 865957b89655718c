"""``%track model`` in a live IPython shell: a variable or a path becomes a model version; misuse is one line."""

from __future__ import annotations

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.store import open_store


def test_a_variable_and_a_path_become_versions_with_the_runs_lineage(ip, capsys, tmp_path):
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    (tmp_path / "weights.bin").write_bytes(b"\x01\x02")
    ip.run_cell("%track start m --no-auto")
    ip.run_cell("%track data train.csv")
    ip.run_cell("clf = {'coef': [0.5, 0.25]}")
    ip.run_cell("%track model churn clf")
    ip.run_cell("%track model churn-bin weights.bin --parent churn:latest --version 2.0.0")
    out = capsys.readouterr().out
    assert "Registered model churn:1.0.0 (joblib" in out and "Registered model churn-bin:2.0.0 (file" in out
    ip.run_cell("%track stop")
    assert mlops.load_model("churn:latest") == {"coef": [0.5, 0.25]}
    with open_store(f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}") as store:
        child = store.resolve_model("churn-bin:2.0.0")
        assert child.parents == ("churn:1.0.0",) and child.lineage.data[0].name == "train.csv"


@pytest.mark.parametrize(("source", "needle"), [
    ("%track model churn", "the following arguments are required: VARIABLE_OR_PATH"),
    ("%track model 'bad name' clf", "invalid model name"),
    ("%track model churn nothere.pkl", "model path not found: nothere.pkl"),
    ("%track model churn clf --version 1.x", "invalid model version '1.x'"),
])
def test_misuse_is_one_line_and_registers_nothing(ip, capsys, tmp_path, source, needle):
    ip.run_cell("%track start m --no-auto")
    ip.run_cell("clf = {'coef': 1}")
    result = ip.run_cell(source)
    err = capsys.readouterr().err.strip()
    assert result.error_in_exec is not None and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert needle in err
    ip.run_cell("%track stop")
    with open_store(f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}") as store:
        assert store.model_versions() == []


def test_without_a_run_it_says_so(ip, capsys):
    result = ip.run_cell("%track model churn clf")
    assert result.error_in_exec is not None and "no active run" in capsys.readouterr().err

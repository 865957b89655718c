"""``jupyter-mlops sweep`` here (``--executor local``): usage errors before any kernel, and a 2-point sweep tracked
into a SQLite store and found by its filter (the Dask cases are in test_smoke_dask.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

MLOPS = [sys.executable, "-m", "jupyter_mlops"]
BODY = """
import jupyter_mlops as mlops
with mlops.start_run("point"):
    mlops.log_metric("loss", lr * depth)
"""


def _notebook(path: Path) -> Path:
    params = nbformat.v4.new_code_cell("lr = 0.1\ndepth = 3")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(BODY)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _sweep(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MLOPS, "sweep", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "lr=0.1", "--grid", "width=3"], "unknown parameter width"),
    (["--grid", "depth=3,x"], "parameter depth: 'x' is not a valid int"),
    (["--grid", "lr"], "--grid 'lr': expected NAME=V1,V2,..."),
    (["--grid", "lr=1", "--metric", "loss:down"], "--metric 'loss:down'"),
    (["--grid", "lr=1", "--executor", "yarn://x"], "--executor: expected local or dask://HOST:PORT"),
])
def test_bad_input_is_one_line_exit_2_before_any_kernel(tmp_path: Path, args: list[str], message: str) -> None:
    _notebook(tmp_path / "train.ipynb")
    done = _sweep(tmp_path, "train.ipynb", "--store", f"sqlite:///{tmp_path / 'm.db'}", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".mlops" / "smoke").exists()


@pytest.mark.requires_kernel
def test_a_local_sweep_tracks_each_point_and_ranks_by_the_metric(tmp_path: Path) -> None:
    _notebook(tmp_path / "train.ipynb")
    store = f"sqlite:///{tmp_path / 'm.db'}"
    env_args = ["--store", store, "--output-dir", "out", "-j", "2"]
    done = _sweep(tmp_path, "train.ipynb", "--grid", "depth=2,4", "-p", "lr=0.5", "--metric", "loss:min",
                  "--format", "json", *env_args)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [p["params"] for p in data["points"]] == [{"depth": 2, "lr": 0.5}, {"depth": 4, "lr": 0.5}]
    assert [p["metrics"]["loss"] for p in data["points"]] == [1.0, 2.0]
    assert data["best"] == [0, 1]
    listed = subprocess.run([*MLOPS, "runs", "list", "--store", store, "--filter", data["filter"], "--format", "json"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["id"] for r in json.loads(listed.stdout)["runs"]) == sorted(p["run_id"] for p in data["points"])
    text = _sweep(tmp_path, "train.ipynb", "--grid", "depth=2", "--metric", "loss:min", "--plain", *env_args)
    assert text.returncode == 0, text.stderr
    assert "best by loss (min):" in text.stdout and "1 points: 1 passed, 0 failed" in text.stdout

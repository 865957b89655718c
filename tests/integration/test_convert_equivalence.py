"""THE acceptance test of convert: the converted package, run with the same params, gives the same tracked params
and metrics (and the same printed output) as the notebook executed by papermill.

Each case runs twice in fresh copies of the notebook's folder: papermill in a real kernel, and ``python -m <pkg>``
in a subprocess, each with its own SQLite store (JUPYTER_MLOPS_STORE). Both stores are then read back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.notebooks.convert import convert_notebook, package_name

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "notebooks" / "convert"
EXAMPLES = ROOT / "example_notebooks"

# (notebook, parameters for both executions)
CASES = [
    (FIXTURES / "flow--mutations.ipynb", {"n_items": 5, "labels": ["x"]}),
    (FIXTURES / "flow--functions.ipynb", {"threshold": 0.45}),
    (FIXTURES / "magics--track.ipynb", {}),  # untagged (inferred) parameters: papermill cannot inject
    (EXAMPLES / "01_classifier.ipynb", {"epochs": 3, "learning_rate": 0.05}),
    (EXAMPLES / "02_data_versioning.ipynb", {"data_version": 2, "n_rows": 120}),
    (EXAMPLES / "03_train_script.ipynb", {"epochs": 3}),
    # raw cell, blank lines, display-only expressions, a plot call, a data file read by a relative path and a
    # %%track metrics cell that also assigns non-numbers
    (FIXTURES / "fidelity--cells.ipynb", {"scale": 3.0, "limit": 2}),
]
# lines the magics and %time print for the reader; they are not results
NOISE = ("CPU times:", "Wall time:", "Started run", "Ended run", "Recorded data", "Tags:", "Note saved.")

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow, pytest.mark.timeout(600)]


def _flag(name: str, value: object) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag if value else "--no-" + name.replace("_", "-")]
    return [flag, json.dumps(value) if isinstance(value, (list, dict)) else str(value)]


def _stdout_of_notebook(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    chunks = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = output["text"]
                chunks.append("".join(text) if isinstance(text, list) else text)
    return "".join(chunks)


def _results(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith(NOISE)]


def _tracked(url: str) -> list[dict[str, object]]:
    from jupyter_mlops.store import open_store

    store = open_store(url)
    runs = []
    for run in store.search_runs(order_by=["start_time ASC"]).items:
        metrics = {k: [(m.step, m.value) for m in store.metric_history(run.id, k)] for k in sorted(run.metrics)}
        runs.append({"name": run.name, "experiment": run.experiment, "params": run.params, "metrics": metrics})
    return runs


def _workdir(tmp: Path, notebook: Path, label: str) -> Path:
    work = tmp / label
    work.mkdir()
    for item in notebook.parent.iterdir():  # companion files (train.py) travel along; data stays behind
        if item.is_file() and item.suffix in (".py", ".ipynb", ".csv", ".yaml", ".json"):
            shutil.copy(item, work / item.name)
    return work


def _run_package(package: str, tmp_path: Path, store: str, params: dict) -> subprocess.CompletedProcess:
    """``python -m package --flags`` from an empty folder, with ``tmp_path/src`` on the import path."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    path = os.pathsep.join(filter(None, [str(tmp_path / "src"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "JUPYTER_MLOPS_STORE": store, "PYTHONPATH": path}
    argv = [sys.executable, "-m", package] + [a for k, v in params.items() for a in _flag(k, v)]
    completed = subprocess.run(argv, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert not list(elsewhere.iterdir()), "the package wrote into the folder it was started from"
    return completed


@pytest.mark.parametrize(("notebook", "params"), CASES, ids=[c[0].stem for c in CASES])
def test_package_matches_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notebook: Path, params: dict):
    import papermill

    if not notebook.exists():
        pytest.fail(f"missing notebook {notebook}")
    # Given: the notebook executed by papermill into its own store
    nb_dir = _workdir(tmp_path, notebook, "nb")
    nb_store = f"sqlite:///{tmp_path / 'nb.db'}"
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", nb_store)
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(nb_dir / notebook.name), str(executed), parameters=params, cwd=str(nb_dir),
        kernel_name="python3", progress_bar=False, log_output=False,
    )
    # When: the package converted from a copy of the notebook runs with the same params into another store,
    # started from an unrelated folder (it runs its sections in the notebook's folder, as the kernel did)
    pkg_dir = _workdir(tmp_path, notebook, "pkg")
    result = convert_notebook(pkg_dir / notebook.name, output=tmp_path / "src" / package_name(notebook))
    assert result.notes == []  # no jupytext active markers: the .py must compute what the notebook computes
    completed = _run_package(result.package, tmp_path, f"sqlite:///{tmp_path / 'pkg.db'}", params)
    # Then: the same printed results and the same tracked runs
    assert _results(completed.stdout) == _results(_stdout_of_notebook(executed))
    notebook_runs, package_runs = _tracked(nb_store), _tracked(f"sqlite:///{tmp_path / 'pkg.db'}")
    assert package_runs == notebook_runs
    uses_tracking = "%track" in notebook.read_text(encoding="utf-8") or notebook.name == "03_train_script.ipynb"
    assert bool(notebook_runs) == uses_tracking


def test_active_markers_make_both_py_targets_differ_from_the_notebook_alike(tmp_path, monkeypatch):
    """jupytext ``active`` markers: the notebook computes 1000 * 3, both .py targets (10 + 1) * 3, and say so."""
    import papermill

    notebook = FIXTURES / "active--markers.ipynb"
    work = _workdir(tmp_path, notebook, "work")
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", f"sqlite:///{tmp_path / 'nb.db'}")
    papermill.execute_notebook(
        str(work / notebook.name), str(tmp_path / "executed.ipynb"), cwd=str(work), kernel_name="python3",
        progress_bar=False, log_output=False,
    )
    package = convert_notebook(work / notebook.name, output=tmp_path / "src" / "active_pkg")
    script = convert_notebook(work / notebook.name, to="script", output=tmp_path / "script" / "active.py")
    _run_package("active_pkg", tmp_path, f"sqlite:///{tmp_path / 'pkg.db'}", {})
    env = {**os.environ, "JUPYTER_MLOPS_STORE": f"sqlite:///{tmp_path / 'script.db'}"}
    ran = subprocess.run([sys.executable, str(script.output)], cwd=work, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-3000:]

    def result_metric(db: str) -> list[tuple[int, float]]:
        return _tracked(f"sqlite:///{tmp_path / db}")[0]["metrics"]["result"]

    assert result_metric("nb.db") == [(0, 3000.0)]
    assert result_metric("pkg.db") == result_metric("script.db") == [(0, 33.0)]
    assert package.notes == script.notes == [
        "cell 4 runs only in the notebook (active: ipynb)", "raw cell 5 runs only in the .py (active: py)",
    ]

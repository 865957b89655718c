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

from jupyter_mlops.notebooks.convert import convert_notebook

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


@pytest.mark.parametrize(("notebook", "params"), CASES, ids=[c[0].stem for c in CASES])
def test_package_matches_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notebook: Path, params: dict):
    import papermill

    if not notebook.exists():
        pytest.fail(f"missing notebook {notebook}")
    result = convert_notebook(notebook, output=tmp_path / "converted")
    # Given: the notebook executed by papermill into its own store
    nb_dir = _workdir(tmp_path, notebook, "nb")
    nb_store = f"sqlite:///{tmp_path / 'nb.db'}"
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", nb_store)
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(nb_dir / notebook.name), str(executed), parameters=params, cwd=str(nb_dir),
        kernel_name="python3", progress_bar=False, log_output=False,
    )
    # When: the package runs with the same params into another store
    pkg_dir = _workdir(tmp_path, notebook, "pkg")
    pkg_store = f"sqlite:///{tmp_path / 'pkg.db'}"
    env = {**os.environ, "JUPYTER_MLOPS_STORE": pkg_store, "PYTHONPATH": str(result.output)}
    argv = [sys.executable, "-m", str(result.package)] + [a for k, v in params.items() for a in _flag(k, v)]
    completed = subprocess.run(argv, cwd=pkg_dir, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    # Then: the same printed results and the same tracked runs
    assert _results(completed.stdout) == _results(_stdout_of_notebook(executed))
    notebook_runs, package_runs = _tracked(nb_store), _tracked(pkg_store)
    assert package_runs == notebook_runs
    uses_tracking = "%track" in notebook.read_text(encoding="utf-8") or notebook.name == "03_train_script.ipynb"
    assert bool(notebook_runs) == uses_tracking

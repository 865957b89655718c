"""The example notebooks tell the stories the README promises, executed for real with papermill.

The data-versioning notebook run with two data versions must produce two runs whose comparison shows the
dataset's hash, size and schema change (an added column, a dtype change, more rows) — not just a metric move.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_mlops.app.compare import compare_runs
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]


def _execute(notebook: Path, out: Path, **parameters: object) -> None:
    import papermill

    papermill.execute_notebook(
        str(notebook), str(out), parameters=parameters, cwd=str(notebook.parent), progress_bar=False, log_output=False
    )


def test_data_versioning_compare_shows_hash_size_and_schema_change(tmp_path, monkeypatch):
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(EXAMPLES / "02_data_versioning.ipynb", work)
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))

    _execute(work / "02_data_versioning.ipynb", tmp_path / "v1.ipynb", data_version=1)
    _execute(work / "02_data_versioning.ipynb", tmp_path / "v2.ipynb", data_version=2)

    store = open_store(f"sqlite:///{tmp_path / 'mlops.db'}")
    runs = store.search_runs(order_by=["start_time ASC"]).items
    assert [r.status.value for r in runs] == ["finished", "finished"]
    assert [r.params["data_version"] for r in runs] == [1, 2]
    assert all(any(d.path and d.path.endswith("customers.csv") for d in r.data_inputs) for r in runs)

    comparison = compare_runs(store, BlobStore(tmp_path / "blobs"), [r.id for r in runs]).to_dict()
    data = [d for d in comparison["data"] if d["name"].endswith("customers.csv")]
    assert data and data[0]["differs"]
    change = data[0]["changes"][0]
    assert change["hash_changed"]
    assert change["rows"] == [400, 500]
    assert change["columns_added"] == ["plan"]
    assert {"column": "tenure_months", "from": "int64", "to": "float64"} in change["dtype_changes"]
    assert [p["key"] for p in comparison["params"]] == ["data_version"]
    store.close()

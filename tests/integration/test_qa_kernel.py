"""What a user sees when the magics run in a real kernel started by ``nb-smoke`` (one kernel for all checks).

Found by trying the documented workflow as a new user: ``%track compare`` in a kernel showed every section
twice (rich printed into the notebook as well as into the text it was asked for), and a notebook holding two
cells with the same source was flagged ``cells_rerun`` although each cell ran once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.store import open_store

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
CELLS = [
    "%load_ext jupyter_mlops\n%track start first",
    "lr = 0.1",
    "print(lr)",
    "print(lr)",
    "%track stop",
    "%track start second",
    "%track metric auc=lr",
    "%track stop",
    "%track compare --last 2",
    "%track compare --last 2 --html",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("qa_kernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "qa.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = f"sqlite:///{root / 'mlops.db'}"
    out = subprocess.run(
        [*NB_SMOKE, "qa.ipynb", "-j", "1", "--plain", "-p", "lr=0.5", "--output-dir", "out"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return {"root": root, "notebook": nbformat.read(root / "out" / "qa.ipynb", as_version=4),
            "runs": open_store(env["JUPYTER_MLOPS_STORE"]).search_runs(order_by=["start_time ASC"]).items}


def test_compare_in_a_kernel_is_the_widget_view(executed: dict) -> None:
    cell = next(c for c in executed["notebook"].cells if c.source == "%track compare --last 2")
    assert [o.output_type for o in cell.outputs] == ["display_data"], json.dumps(cell.outputs)[:500]
    assert "application/vnd.jupyter.widget-view+json" in cell.outputs[0].data


def test_compare_html_in_a_kernel_is_one_html_output(executed: dict) -> None:
    cell = next(c for c in executed["notebook"].cells if c.source == "%track compare --last 2 --html")
    assert [o.output_type for o in cell.outputs] == ["display_data"], json.dumps(cell.outputs)[:500]
    html = cell.outputs[0].data["text/html"]
    assert "mlops-compare" in html and "first" in html and "second" in html


def test_smoke_runs_record_path_tag_and_honest_flags(executed: dict) -> None:
    first, second = executed["runs"]
    assert (first.name, second.name) == ("first", "second")
    for run in (first, second):
        assert run.status.value == "finished" and run.tags == ("smoke",)
        assert run.notebook_path == str(executed["root"] / "qa.ipynb") and run.notebook_hash
        # `print(lr)` and `%track stop` stand twice in the notebook and each ran once
        assert run.flags == {"out_of_order": False, "edited_after_run": False, "kernel_restarted": False,
                             "cells_rerun": False}
    assert first.params == {"lr": 0.5} and second.metrics == {"auc": 0.5}


def test_plain_papermill_cli_run_knows_its_notebook(tmp_path: Path) -> None:
    # `papermill in.ipynb out.ipynb` (as in example_notebooks/demo.sh) hands the kernel no context at all
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ("%load_ext jupyter_mlops\n%track start pm", "lr = 0.1",
                                                       "print(lr)", "print(lr)")]
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "pm.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = f"sqlite:///{tmp_path / 'mlops.db'}"
    papermill = [sys.executable, "-m", "papermill", "--no-progress-bar", "--log-level", "WARNING"]
    out = subprocess.run([*papermill, "pm.ipynb", "out.ipynb", "-p", "lr", "0.5"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    store = open_store(env["JUPYTER_MLOPS_STORE"])
    (run,) = store.search_runs().items
    assert run.notebook_path == str(tmp_path / "pm.ipynb") and run.notebook_hash
    assert [(p.value, p.source) for p in store.param_history(run.id, "lr")] == [
        (0.1, "parameters:tagged"), (0.5, "parameters:injected")]
    assert run.flags["cells_rerun"] is False

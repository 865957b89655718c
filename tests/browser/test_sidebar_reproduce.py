"""Reproduce from the run details in real headless Chromium: progress while it runs, then the verdict.

Given the e2e project, a small seeded notebook is tracked by executing it with papermill (the kernel told the
notebook's path, as JupyterLab tells it, so the run keeps its notebook snapshot). One cell waits until the test
creates a file, so the reproduction is certainly running when the test looks at the progress indicator: no
timing decides what the test sees. The user opens the run's details, clicks Reproduce, sees "Executing cell 5 of
8" with the button disabled, lets the cell finish, and sees the verdict "reproduced" with the metric row; "Open
new run" shows the run the reproduction tracked.

Every run this module creates is deleted when it ends, so the tests that count the project's runs
(test_sidebar.py) pass in any order.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from jupyter_mlops.app.runs import delete_runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_store

pytestmark = pytest.mark.requires_browser

SIDEBAR = "#jupyter-mlops-sidebar"
TABLE = "#jupyter-mlops-runs-table"
GATE = "reproduce-gate"
CELLS = [
    "%load_ext jupyter_mlops",
    "seed = 5",
    "%track start repro-demo",
    f"import os, time\nwhile not os.path.exists({GATE!r}):  # the test opens the gate\n    time.sleep(0.05)",
    "import random\nrandom.seed(seed)\nwith open('scores.csv') as f:\n    rows = f.read().split()",
    "score = len(rows) + random.random()\n%track metric score=score",
    "%track stop",
]


@pytest.fixture(scope="module")
def tracked(lab_server):
    """The run ``repro-demo`` (params seed=5, metric score, data scores.csv), tracked by executing the notebook."""
    import papermill

    root = lab_server.project.root
    path = root / "repro-demo.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    (root / "scores.csv").write_text("value\n1\n2\n3\n")
    (root / GATE).write_text("open")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({k: v for k, v in saved.items() if not k.startswith("JUPYTER_MLOPS_")})
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{saved.get('PATH', '')}"
    os.environ["JPY_SESSION_NAME"] = str(path)  # what jupyter_server tells a kernel: the run keeps its notebook
    try:
        papermill.execute_notebook(str(path), str(root / "repro-demo-out.ipynb"), cwd=str(root), progress_bar=False,
                                   kernel_name="python3")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (root / GATE).unlink()
    with open_store(lab_server.project.store_url, create=False) as store:
        (run,) = store.search_runs(filter='name = "repro-demo"').items
    assert run.notebook_hash and run.metrics.keys() == {"score"}
    yield run
    settings = load_settings(start=root, environ={})
    with open_store(lab_server.project.store_url, create=False) as store:
        ids = [run.id] + [r.id for r in store.search_runs(filter=f'reproduction_of = "{run.id}"').items]
    with Workspace.from_settings(settings) as workspace:
        delete_runs(workspace, ids)


def test_reproduce_shows_progress_then_the_verdict(page, lab_server, tracked, screenshot):
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    row = page.locator(f"{SIDEBAR} .jp-Mlops-row[data-run-id='{tracked.id}']")
    expect(row).to_be_visible(timeout=20_000)
    row.click(position={"x": 60, "y": 12})
    details = page.locator(f"{TABLE} .jp-Mlops-details[data-run-id='{tracked.id}']")
    expect(details).to_be_visible(timeout=20_000)
    button = details.locator(".jp-Mlops-reproduceButton")
    button.click()

    # Cell 5 (the injected parameters are cell 3) waits for the gate: the job runs it until the test opens it.
    progress = details.locator(".jp-Mlops-reproduceProgress")
    expect(progress).to_contain_text("Executing cell 5 of 8", timeout=120_000)
    expect(button).to_be_disabled()
    expect(progress.locator("progress")).to_be_visible()
    (lab_server.project.root / GATE).write_text("open")

    verdict = details.locator(".jp-Mlops-verdict")
    expect(verdict).to_have_attribute("data-outcome", "reproduced", timeout=120_000)
    expect(verdict.locator(".jp-Mlops-verdictHeadline")).to_have_text("Reproduced (top to bottom)")
    metric = verdict.locator("tr[data-metric=score]")
    expect(metric.locator("td")).to_have_count(3)
    original = f"{tracked.metrics['score']:.12g}"
    expect(metric.locator("td")).to_have_text([original, original, "exact"])
    expect(button).to_be_enabled()
    screenshot(details.locator(".jp-Mlops-section", has=page.locator(".jp-Mlops-reproduce")), "reproduce-verdict.png")

    with open_store(lab_server.project.store_url, create=False) as store:
        (new,) = store.search_runs(filter=f'reproduction_of = "{tracked.id}"').items
    assert new.metrics == tracked.metrics and "reproduction" in new.tags
    verdict.locator(".jp-Mlops-openReproduction").click()
    expect(page.locator(f"{TABLE} .jp-Mlops-details[data-run-id='{new.id}']")).to_be_visible(timeout=20_000)
    assert page.errors == []

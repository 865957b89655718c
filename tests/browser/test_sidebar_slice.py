""""Show producing cells" in real headless Chromium: a metric's slice in the run details, then opened as a notebook.

Given a run of the e2e project whose code snapshot holds executed cells (written through the store and blob API,
as a kernel records them: a dead end, an edited and re-executed cell, a list mutated by a later cell, an ``exec``
of built code), the user opens the run's details, clicks "Show producing cells" on the metric ``total`` and sees
exactly the cells that produced it, as they ran, in execution order, with the slicer's doubt about the ``exec``
cell; "Open as new notebook" creates a notebook in the file browser's folder holding the slice's clean cells and
opens it. With the setting "Mark dead-end cells" on, opening the run's notebook marks its one dead end.

The run and the notebook this module creates are deleted when it ends, so the tests that count the project's
runs (test_sidebar.py) pass in any order.
"""

from __future__ import annotations

import json
import urllib.request

import nbformat
import pytest
from playwright.sync_api import expect
from sliceable_run import CELLS, add_sliceable_run

from jupyter_mlops.app.runs import delete_runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings

pytestmark = pytest.mark.requires_browser

SIDEBAR = "#jupyter-mlops-sidebar"
TABLE = "#jupyter-mlops-runs-table"
KEPT = [1, 2, 6, 7, 8, 9]  # execution counts of the producing cells: the dead end and the first versions dropped
EMITTED = ["factor = 3", "import jupyter_mlops as mlops", "mlops.start_run()", "values = [1, 2, 3]",
           "values.append(4)", "exec(''.join(['side', ' = 1']))",
           "total = sum(values) * factor\nmlops.log_metrics({'total': total})"]


@pytest.fixture(scope="module")
def sliced(lab_server):
    """The run ``slice-demo`` (metric total = 30) with the executed cells of tests/sliceable_run.py; deleted after."""
    root = lab_server.project.root
    settings = load_settings(start=root, environ={})
    run_id = add_sliceable_run(root, "slice-demo", experiment="demo")
    before = set(root.glob("*.ipynb"))
    yield run_id
    for path in set(root.glob("*.ipynb")) - before:
        path.unlink()
    with Workspace.from_settings(settings) as workspace:
        delete_runs(workspace, [run_id])


@pytest.fixture(autouse=True)
def _forget_open_notebooks(lab_server):
    """Forget the lab's open tabs after each test: restored, they replace the launcher the next page waits for."""
    yield
    _call(lab_server, "DELETE", "/lab/api/workspaces/default")


def test_show_producing_cells_then_open_them_as_a_notebook(page, lab_server, sliced, screenshot):
    root = lab_server.project.root
    before = set(root.glob("*.ipynb"))
    page.set_viewport_size({"width": 1440, "height": 1800})  # the whole list fits the screenshot
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    row = page.locator(f"{SIDEBAR} .jp-Mlops-row[data-run-id='{sliced}']")
    expect(row).to_be_visible(timeout=20_000)
    row.click(position={"x": 60, "y": 12})
    details = page.locator(f"{TABLE} .jp-Mlops-details[data-run-id='{sliced}']")
    expect(details).to_be_visible(timeout=20_000)

    metric = details.locator(".jp-Mlops-sliceMetric[data-metric=total]")
    metric.get_by_role("button", name="Show producing cells of total").click()
    cells = metric.locator(".jp-Mlops-sliceCell")
    expect(cells).to_have_count(len(KEPT), timeout=20_000)
    expect(cells.locator(".jp-Mlops-sliceCount")).to_have_text([f"In [{n}]" for n in KEPT])
    by_count = {cell["execution_count"]: cell["source"] for cell in CELLS}
    sources = cells.locator(".jp-Mlops-sliceSource").all_inner_texts()
    assert [text.rstrip("\n") for text in sources] == [by_count[n] for n in KEPT]
    expect(metric.locator(".jp-Mlops-sliceUnsure")).to_have_text(["⚠ kept, unsure: `exec` of code built at run time"])
    expect(metric.locator(".jp-Mlops-sliceSummary")).to_have_text(
        "6 of 9 executed cells produced metric total; 1 kept because the analysis could not be sure")
    metric.scroll_into_view_if_needed()
    screenshot(metric, "slice-cells.png")

    metric.get_by_role("button", name="Open as new notebook").click()
    status = metric.locator(".jp-Mlops-sliceCells .jp-Mlops-saveStatus")
    expect(status).to_have_text("Opened Untitled.ipynb", timeout=60_000)
    notebook = page.locator(".jp-NotebookPanel:visible")
    expect(page.locator(".jp-mod-current .lm-TabBar-tabLabel, .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
           .filter(has_text="Untitled.ipynb").first).to_be_visible(timeout=30_000)
    editors = notebook.locator(".jp-CodeCell .jp-InputArea-editor .cm-content")
    expect(editors).to_have_count(len(EMITTED), timeout=30_000)
    assert [text.replace("\u200b", "") for text in editors.all_inner_texts()] == EMITTED
    (created,) = set(root.glob("*.ipynb")) - before
    saved = json.loads(created.read_text())
    code = ["".join(cell["source"]) for cell in saved["cells"] if cell["cell_type"] == "code"]
    assert created.name == "Untitled.ipynb" and code == EMITTED
    assert saved["cells"][0]["cell_type"] == "markdown" and "Slice of run 'slice-demo'" in "".join(
        saved["cells"][0]["source"])
    assert page.errors == []


def _call(lab_server, method: str, path: str, body: dict | None = None) -> None:
    request = urllib.request.Request(f"{lab_server.url}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"token {lab_server.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 204)


def _settings(lab_server, raw: dict) -> None:
    _call(lab_server, "PUT", "/lab/api/settings/jupyter-mlops:plugin", {"raw": json.dumps(raw)})


def test_mark_dead_end_cells_marks_the_cells_in_no_slice(page, lab_server, sliced):
    root = lab_server.project.root
    nb = nbformat.v4.new_notebook()
    latest = {cell["cell_id"]: cell["source"] for cell in CELLS}  # each cell as it is now: its last version
    nb.cells = [nbformat.v4.new_markdown_cell("# Slice demo")]
    for cell_id, source in latest.items():
        nb.cells.append(nbformat.v4.new_code_cell(source))
        nb.cells[-1]["id"] = cell_id
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "slice-demo.ipynb")
    _settings(lab_server, {"markDeadEnds": True})
    try:
        page.goto(f"{lab_server.url}/lab/tree/slice-demo.ipynb?token={lab_server.token}")
        cells = page.locator(".jp-NotebookPanel:visible .jp-Cell")
        expect(cells).to_have_count(len(latest) + 1, timeout=60_000)
        dead = page.locator(".jp-NotebookPanel:visible .jp-Cell.jp-Mlops-deadEnd")
        expect(dead).to_have_count(1, timeout=30_000)
        expect(dead.locator(".cm-content")).to_have_text("plot = sum(values) * 100plot")
        assert page.errors == []
    finally:
        _settings(lab_server, {})

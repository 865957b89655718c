"""Runs made while JupyterLab is open: the sidebar and the status bar follow them without a Refresh click.

Issue 9, items 23 and 24. A notebook opened in the lab starts a run (the kernel records the notebook's absolute
path, JupyterLab knows it relative to the server root): the status bar shows the run and "Open run in
Experiments" opens it in the runs table. Stopping it and a run made by a script outside the lab both appear in
the open sidebar by themselves. This module runs after test_sidebar.py (which counts two runs) and removes the
runs it made.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from playwright.sync_api import expect

from jupyter_mlops.store import open_store

pytestmark = pytest.mark.requires_browser

SIDEBAR = "#jupyter-mlops-sidebar"
TABLE = "#jupyter-mlops-runs-table"
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
ROWS = f"{SIDEBAR} .jp-Mlops-row[data-run-id]"


def _notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%track start live-run"),
                nbformat.v4.new_code_cell("acc = 0.5"),
                nbformat.v4.new_code_cell("%track stop")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _run_cell(page, index: int) -> None:
    cell = page.locator(CELLS).nth(index)
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text("[" + str(index + 1) + "]:", timeout=60_000)


def _command(page, label: str) -> None:
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    palette.fill(label)
    page.locator(".lm-CommandPalette-item:not(.lm-mod-disabled)", has_text=label).first.click()


def test_status_bar_and_new_runs_without_refresh(page, lab_server, screenshot):
    root = lab_server.project.root
    sub = root / "live"
    sub.mkdir(exist_ok=True)
    _notebook(sub / "live.ipynb")  # in a subfolder: its relative and absolute paths differ by more than "/"
    with open_store(lab_server.project.store_url, create=False) as store:
        before = {r.id for r in store.search_runs(limit=100).items}

    workspace = f"{lab_server.url}/lab/workspaces/sidebar-live"
    page.goto(f"{workspace}/tree/live/live.ipynb?token={lab_server.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    expect(page.locator(ROWS)).to_have_count(len(before), timeout=20_000)

    try:
        # The kernel stores /…/project/live/live.ipynb; the status bar still finds the run.
        _run_cell(page, 0)
        status = page.locator("#jp-main-statusbar .jp-Mlops-statusText")
        expect(status).to_contain_text("live-run", timeout=20_000)
        with open_store(lab_server.project.store_url, create=False) as store:
            live = next(r for r in store.search_runs(limit=100).items if r.id not in before)
        assert live.notebook_path == str(sub / "live.ipynb")  # absolute, as the kernel knows it

        _command(page, "Open run in Experiments")
        expect(page.locator(f"{TABLE} .jp-Mlops-details")).to_contain_text("live-run", timeout=20_000)
        expect(page.locator(f"{TABLE} .jp-Mlops-row.jp-mod-active")).to_have_attribute("data-run-id", live.id)

        # Finishing the run in the notebook: the sidebar shows it finished, no Refresh click.
        page.locator(".jp-NotebookPanel .lm-TabBar-tab, .lm-DockPanel-tabBar .lm-TabBar-tab",
                     has_text="live.ipynb").first.click()
        _run_cell(page, 1)
        _run_cell(page, 2)
        row = page.locator(f"{SIDEBAR} .jp-Mlops-row[data-run-id='{live.id}']")
        expect(row.locator(".jp-Mlops-status-finished")).to_have_count(1, timeout=20_000)

        # A run made by a script outside the lab appears in the open sidebar by polling.
        script = "import jupyter_mlops as m\nwith m.start_run(name='from-script'):\n    m.log_metric('cv_auc', 0.7)\n"
        subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
        expect(page.locator(ROWS)).to_have_count(len(before) + 2, timeout=30_000)
        expect(page.locator(ROWS).first.locator("[data-key=name]")).to_contain_text("from-script")
        screenshot(page, "sidebar-live.png")
        assert page.errors == []
    finally:
        with open_store(lab_server.project.store_url, create=False) as store:
            for run in store.search_runs(limit=100).items:
                if run.id not in before:
                    store.delete_run(run.id)

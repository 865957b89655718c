"""The README's notebook flow in real JupyterLab + Chromium: ``%track compare`` renders without killing the tab.

The notebook (tests/data/notebooks/lab/track_compare.ipynb) starts a run, logs a metric with steps, stops and
runs ``%track compare --last 2``. It lives in its own project folder (its own pyproject.toml, so its own store),
apart from the runs the sidebar tests count. Run All once: one run exists, so the output shows that run and says
a second is needed, without an error. Run All again: the compare view draws its Vega-Lite charts. Before the fix,
the charts' ``"width": "container"`` had no definite width to measure in notebook output, Vega kept resizing and
the tab hung and crashed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.requires_browser

NOTEBOOK = Path(__file__).resolve().parents[1] / "data" / "notebooks" / "lab" / "track_compare.ipynb"
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def _wait_all_executed(page, runs: int) -> None:
    # Each Run All numbers the 4 cells anew: the last cell shows [4 * runs] once the whole notebook ran.
    prompt = page.locator(f"{CELLS}").last.locator(".jp-InputPrompt")
    expect(prompt).to_have_text(f"[{4 * runs}]:", timeout=120_000)


def _alive(page) -> None:
    # A hung renderer cannot answer; a crashed one raises. Either fails here instead of hanging the suite.
    page.wait_for_function("() => document.readyState === 'complete'", timeout=15_000)


def test_track_compare_in_a_notebook(page, lab_server, screenshot):
    project = lab_server.project.root / "compare-flow"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text('[project]\nname = "compare-flow"\nversion = "0"\n')
    shutil.copyfile(NOTEBOOK, project / "train.ipynb")
    crashes: list[str] = []
    page.on("crash", lambda *_: crashes.append("crashed"))

    # A workspace of its own: the default one would reopen this notebook instead of the launcher in later tests.
    workspace = f"{lab_server.url}/lab/workspaces/notebook-compare"
    page.goto(f"{workspace}/tree/compare-flow/train.ipynb?token={lab_server.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    # Run All is only wired to the notebook once its kernel is up.
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
    page.locator(CELLS).first.locator(".jp-InputPrompt").click()

    # First Run All: one run only. The last cell says so, without a red error.
    _run_all(page)
    _wait_all_executed(page, 1)
    last = page.locator(CELLS).last
    expect(last.locator(".jp-OutputArea")).to_contain_text("a second run is needed", timeout=30_000)
    expect(last.locator(".jp-OutputArea")).to_contain_text("loss")  # the one run, as %track show has it
    expect(page.locator(f"{CELLS} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")) \
        .to_have_count(0)
    expect(page.locator(f"{CELLS} .jp-OutputArea-output .jp-RenderedText[data-mime-type="
                        "'application/vnd.jupyter.error']")).to_have_count(0)

    # Second Run All: two runs, so the compare widget with its metric chart.
    _run_all(page)
    _wait_all_executed(page, 2)
    last = page.locator(CELLS).last
    last.get_by_role("tab", name="Metrics").click()
    chart = last.locator(".vega-embed canvas, .vega-embed svg").first
    expect(chart).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1_000)  # a resize loop shows within a second: the chart would keep growing
    _alive(page)
    assert crashes == []
    first = chart.bounding_box()
    page.wait_for_timeout(500)
    second = chart.bounding_box()
    output = last.locator(".jp-OutputArea").first.bounding_box()
    assert first and second and output
    assert first["width"] > 0 and first["height"] > 0
    assert second["width"] == first["width"], "the chart keeps resizing itself"
    assert first["width"] <= output["width"], "the chart is wider than the notebook output"
    last.scroll_into_view_if_needed()
    screenshot(page, "notebook-compare.png")
    assert page.errors == []

"""Metrics on slices in the sidebar's compare view, in real headless Chromium (issue 12, ADR-070).

Given the e2e project, two runs log ``auc`` overall and per region through the public Python API: the candidate is
better overall and on US and APAC but worse on EU. The user selects both in the Experiments sidebar and compares
them: the slice table shows one row per region with both runs' values and the deltas, marks EU (and only EU) as
worse, and names it in the line above the table. The runs are deleted when the module ends, so the tests that
count the project's runs (test_sidebar.py) pass in any order.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sidebar_steps import compare_in_sidebar

import jupyter_mlops as mlops
from jupyter_mlops.app.runs import delete_runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_from_settings
from jupyter_mlops.tracking import context, fluent

pytestmark = pytest.mark.requires_browser

#: (run name, overall auc, auc by region): the older run is the compare view's baseline.
RUNS = (
    ("slices-champion", 0.90, {"APAC": 0.85, "EU": 0.88, "US": 0.91}),
    ("slices-candidate", 0.93, {"APAC": 0.86, "EU": 0.8, "US": 0.95}),
)


@pytest.fixture(scope="module")
def sliced_runs(lab_server):
    """The champion's and the candidate's run ids, in start order."""
    settings = load_settings(start=lab_server.project.root, environ={})
    store, blobs = open_from_settings(settings)
    run_ids = []
    try:
        for name, overall, by_region in RUNS:
            with mlops.start_run(name, store=store, blobs=blobs, auto_capture=False) as run:
                run.log_metric("auc", overall)
                for region, value in by_region.items():
                    run.log_metric("auc", value, slice={"region": region})
            run_ids.append(run.id)
            time.sleep(0.01)  # distinct start times: the sidebar orders the compared runs by them
    finally:
        fluent.end_run()
        context.drain()
        store.close()
    yield run_ids
    with Workspace.from_settings(settings) as workspace:
        delete_runs(workspace, run_ids)


def test_compare_view_shows_each_slice_and_names_the_worse_one(page, sliced_runs, screenshot):
    compare_in_sidebar(page, sliced_runs)

    table = page.locator(".jp-Mlops-compare [data-section=slices]")
    expect(table).to_be_visible(timeout=20_000)
    header = table.locator("thead th")
    expect(header.nth(2)).to_contain_text("slices-champion")  # the baseline's column first
    expect(header.nth(3)).to_contain_text("slices-candidate")
    rows = table.locator("tbody tr[data-metric=auc]")
    expect(rows).to_have_count(3)
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.slice)") == ["region=APAC", "region=EU", "region=US"]
    expect(rows.nth(0).locator("th")).to_have_text("auc")  # the metric heads its group of slice rows
    expected = {  # per slice: the baseline's value, then the candidate's with its delta, and how it stands
        "region=APAC": ("0.85", "0.86 (+0.01)", "better"),
        "region=EU": ("0.88", "0.8 (-0.08)", "worse"),
        "region=US": ("0.91", "0.95 (+0.04)", "better"),
    }
    for label, (base, candidate, standing) in expected.items():
        cells = table.locator(f"tr[data-slice='{label}'] td")
        expect(cells).to_have_text([label, base, candidate])
        expect(cells.nth(1)).to_have_attribute("data-standing", "same")
        expect(cells.nth(2)).to_have_attribute("data-standing", standing)
    expect(table.locator("td[data-standing=worse]")).to_have_count(1)
    expect(table.locator(".jp-Mlops-sliceWatch")).to_have_text(
        "Worse than the baseline or not measured on: auc [region=EU]")
    # The overall metric stays in the metrics table, where the candidate is the better run.
    expect(page.locator(".jp-Mlops-compare [data-section=metrics]")).to_contain_text("0.93")
    screenshot(table, "compare-slices.png")
    assert page.errors == []
    # Close the tab, so nothing on the page refers to the runs this module deletes when it ends.
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="slices-champion vs slices-candidate")
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(page.locator(".jp-Mlops-compare")).to_have_count(0)

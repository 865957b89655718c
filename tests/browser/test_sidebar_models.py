"""The Models view in real headless Chromium: a version's lineage picture shows data -> run -> model.

Given the e2e project, a model version is registered through the public Python API (a run that read a CSV logs
``churn-model``; a second version names the first as its parent), and a champion alias is set with a note made of
markup. The user opens Models from the Experiments sidebar, picks the model, opens the newest version's lineage
and sees the data input, the run, the model version and its parent in the picture; the note shows as text.

The two runs are deleted when the module ends (their versions keep the recorded lineage), so the tests that count
the project's runs (test_sidebar.py) pass in any order.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import jupyter_mlops as mlops
from jupyter_mlops.app import models
from jupyter_mlops.app.runs import delete_runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_from_settings
from jupyter_mlops.tracking import context, fluent

pytestmark = pytest.mark.requires_browser

SIDEBAR = "#jupyter-mlops-sidebar"
MODELS = "#jupyter-mlops-models"
NOTE = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def registered(lab_server):
    """churn-model 1.0.0 (run lineage-one on data/churn.csv) and 1.1.0 (run lineage-two, parent 1.0.0)."""
    root = lab_server.project.root
    settings = load_settings(start=root, environ={})
    data = root / "data" / "churn.csv"
    data.parent.mkdir(exist_ok=True)
    store, blobs = open_from_settings(settings)
    run_ids = []
    try:
        for rows, run_name in ((["a,b", "1,2"], "lineage-one"), (["a,b", "1,2", "3,4"], "lineage-two")):
            data.write_text("\n".join(rows) + "\n")
            with mlops.start_run(run_name, store=store, blobs=blobs, auto_capture=False) as run:
                run.log_data(str(data), name="churn-data")
                run.log_metric("auc", 0.81)
                run.log_model({"rows": len(rows)}, "churn-model",
                              parents=["churn-model:latest"] if run_name == "lineage-two" else ())
            run_ids.append(run.id)
    finally:
        fluent.end_run()
        context.drain()
        store.close()
    with Workspace.from_settings(settings) as workspace:
        models.set_alias(workspace, "churn-model:1.0.0", "champion", force=True, reason="e2e: no code recorded",
                         note=NOTE)
        models.set_stage(workspace, "churn-model:1.0.0", "production", force=True, reason="e2e: no code recorded")
    yield
    with Workspace.from_settings(settings) as workspace:
        delete_runs(workspace, run_ids)


def test_models_view_draws_the_lineage_of_a_version(page, registered, screenshot):
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    page.locator(SIDEBAR).get_by_role("button", name="Open models").click()
    view = page.locator(MODELS)
    view.locator("tr[data-model='churn-model']").click()
    expect(view.locator("tr[data-version]")).to_have_count(2, timeout=20_000)
    expect(view.locator("tr[data-version='1.0.0']")).to_contain_text("champion")
    expect(view.locator("tr[data-version='1.0.0']")).to_contain_text("production")
    expect(view.locator(".jp-Mlops-modelHistory")).to_contain_text(NOTE)  # markup shown as text

    view.locator("tr[data-version='1.1.0'] .jp-Mlops-lineageButton").click()
    picture = view.locator("svg.jp-Mlops-lineage")
    expect(picture).to_be_visible(timeout=20_000)
    expect(picture.locator("[data-kind=data]")).to_have_count(2)  # one data box per version block
    expect(picture.locator("[data-kind=data]").first).to_contain_text("churn-data")
    expect(picture.locator("[data-kind=run]").first).to_contain_text("lineage-two")
    expect(picture.locator("[data-kind=model]").first).to_contain_text("churn-model:1.1.0")
    expect(picture.locator("[data-kind=model]").nth(1)).to_contain_text("churn-model:1.0.0")
    expect(picture.locator("[data-kind=model]").nth(1)).to_contain_text("production, champion")
    expect(picture.locator("[data-kind=run]").nth(1)).to_contain_text("lineage-one")
    expect(picture.locator("path.jp-Mlops-lineageEdge")).to_have_count(5)  # 2 data->run, 2 run->model, parent
    assert page.locator(f"{MODELS} img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    screenshot(view, "models-lineage.png")
    assert page.errors == []


def test_models_view_sets_an_alias_refused_then_forced_with_a_reason(page, registered, lab_server, screenshot):
    # The e2e runs recorded no code, so the registry refuses to promote 1.1.0 until it is forced with a reason.
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    page.locator(SIDEBAR).get_by_role("button", name="Open models").click()
    view = page.locator(MODELS)
    view.locator("tr[data-model='churn-model']").click()
    view.locator("tr[data-version='1.1.0'] .jp-Mlops-changeButton").click(timeout=20_000)
    form = view.locator(".jp-Mlops-modelChange")
    form.locator(".jp-Mlops-aliasInput").fill("challenger")
    form.locator(".jp-Mlops-applyChange").click()
    expect(form.locator(".jp-Mlops-changeStatus")).to_contain_text("lineage incomplete", timeout=20_000)
    expect(view.locator("tr[data-version='1.1.0']")).not_to_contain_text("challenger")

    form.locator(".jp-Mlops-forceInput").check()
    form.locator(".jp-Mlops-reasonInput").fill("e2e: trial on the new rows")
    form.locator(".jp-Mlops-stageSelect").select_option("staging")
    form.locator(".jp-Mlops-applyChange").click()
    expect(form.locator(".jp-Mlops-changeStatus")).to_have_text("Saved", timeout=20_000)
    expect(view.locator("tr[data-version='1.1.0']")).to_contain_text("challenger")
    expect(view.locator("tr[data-version='1.1.0']")).to_contain_text("staging")
    expect(view.locator(".jp-Mlops-modelHistory")).to_contain_text("e2e: trial on the new rows")
    settings = load_settings(start=lab_server.project.root, environ={})
    with Workspace.from_settings(settings) as workspace:
        last_two = models.model_history(workspace, "churn-model")[-2:]
    assert [(e.change, e.to_value, e.forced) for e in last_two] == [("alias", "1.1.0", True),
                                                                     ("stage", "staging", True)]
    screenshot(view, "models-change.png")
    assert page.errors == []

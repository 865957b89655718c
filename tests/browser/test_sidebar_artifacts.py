"""Local-module and artifact diffs in the sidebar's compare view, in real headless Chromium (issue 14, ADR-102/104).

Given the e2e project, two runs log the same four artifacts through the public Python API, each changed between
them: a text file, a JSON file, a CSV table and a PNG image; their code snapshots record two versions of the
project's module ``features.py``, as a kernel records them. The user compares the runs from the Experiments
sidebar: the module's source diff follows the code section's cells; "Diff artifacts" shows the text as a unified
diff, the JSON by path, the table by column statistics, and the image with its changed-pixel share and a
side-by-side picture. The runs are deleted when the
module ends, so the tests that count the project's runs (test_sidebar.py) pass in any order.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

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



def _artifacts(folder: Path, version: int) -> list[Path]:
    """notes.txt, config.json, scores.csv and plot.png as run ``version`` (1 or 2) wrote them."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text(f"model notes\nlearning rate {0.01 * version}\n")
    (folder / "config.json").write_text(json.dumps({"lr": 0.01 * version, "layers": [8, 4 * version]}))
    (folder / "scores.csv").write_text("fold,auc\n" + "".join(f"{i},{0.8 + i * version / 100}\n" for i in range(4)))
    image = Image.new("RGB", (20, 10), "white")
    for x in range(5 * version):  # run 2 paints five more pixels of the top row
        image.putpixel((x, 0), (200, 0, 0))
    image.save(folder / "plot.png")
    return [folder / name for name in ("notes.txt", "config.json", "scores.csv", "plot.png")]


@pytest.fixture(scope="module")
def artifact_runs(lab_server, tmp_path_factory):
    """The baseline's and the candidate's run ids, in start order."""
    settings = load_settings(start=lab_server.project.root, environ={})
    store, blobs = open_from_settings(settings)
    run_ids = []
    try:
        for version in (1, 2):
            with mlops.start_run(f"artifacts-v{version}", store=store, blobs=blobs, auto_capture=False) as run:
                for path in _artifacts(tmp_path_factory.mktemp(f"v{version}"), version):
                    run.log_artifact(path)
            source = f"def scale(x):\n    return x * {version}\n".encode()
            module = {"name": "features", "path": "features.py", "file": "features.py",
                      "hash": blobs.put_bytes(source), "size": len(source)}
            code = {"version": 1, "cells": [], "modules": [module]}
            store.update_run(run.id, code_hash=blobs.put_json(code))
            run_ids.append(run.id)
            time.sleep(0.01)  # distinct start times: the sidebar orders the compared runs by them
    finally:
        fluent.end_run()
        context.drain()
        store.close()
    yield run_ids
    with Workspace.from_settings(settings) as workspace:
        delete_runs(workspace, run_ids)


def test_compare_view_diffs_local_modules_and_each_kind_of_artifact(page, artifact_runs, screenshot):
    compare_in_sidebar(page, artifact_runs)

    module = page.locator(".jp-Mlops-compare .jp-Mlops-moduleChange[data-module=features]")
    expect(module).to_contain_text("local module features (features.py) changed", timeout=20_000)
    expect(module.locator(".jp-Mlops-diffLine.jp-mod-removed")).to_have_text("-    return x * 1")
    expect(module.locator(".jp-Mlops-diffLine.jp-mod-added")).to_have_text("+    return x * 2")
    screenshot(page.locator(".jp-Mlops-compare [data-section=code]"), "compare-modules.png")

    section = page.locator(".jp-Mlops-compare [data-section=artifacts]")
    expect(section).to_be_visible(timeout=20_000)
    section.get_by_role("button", name="Diff artifacts").click()
    items = section.locator(".jp-Mlops-artifactDiff")
    expect(items).to_have_count(4, timeout=20_000)
    text = section.locator("[data-artifact='notes.txt']")
    expect(text).to_contain_text("-learning rate 0.01")
    expect(text).to_contain_text("+learning rate 0.02")
    config = section.locator("[data-artifact='config.json']")
    expect(config).to_contain_text("~ $.lr: 0.01 → 0.02")
    expect(config).to_contain_text("~ $.layers[1]: 4 → 8")
    table = section.locator("[data-artifact='scores.csv']")
    expect(table).to_contain_text("rows 4 → 4")
    expect(table.locator("tr[data-column=auc] th")).to_have_text("auc")
    image = section.locator("[data-artifact='plot.png']")
    expect(image).to_contain_text("5 of 200 pixels changed (2.50%)")
    picture = image.locator("img.jp-Mlops-artifactImage")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")  # the PNG decoded
    screenshot(section, "compare-artifacts.png")
    assert page.errors == []
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="artifacts-v1 vs artifacts-v2")
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(page.locator(".jp-Mlops-compare")).to_have_count(0)

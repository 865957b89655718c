"""Sweeps and local-only runs in real headless Chromium against a JupyterLab whose project has a team remote.

The project (its own JupyterLab, ``JUPYTER_MLOPS_REMOTE`` pointing at a second SQLite file) holds the six runs of a
sweep (tags ``sweep``, ``sweep:<id>``, ``sweep-point:<n>``; lr x depth; ``auc``) and one run already pushed to the
remote. The sidebar marks the six as local-only and not the pushed one, also in a run's details. Filtering
``sweep = "<id>"``, selecting every run and comparing them shows the compare view's Sweep section: one
parallel-coordinates line and one scatter point per run, the best run highlighted.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyter_process import jupyter_process
from playwright.sync_api import expect

from jupyter_mlops.app import sync
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_from_settings

pytestmark = pytest.mark.requires_browser

SIDEBAR = "#jupyter-mlops-sidebar"
TABLE = "#jupyter-mlops-runs-table"
SWEEP = "20261207-0942-e2e0ff"
GRID = [(lr, depth) for lr in (0.01, 0.1, 0.3) for depth in (3, 5)]


def _settings_dir(base: Path) -> Path:
    folder = base / "settings" / "@jupyterlab" / "apputils-extension"  # no news toast over the screenshot
    folder.mkdir(parents=True)
    (folder / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                         "checkForUpdates": False}))
    return base / "settings"


def auc(lr: float, depth: int) -> float:
    return round(0.6 + lr + depth / 100, 4)  # best: lr 0.3, depth 5


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """This module's own JupyterLab: a project with a sweep's runs, one pushed run, and a configured remote."""
    root = tmp_path_factory.mktemp("sweep-project")
    (root / "pyproject.toml").write_text('[project]\nname = "sweep-e2e"\nversion = "0"\n')
    remote = f"sqlite:///{root.parent / (root.name + '-team.db')}"
    settings = load_settings(start=root, environ={"JUPYTER_MLOPS_REMOTE": remote})
    store, blobs = open_from_settings(settings)
    with Workspace.wrapping(store, blobs, settings) as workspace:
        pushed = store.create_run(name="pushed", tags=["baseline"])
        store.log_metric(pushed.id, "auc", 0.5)
        store.end_run(pushed.id)
        sync.sync(workspace, "push", filter_text='name = "pushed"')
        for point, (lr, depth) in enumerate(GRID):
            run = store.create_run(name=f"sweep-{point}", tags=["sweep", f"sweep:{SWEEP}", f"sweep-point:{point}"])
            store.log_params(run.id, {"lr": lr, "depth": depth, "epochs": 5})
            store.log_metric(run.id, "auc", auc(lr, depth))
            store.end_run(run.id)
    base = tmp_path_factory.mktemp("sweep-lab")
    extensions = base / "labextensions"
    extensions.mkdir()
    built = Path(__file__).resolve().parents[2] / "jupyter_mlops" / "labextension"
    (extensions / "jupyter-mlops").symlink_to(built, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env = {**env, "JUPYTER_MLOPS_REMOTE": remote, "JUPYTERLAB_SETTINGS_DIR": str(_settings_dir(base)),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"), "JUPYTER_CONFIG_DIR": str(base / "config")}
    options = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.extra_labextensions_path={extensions}",
               "--ServerApp.jpserver_extensions={'jupyter_mlops': True}"]
    with jupyter_process([sys.executable, "-m", "jupyterlab"], root=root, env=env, log=base / "lab.log",
                         options=options, ready_within=60) as lab:
        yield SimpleNamespace(url=lab.url, token=lab.token, project=SimpleNamespace(root=root,
                                                                                       store_url=settings.store_url))


def test_local_only_badge_and_the_sweep_charts(page, screenshot):
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    rows = page.locator(f"{SIDEBAR} .jp-Mlops-row[data-run-id]")
    expect(rows).to_have_count(7, timeout=20_000)
    # The sweep's runs were never pushed; the pushed run has no badge.
    expect(page.locator(f"{SIDEBAR} .jp-Mlops-localBadge")).to_have_count(6)
    pushed = rows.filter(has_text="pushed")
    expect(pushed.locator(".jp-Mlops-localBadge")).to_have_count(0)
    badge = rows.filter(has_text="sweep-0").locator(".jp-Mlops-localBadge")
    expect(badge).to_have_attribute("title", "Local only: not yet pushed to the team store (jupyter-mlops sync push)")
    rows.filter(has_text="sweep-0").click(position={"x": 60, "y": 12})
    expect(page.locator(f"{TABLE} .jp-Mlops-details .jp-Mlops-localBadge")).to_have_count(1, timeout=20_000)

    box = page.locator(f"{SIDEBAR} .jp-Mlops-filterInput")
    box.fill(f'sweep = "{SWEEP}"')
    box.press("Enter")
    expect(rows).to_have_count(6)
    for checkbox in page.locator(f"{SIDEBAR} .jp-Mlops-row input[type=checkbox]").all():
        checkbox.check()
    page.locator(f"{SIDEBAR} .jp-Mlops-compareButton").click()

    section = page.locator(f".jp-Mlops-compare [data-section=sweep][data-sweep='{SWEEP}']")
    lines = section.locator("[data-chart=parallel-coordinates] path.jp-Mlops-pcLine")
    expect(lines).to_have_count(6, timeout=20_000)
    points = section.locator("[data-chart=sweep-scatter] circle.jp-Mlops-scatterPoint")
    expect(points).to_have_count(6)
    # The varying params are the axes (epochs is the same everywhere), then the metric; best: lr 0.3, depth 5.
    expect(section.locator(".jp-Mlops-axisName")).to_have_text(["lr", "depth", "auc (max)", "lr", "auc"])
    expect(section).to_contain_text("best by auc (max): sweep-5")
    best = section.locator("path.jp-Mlops-pcLine.jp-mod-best")
    expect(best).to_have_count(1)
    section.get_by_label("Sweep param").select_option("depth")
    expect(section.locator("[data-chart=sweep-scatter] .jp-Mlops-axisName")).to_have_text(["depth", "auc"])
    expect(points).to_have_count(6)
    section.scroll_into_view_if_needed()
    screenshot(section, "sweep-compare.png")
    assert page.errors == []

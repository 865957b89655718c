"""The Experiments sidebar over 5,000 runs in real Chromium: rows are windowed and pages load as the user scrolls.

The table renders only the rows in view (plus a few either side) and asks the server for the pages they fall on
(``GET runs?limit=&offset=``); scrolling to the bottom must show the oldest runs without ever holding thousands of
rows in the DOM (issue 13). The project and its JupyterLab are this module's own: the session's two-run project
stays as the other browser tests expect it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import jupyter_process
from playwright.sync_api import expect

from jupyter_mlops.entities import Metric
from jupyter_mlops.store import open_store

pytestmark = pytest.mark.requires_browser

RUNS = 5_000
REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_mlops" / "labextension"
SIDEBAR = "#jupyter-mlops-sidebar"
ROWS = f"{SIDEBAR} .jp-Mlops-row[data-run-id]"


class _Lab:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Lab]:
    """JupyterLab over a project of 5,000 runs, named ``run-00000`` (oldest) to ``run-04999`` (newest)."""
    root = tmp_path_factory.mktemp("scale-project")
    (root / "pyproject.toml").write_text('[project]\nname = "scale"\nversion = "0"\n')
    with open_store(f"sqlite:///{root / '.mlops' / 'mlops.db'}") as store:
        for n in range(RUNS):
            run = store.create_run(name=f"run-{n:05d}", start_time=1_700_000_000.0 + n)
            store.log_batch(run.id, metrics=[Metric("auc", (n % 97) / 97)])
            store.end_run(run.id, end_time=1_700_000_000.0 + n + 1)
    base = tmp_path_factory.mktemp("scale-lab")
    extensions = base / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-mlops").symlink_to(BUILT, target_is_directory=True)
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                           "checkForUpdates": False}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               JUPYTERLAB_SETTINGS_DIR=str(base / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
               JUPYTER_CONFIG_DIR=str(base / "config"))
    options = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.extra_labextensions_path={extensions}",
               "--ServerApp.jpserver_extensions={'jupyter_mlops': True}"]
    with jupyter_process([sys.executable, "-m", "jupyterlab"], root=root, env=env, log=base / "lab.log",
                         options=options, ready_within=60) as lab:
        yield _Lab(lab.url, lab.token)


def _names(page) -> list[str]:
    return page.locator(f"{ROWS} [data-key=name]").all_inner_texts()


def test_5000_runs_render_a_window_of_rows_and_scrolling_loads_the_oldest(page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/jupyter-mlops/api/runs?" in r.url else None)
    if not page.locator(SIDEBAR).is_visible():
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    expect(page.locator(ROWS).first).to_contain_text("run-04999", timeout=30_000)  # newest first
    expect(page.locator(SIDEBAR)).to_contain_text(f"{RUNS} runs")
    rendered = page.locator(ROWS).count()
    assert 0 < rendered <= 100, rendered  # a window, not 5,000 rows

    body = page.locator(f"{SIDEBAR} .jp-Mlops-tableBody")
    body.evaluate("node => { node.scrollTop = node.scrollHeight; }")
    expect(page.locator(ROWS).last).to_contain_text("run-00000", timeout=30_000)  # the oldest, loaded on demand
    names = _names(page)
    assert len(names) <= 100 and "run-04999" not in " ".join(names)
    assert any("offset=" in url and "offset=0" not in url for url in requests), requests  # a later page was fetched

    # Half-way down shows the runs there, contiguous and in order.
    body.evaluate("node => { node.scrollTop = node.scrollHeight / 2; }")
    expect(page.locator(ROWS).filter(has_text="run-025")).not_to_have_count(0, timeout=30_000)
    numbers = [int(text.split("run-")[1][:5]) for text in _names(page) if "run-" in text]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] - numbers[-1] == len(numbers) - 1
    assert page.locator(ROWS).count() <= 100
    assert page.errors == []

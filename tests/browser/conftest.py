"""End-to-end fixtures: a project whose runs come from really executing a notebook, a real JupyterLab, real Chromium.

* ``lab_project`` (session): a temp project (``pyproject.toml`` marks its root) with a small notebook that uses
  ``%load_ext jupyter_mlops`` / ``%track``; papermill executes it twice with different parameters, so the store
  holds two tracked runs with params, metric histories and executed-code snapshots.
* ``lab_server`` (session): ``python -m jupyterlab`` on 127.0.0.1 with a token, serving that project, loading the
  labextension freshly built into ``jupyter_mlops/labextension`` (through ``extra_labextensions_path``), with temp
  settings/workspace dirs and the news toast off.
* ``page``: a headless Chromium page (Debian's ``/usr/bin/chromium``, never a downloaded browser) on ``/lab``,
  collecting page errors; the test asserts there were none.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_process import jupyter_process

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_mlops" / "labextension"
CHROMIUM = Path("/usr/bin/chromium")
# Every run saves its screenshots under test-artifacts/ (gitignored) to look at; the docs' copies are replaced
# only when asked, like golden files, so `make test` never dirties the tree.
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
UPDATE_DOCS = os.environ.get("JUPYTER_MLOPS_UPDATE_SCREENSHOTS") == "1"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The store holds runs made by executing a real example notebook, as a user's would.
EXAMPLE = REPO / "example_notebooks" / "01_classifier.ipynb"
RUN_PARAMETERS = ({"learning_rate": 0.01, "epochs": 8}, {"learning_rate": 0.05, "epochs": 12})


@dataclass
class Project:
    """The e2e project: its root and the store URL the server resolves for it."""

    root: Path
    store_url: str


@dataclass
class Lab:
    """A running JupyterLab."""

    url: str
    token: str
    project: Project


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def lab_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Execute the classifier example twice with papermill (two learning rates and epoch counts)."""
    import papermill

    from jupyter_mlops.config import load_settings

    root = tmp_path_factory.mktemp("e2e-project")
    (root / "pyproject.toml").write_text('[project]\nname = "e2e"\nversion = "0"\n')
    shutil.copyfile(EXAMPLE, root / "train.ipynb")
    saved = dict(os.environ)
    clean = _clean_env()  # computed before the clear: after it, the kernels got PATH alone (no PYTHONPATH, HOME)
    os.environ.clear()
    os.environ.update(clean)
    try:
        for i, params in enumerate(RUN_PARAMETERS):
            papermill.execute_notebook(str(root / "train.ipynb"), str(root / f"out-{i}.ipynb"), parameters=params,
                                       cwd=str(root), progress_bar=False, kernel_name="python3")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Project(root, load_settings(start=root, environ={}).store_url)


def _settings_dir(base: Path) -> Path:
    # The news/update toast would otherwise cover the screenshots.
    folder = base / "settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True)
    (folder / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                         "checkForUpdates": False}))
    return base / "settings"


@pytest.fixture(scope="session")
def lab_server(lab_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a free port, serving the e2e project with the freshly built labextension."""
    if not (BUILT / "static" / "style.js").is_file():
        pytest.fail("the labextension is not built: run `cd labextension && jlpm install && jlpm build:prod`",
                    pytrace=False)
    base = tmp_path_factory.mktemp("lab")
    extensions = base / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-mlops").symlink_to(BUILT, target_is_directory=True)
    env = {**_clean_env(), "JUPYTERLAB_SETTINGS_DIR": str(_settings_dir(base)),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"), "JUPYTER_CONFIG_DIR": str(base / "config")}
    options = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.extra_labextensions_path={extensions}",
               "--ServerApp.jpserver_extensions={'jupyter_mlops': True}"]
    with jupyter_process([sys.executable, "-m", "jupyterlab"], root=lab_project.root, env=env, log=base / "lab.log",
                         options=options, ready_within=60) as lab:
        yield Lab(lab.url, lab.token, lab_project)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (no downloaded browser).

    Module-scoped: Playwright's sync API keeps an event loop running while it is open, which would clash with
    the asyncio tests (pytest-jupyter) that run later in the same session.
    """
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: apt-get install -y chromium (make test does it)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab_server: Lab) -> Iterator[object]:
    """A page on /lab with the splash gone; ``page.errors`` collects uncaught page errors."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{lab_server.url}/lab?token={lab_server.token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.wait_for_selector(".jp-Launcher", timeout=60_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot():
    """``screenshot(page_or_locator, name)`` saves a PNG under test-artifacts/screenshots.

    With ``JUPYTER_MLOPS_UPDATE_SCREENSHOTS=1`` it also replaces the copy in docs/screenshots (README, docs).
    """

    def save(target, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        target.screenshot(path=str(path))
        if UPDATE_DOCS:
            shutil.copyfile(path, DOCS_SCREENSHOTS / name)
        return path

    return save


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """Neutralise pytest-jupyter's autouse loop fixture here: Playwright's sync API runs its own event loop,
    and closing a per-test loop underneath it breaks the next browser test when both suites run together."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """No in-process Jupyter server here (the lab runs in a subprocess): nothing for pytest-jupyter to clean."""
    yield

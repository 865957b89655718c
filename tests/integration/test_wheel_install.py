"""The wheel carries the prebuilt JupyterLab extension: installed where no Node.js exists, the sidebar is served.

The wheel is built from this checkout the way ``make dist`` does, except that the extension build step is skipped
(``SKIP_JUPYTER_BUILDER``) and the already built extension is packed, so the test needs no network and no second
webpack run. It is installed with ``--no-deps --no-index`` into a fresh virtual environment that sees the test
environment's site-packages for its dependencies (a ``.pth`` line: the editable install's own ``.pth`` there is
not processed, so ``jupyter_mlops`` is imported from the wheel). Then JupyterLab is started from that environment
with a ``PATH`` holding nothing but the environment's ``bin``, and must serve the extension and its REST API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import jupyter_process

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / "jupyter_mlops" / "labextension" / "static" / "style.js").is_file():
        pytest.fail("the labextension is not built: run `make install-test`", pytrace=False)
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "SKIP_JUPYTER_BUILDER": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(REPO)], check=True, env=env, capture_output=True)
    (built,) = out.glob("jupyter_mlops-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True)
    python = root / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True)
    return root


def _no_node_env(venv: Path, home: Path) -> dict[str, str]:
    return {"PATH": str(venv / "bin"), "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
            "JUPYTER_MLOPS_STORE": f"sqlite:///{home / 'mlops.db'}", "LANG": "C.UTF-8"}


def test_wheel_contains_the_prebuilt_extension_and_server_config(wheel: Path):
    prefix = re.compile(r"jupyter_mlops-[^/]+\.data/data/")
    shared = {prefix.sub("", n) for n in zipfile.ZipFile(wheel).namelist() if prefix.match(n)}
    assert "share/jupyter/labextensions/jupyter-mlops/package.json" in shared
    assert any(re.fullmatch(r"share/jupyter/labextensions/jupyter-mlops/static/remoteEntry\.[0-9a-f]+\.js", n)
               for n in shared)
    assert "etc/jupyter/jupyter_server_config.d/jupyter_mlops.json" in shared


@pytest.fixture
def lab_without_node(venv: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = _no_node_env(venv, tmp_path)
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import shutil, jupyter_mlops; print(shutil.which('node'), jupyter_mlops.__file__)"],
                           env=env, cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert probe[0] == "None", "node is reachable from the test's PATH"
    assert probe[1].startswith(str(venv)), f"jupyter_mlops imported from {probe[1]}, not from the wheel"
    options = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with jupyter_process([str(venv / "bin" / "python"), "-m", "jupyterlab"], root=tmp_path, env=env,
                         log=tmp_path / "lab.log", options=options) as lab:
        yield lab.url, lab.token


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.status, reply.read()


def test_installed_wheel_serves_the_sidebar_with_no_node(lab_without_node: tuple[str, str]):
    url, token = lab_without_node
    _, page = _get(f"{url}/lab?token={token}")
    config = json.loads(re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    (extension,) = [e for e in config["federated_extensions"] if e["name"] == "jupyter-mlops"]
    assert "jupyter-mlops" not in config.get("disabled_labextensions", {})
    status, script = _get(f"{url}/lab/extensions/jupyter-mlops/{extension['load']}?token={token}")
    assert status == 200 and b"jupyter-mlops" in script
    status, body = _get(f"{url}/jupyter-mlops/api/settings?token={token}")
    assert status == 200 and json.loads(body)["version"]


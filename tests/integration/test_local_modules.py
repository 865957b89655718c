"""Local modules are part of a run's code (ADR-102/103): real kernels, real SQLite, the real console command.

Given a notebook that imports ``projutils.py`` from its own folder, when the module is edited between two runs,
then ``runs compare --format json`` shows the module's diff next to the cell diffs, and ``reproduce`` of the first
run imports the recorded version (not the edited file), says the file changed, and leaves the file alone. A module
reloaded during a run is recorded as the version that was loaded; an unchanged module is stored once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kernel_session import KernelSession, notebook, save

from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

V1 = "def scale(x):\n    return x * 2\n"
V2 = "def scale(x):\n    return x * 3\n"
CELLS = [
    "%load_ext jupyter_mlops",
    "%track start",
    "import projutils",
    "value = projutils.scale(3)\n%track metric value=value",
    "%track stop",
]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}


def record(root: Path, url: str, sources: list[str], name: str = "train.ipynb") -> str:
    """Run the cells in a real kernel as JupyterLab would; return the id of the run they tracked."""
    path = root / name
    nb = notebook(path, sources)
    save(nb, path, {})
    before = {run.id for run in open_store(url).search_runs().items} if (root / ".mlops").exists() else set()
    kernel = KernelSession(path, url)
    try:
        for cell in nb.cells:
            reply = kernel.run(cell.source, cell.id)
            assert reply["status"] == "ok", reply
    finally:
        kernel.shutdown()
    (run_id,) = {run.id for run in open_store(url).search_runs().items} - before
    return run_id


def write_module(root: Path, source: str) -> None:
    path = root / "projutils.py"
    path.write_text(source, encoding="utf-8")
    # a second edit within the file system's timestamp resolution must still be seen as another version
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def cli(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", *args, "--store", url], cwd=root, env=clean_env(),
                          capture_output=True, text=True, timeout=600)


def code_of(url: str, root: Path, run_id: str) -> dict:
    run = open_store(url).get_run(run_id)
    return BlobStore(root / ".mlops" / "blobs").get_json(run.code_hash)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    return {"root": tmp_path, "url": f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"}


def test_a_module_edit_shows_in_compare_and_reproduce_restores_the_recorded_version(project: dict) -> None:
    root, url = project["root"], project["url"]
    write_module(root, V1)
    first = record(root, url, CELLS)
    write_module(root, V2)
    second = record(root, url, CELLS)
    assert open_store(url).get_run(first).metrics == {"value": 6.0}
    assert open_store(url).get_run(second).metrics == {"value": 9.0}

    (module,) = code_of(url, root, first)["modules"]
    assert (module["name"], module["path"], module["file"]) == ("projutils", "projutils.py",
                                                                 str((root / "projutils.py").resolve()))
    assert BlobStore(root / ".mlops" / "blobs").get_bytes(module["hash"]) == V1.encode()

    done = cli(root, url, "runs", "compare", first, second, "--format", "json")
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)["code"]
    assert entry["cells"] == []  # the notebook is the same: only the module changed
    (change,) = entry["modules"]
    assert (change["change"], change["name"], change["path"]) == ("changed", "projutils", "projutils.py")
    assert "-    return x * 2\n+    return x * 3\n" in change["source_diff"]
    text = cli(root, url, "runs", "compare", first, second)
    assert "local module projutils (projutils.py) changed" in text.stdout, text.stdout

    replay = cli(root, url, "reproduce", first, "--format", "json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    report = json.loads(replay.stdout)
    assert report["outcome"] == "reproduced"
    assert report["metrics"][0]["reproduced"] == 6.0  # V1 ran, though the file holds V2
    assert report["modules"] == [{"name": "projutils", "path": "projutils.py", "status": "differs",
                                  "restored": True}]
    assert (root / "projutils.py").read_text(encoding="utf-8") == V2  # the project's file was not touched
    shown = cli(root, url, "reproduce", first)
    assert "module projutils (projutils.py): the file changed since the run" in shown.stdout, shown.stdout


def test_a_reloaded_module_is_recorded_as_loaded_and_stored_once(project: dict) -> None:
    root, url = project["root"], project["url"]
    write_module(root, V1)
    edit = f"open('projutils.py', 'w').write({V2!r})\nimport os; os.utime('projutils.py', (1e9, 2e9))"
    reloaded = record(root, url, [
        "%load_ext jupyter_mlops", "%track start", "import importlib, projutils", edit,
        "importlib.reload(projutils)",
        # edited again but not reloaded: the kernel still runs V2, so V2 is what the run recorded
        "open('projutils.py', 'w').write('def scale(x):\\n    return 0\\n')",
        "value = projutils.scale(3)\n%track metric value=value", "%track stop",
    ])
    module = code_of(url, root, reloaded)["modules"][0]
    blobs = BlobStore(root / ".mlops" / "blobs")
    assert blobs.get_bytes(module["hash"]) == V2.encode()
    assert [blobs.get_bytes(h) for h in module["versions"]] == [V1.encode(), V2.encode()]

    write_module(root, V1)
    again = record(root, url, CELLS, name="again.ipynb")
    assert code_of(url, root, again)["modules"][0]["hash"] == module["versions"][0]  # the same version: one blob
    stored = [p for p in (root / ".mlops" / "blobs").rglob("*") if p.is_file() and p.read_bytes() == V1.encode()]
    assert len(stored) == 1

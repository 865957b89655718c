"""A run's local modules: the versions it loaded, stored redacted and once per version (ADR-102).

Real module objects in a module table of the test's own, a real run over real SQLite and blob stores.
"""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import jupyter_mlops as mlops
from jupyter_mlops.capture.modules import ModuleWatch
from jupyter_mlops.tracking.local_modules import ModuleRecorder

SECRET = "ghp_" + "a1B2c3D4e5" * 4


def load(name: str, file: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_versions_loaded_during_a_run_are_listed_redacted_and_stored_once(project, tmp_path: Path):
    source = tmp_path / "utils.py"
    source.write_text(f"TOKEN = '{SECRET}'\nX = 1\n", encoding="utf-8")
    table = {"utils": load("utils", source)}
    recorder = ModuleRecorder(ModuleWatch(table, path=[], cwd=str(tmp_path)))
    run = mlops.start_run("modules", auto_capture=False)
    recorder.start_run()
    puts: list[bytes] = []

    def put(data: bytes) -> str:
        puts.append(data)
        return run.put_module_source(data)

    first = recorder.entries(put, run)
    assert recorder.entries(put, run) == first and len(puts) == 1  # a heartbeat's refresh stores nothing again
    (entry,) = first
    assert (entry["name"], entry["path"], "versions" in entry) == ("utils", "utils.py", False)
    stored = run.blobs.get_bytes(entry["hash"])
    assert SECRET not in stored.decode() and b"X = 1" in stored

    source.write_text("X = 2\n", encoding="utf-8")
    table["utils"] = load("utils", source)  # imported again after an edit
    recorder.observe()
    (entry,) = recorder.entries(put, run)
    assert run.blobs.get_bytes(entry["hash"]) == b"X = 2\n"
    assert entry["versions"] == [first[0]["hash"], entry["hash"]]
    recorder.stop_run()
    run.end()
    assert recorder.entries(put, run) == []  # no run: nothing to list


def test_a_run_that_opted_out_stores_module_sources_as_they_are(project, tmp_path: Path):
    run = mlops.start_run("raw", redact=False, auto_capture=False)
    digest = run.put_module_source(f"TOKEN = '{SECRET}'\n".encode())
    run.end()
    assert SECRET.encode() in run.blobs.get_bytes(digest)

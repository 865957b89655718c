"""Fixtures for tracking tests: a throw-away project folder with its own SQLite store and fast intervals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mlops.tracking import context, fluent

FAST = "[tool.jupyter-mlops]\nheartbeat_interval = 0.05\nflush_interval = 0.02\nstale_after = 30\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """cwd = a new project root whose default store is ``.mlops/mlops.db``; no run is left active afterwards."""
    (tmp_path / "pyproject.toml").write_text(FAST)
    monkeypatch.chdir(tmp_path)
    for name in ("JUPYTER_MLOPS_STORE", "JUPYTER_MLOPS_BLOBS", "JUPYTER_MLOPS_CONTEXT", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    fluent.end_run()
    context.drain()


@pytest.fixture
def stores(project: Path):
    """(store, blobs, settings) of the project."""
    return fluent.open_stores()

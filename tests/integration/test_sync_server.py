"""``GET runs`` says which runs are local-only (never pushed) when a remote is configured (ADR-084)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.app.sync import sync
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def team_remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'team' / 'team.db'}"
    monkeypatch.setenv("JUPYTER_MLOPS_REMOTE", url)  # before the server starts: its settings read it
    return url


async def test_runs_carry_local_only(team_remote, api, project):  # the remote first: set before the server
    settings = load_settings(store_url=project.store_url, start=project.root)
    with Workspace(settings, create=False) as workspace:
        assert sync(workspace, "push", remote=team_remote, filter_text='name = "base"').runs == 1
    reply = await api("runs")
    flags = {r["name"]: r["local_only"] for r in reply["runs"]}
    assert flags == {"base": False, "wider": True, "live": True}


async def test_without_a_remote_the_field_is_absent(monkeypatch, api, project):
    monkeypatch.delenv("JUPYTER_MLOPS_REMOTE", raising=False)
    reply = await api("runs")
    assert all("local_only" not in r for r in reply["runs"])

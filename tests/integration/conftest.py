"""Fixtures shared by the integration tests, defined once.

The server tests (test_server_api, test_server_auth, test_server_hostile, test_openapi, the parity tests):

``project`` is a store with two runs inside the Jupyter server's root dir; ``jp_server_config`` enables the
extension, whose store URL is resolved from that root dir like a user's would be; ``api`` calls its REST API.

The magics tests (test_magics, test_magics_model, test_magics_values): ``shell`` is one IPython shell per module
with the extension loaded; ``ip`` is that shell in a fresh project folder (fast flush and heartbeat, no store
settings from the environment), with the active run ended afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from server_fixtures import Project, make_project


@pytest.fixture
def project(jp_root_dir) -> Project:
    return make_project(jp_root_dir)


@pytest.fixture
def jp_server_config(project):
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


@pytest.fixture
def api(jp_fetch):
    """Call the REST API through the in-process server; returns the decoded JSON reply."""

    async def call(path: str, method: str = "GET", body: object | None = None, **params: str):
        kwargs = {"method": method, "params": params}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        response = await jp_fetch("jupyter-mlops", "api", *path.split("/"), **kwargs)
        return json.loads(response.body)

    return call


FAST = "[tool.jupyter-mlops]\nheartbeat_interval = 0.05\nflush_interval = 0.02\n"


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext jupyter_mlops", store_history=True)
    yield ip
    ip.run_cell("%unload_ext jupyter_mlops")


@pytest.fixture
def ip(shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    from jupyter_mlops.tracking import context, fluent

    (tmp_path / "pyproject.toml").write_text(FAST)
    monkeypatch.chdir(tmp_path)
    for name in ("JUPYTER_MLOPS_STORE", "JUPYTER_MLOPS_BLOBS", "JUPYTER_MLOPS_CONTEXT", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield shell
    fluent.end_run()
    context.drain()


@pytest.fixture
def project_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The working folder is ``tmp_path`` and the project's SQLite store (and blobs) are under ``tmp_path/store``.

    (Not ``store_url``: that is tests/conftest.py's fixture over SQLite and PostgreSQL, which this would hide.)
    """
    url = f"sqlite:///{tmp_path / 'store' / 'mlops.db'}"
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", url)
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "store" / "blobs"))
    monkeypatch.chdir(tmp_path)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty team store for ``sync``: a SQLite file not made yet, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team' / 'team.db'}"
    import uuid

    import pg

    admin: str = request.getfixturevalue("pg_url")
    return pg.create_database(admin, f"mlops_sync_{uuid.uuid4().hex[:12]}")

"""Fixtures of the server tests (test_server_api, test_server_auth, test_server_hostile, test_openapi), defined once.

``project`` is a store with two runs inside the Jupyter server's root dir; ``jp_server_config`` enables the
extension, whose store URL is resolved from that root dir like a user's would be; ``api`` calls its REST API.
"""

from __future__ import annotations

import json

import pytest
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

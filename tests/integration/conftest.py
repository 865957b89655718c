"""Fixtures of the server tests (test_server_api, test_server_auth, test_openapi), defined once.

``project`` is a store with two runs inside the Jupyter server's root dir; ``jp_server_config`` enables the
extension, whose store URL is resolved from that root dir like a user's would be.
"""

from __future__ import annotations

import pytest
from server_fixtures import Project, make_project


@pytest.fixture
def project(jp_root_dir) -> Project:
    return make_project(jp_root_dir)


@pytest.fixture
def jp_server_config(project):
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}

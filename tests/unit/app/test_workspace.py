"""The Workspace: each face's way of opening the project's stores, opened once, closed once."""

from __future__ import annotations

import pytest

from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.errors import StoreUnavailable
from jupyter_mlops.store import open_from_settings, open_store


def test_from_url_never_creates_a_store_and_says_so_in_one_line(tmp_path):
    target = tmp_path / "missing.db"
    workspace = Workspace.from_url(f"sqlite:///{target}")
    assert not workspace.store_exists() and not workspace.is_open
    with pytest.raises(StoreUnavailable, match=r"no store at .*missing\.db: no runs recorded yet \(or pass --store"):
        workspace.store  # noqa: B018
    assert not target.exists()


def test_opened_once_on_first_use_and_closed_by_the_context_manager(tmp_path):
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    open_store(url).close()
    with Workspace.from_url(url) as workspace:
        assert not workspace.is_open
        store = workspace.store
        assert workspace.store is store and workspace.blobs is workspace.blobs and workspace.is_open
        store.create_run(name="r")
    assert not workspace.is_open
    assert workspace.store.search_runs().total == 1  # the next use opens it again
    workspace.close()


def test_from_settings_creates_on_first_use_and_retries_a_failed_open(tmp_path):
    settings = load_settings(store_url=f"sqlite:///{tmp_path / 'new' / 'mlops.db'}", environ={})
    calls = []

    def flaky(settings, create):
        calls.append(create)
        if len(calls) == 1:
            raise StoreUnavailable("database is locked")
        return open_from_settings(settings, create=create)

    workspace = Workspace.from_settings(settings, opener=flaky)
    assert not workspace.store_exists()  # merely building it creates nothing
    with pytest.raises(StoreUnavailable):
        workspace.store  # noqa: B018
    with workspace:
        assert workspace.store.search_runs().total == 0
    assert calls == [True, True] and workspace.store_exists()


def test_wrapping_leaves_the_callers_stores_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    with open_store(url) as store:
        with Workspace.wrapping(store, None) as workspace:
            assert workspace.store is store and workspace.blobs is None and workspace.store_url == url
        assert store.create_run(name="still open").name == "still open"
        assert workspace.store is store

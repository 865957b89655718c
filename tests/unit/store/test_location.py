"""One reading of a store URL: config, the CLI, the server and the engine all name the same SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import StoreLocation, load_settings
from jupyter_mlops.server.service import MlopsService
from jupyter_mlops.store import open_store

URLS = [
    "sqlite:///runs/mlops.db", "sqlite:////abs/mlops.db?timeout=5", "sqlite://", "sqlite:///:memory:",
    "sqlite:///file::memory:?cache=shared", "sqlite:///~/mlops.db", "sqlite+pysqlite:///rel.db",
    "sqlite:///a%20b.db", "sqlite:///a?b.db", "sqlite:///a#b.db",
]

@pytest.mark.parametrize("url", URLS)
def test_the_sqlite_file_is_the_one_sqlalchemy_opens(url):
    database = make_url(url).database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    expected = None if memory else Path(database).expanduser()
    assert StoreLocation.of(url).sqlite_path == expected

def test_other_databases_have_no_file_and_always_exist():
    location = StoreLocation.of("postgresql+psycopg://u:p@db/runs?sslmode=require")
    assert (location.scheme, location.sqlite_path, location.exists()) == ("postgresql", None, True)
    assert StoreLocation.of("no scheme").scheme == ""

def test_a_percent_encoded_path_is_the_same_file_for_settings_server_and_engine(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    url = "sqlite:///my%20runs/mlops.db"
    settings = load_settings(store_url=url, start=tmp_path, environ={})
    service = MlopsService(Workspace.from_settings(settings))
    assert not service.store_exists()
    with open_store(settings.store_url) as store:
        store.create_run(name="r")
    assert (tmp_path / "my runs" / "mlops.db").is_file()
    assert settings.store_location.sqlite_path == tmp_path / "my runs" / "mlops.db"
    assert service.store_exists()
    assert Path(settings.blobs_url) == tmp_path / "my runs" / "blobs"
    service.close()

def test_relative_paths_resolve_for_every_sqlite_driver_and_in_memory_urls_stay(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    pysqlite = load_settings(store_url="sqlite+pysqlite:///rel.db", start=tmp_path, environ={})
    assert pysqlite.store_location.sqlite_path == tmp_path / "rel.db"
    shared = "sqlite:///file::memory:?cache=shared"
    assert load_settings(store_url=shared, start=tmp_path, environ={}).store_url == shared

def test_a_folder_named_with_percent_or_question_mark_keeps_its_name(tmp_path):
    odd = tmp_path / "100%?x"
    odd.mkdir()
    (odd / "pyproject.toml").write_text("")
    settings = load_settings(store_url="sqlite:///mlops.db", start=odd, environ={})
    assert settings.store_location.sqlite_path == odd / "mlops.db"
    assert make_url(settings.store_url).database == str(odd / "mlops.db")

"""open_store / open_from_settings: schemes, creation, and unusable stores that must fail in one line unharmed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mlops.config import load_settings
from jupyter_mlops.errors import InvalidInput, StoreUnavailable
from jupyter_mlops.store import get_factory, open_from_settings, open_store, register, scheme_of
from jupyter_mlops.store.blobs import BlobStore


def _one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_new_sqlite_store_creates_its_folder(tmp_path):
    target = tmp_path / "a" / "b" / ".mlops" / "mlops.db"
    with open_store(f"sqlite:///{target}") as store:
        store.create_run(name="x")
    assert target.is_file()


def test_the_default_store_folder_keeps_itself_out_of_git(tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    target = tmp_path / ".mlops" / "mlops.db"
    with open_store(f"sqlite:///{target}") as store:
        store.create_run(name="x")
    listed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path, check=True,
                            capture_output=True, text=True).stdout
    assert listed == ""  # neither the database, its WAL files, nor the .gitignore itself show up
    elsewhere = tmp_path / "shared" / "runs.db"
    with open_store(f"sqlite:///{elsewhere}") as store:
        store.create_run(name="y")
    assert not (elsewhere.parent / ".gitignore").exists()  # a folder the user named is theirs to manage


def test_create_false_refuses_a_missing_file(tmp_path):
    with pytest.raises(StoreUnavailable, match="no store at"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_in_memory_store_works_across_threads():
    import threading

    with open_store("sqlite://") as store:
        run = store.create_run()
        worker = threading.Thread(target=store.log_metric, args=(run.id, "auc", 0.5))
        worker.start()
        worker.join()
        assert store.get_run(run.id).metrics == {"auc": 0.5}


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "mlops.db"
    target.write_bytes(b"these are my notes, not a database\n" * 10)
    before = target.read_bytes()
    with pytest.raises(StoreUnavailable) as info:
        open_store(f"sqlite:///{target}")
    assert "not a SQLite database" in _one_line(info.value)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlops.db"]


def test_a_folder_is_not_a_store(tmp_path):
    with pytest.raises(StoreUnavailable, match="is not a file"):
        open_store(f"sqlite:///{tmp_path}")


def _store_with_one_run(target: Path) -> str:
    with open_store(f"sqlite:///{target}") as store:
        run = store.create_run(name="precious")
        store.log_metric(run.id, "auc", 0.9)
    for extra in target.parent.glob(f"{target.name}-*"):
        extra.unlink()
    return run.id


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_read_only_store_is_read_but_never_written(tmp_path, where):
    # Tests run as root, whom chmod does not stop: a mode without write bits is what marks a store read-only.
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "mlops.db"
    run_id = _store_with_one_run(target)
    before = target.read_bytes()
    (target if where == "file" else folder).chmod(0o444 if where == "file" else 0o555)
    try:
        with open_store(f"sqlite:///{target}", create=False) as store:
            assert store.get_run(run_id).metrics == {"auc": 0.9}
            assert store.search_runs("metrics.auc > 0.5").total == 1
            for write in (lambda: store.create_run(name="new"), lambda: store.set_tags(run_id, add=["x"]),
                          lambda: store.log_metric(run_id, "auc", 0.1)):
                with pytest.raises(StoreUnavailable) as info:
                    write()
                assert "read-only" in _one_line(info.value)
        assert target.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == ["mlops.db"]  # no -wal/-shm/-journal appeared
    finally:
        folder.chmod(0o755)
        target.chmod(0o644)
    with open_store(f"sqlite:///{target}") as store:
        store.set_tags(run_id, add=["writable-again"])


def test_a_sqlite_file_of_another_program_is_refused_and_not_changed(tmp_path):
    import sqlite3

    target = tmp_path / "theirs.db"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    conn.close()
    before = target.read_bytes()
    for create in (True, False):
        with pytest.raises(StoreUnavailable) as info:
            open_store(f"sqlite:///{target}", create=create)
        assert "did not create" in _one_line(info.value)
    assert target.read_bytes() == before
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]
    conn.close()


def test_an_unreachable_postgres_server_is_one_line(unused_port):
    with pytest.raises(StoreUnavailable) as info:
        open_store(f"postgresql+psycopg://nobody:secret@127.0.0.1:{unused_port}/mlops")
    text = _one_line(info.value)
    assert "unavailable" in text and "secret" not in text


def test_a_missing_postgres_database_is_one_line(pg_url):
    head, _, _ = pg_url.rpartition("/")
    with pytest.raises(StoreUnavailable) as info:
        open_store(f"{head}/no_such_database_here")
    assert "no_such_database_here" in _one_line(info.value)


@pytest.fixture
def unused_port() -> int:
    import pg

    return pg.free_port()


def test_plain_postgresql_scheme_uses_psycopg(pg_url):
    with open_store(pg_url.replace("postgresql+psycopg://", "postgresql://")) as store:
        assert store.engine.dialect.driver == "psycopg"


def test_unknown_scheme_lists_the_valid_ones():
    with pytest.raises(InvalidInput) as info:
        open_store("mongodb://localhost/x")
    text = _one_line(info.value)
    assert "'mongodb'" in text and "postgresql" in text and "sqlite" in text
    with pytest.raises(InvalidInput, match="'just-a-path.db' is not a store URL: give sqlite:///PATH"):
        open_store("just-a-path.db")


def test_register_adds_a_scheme():
    opened = []

    def factory(url: str, *, create: bool, stale_after: float):
        store = open_store("sqlite://", create=create, stale_after=stale_after)
        opened.append((url, stale_after))
        return store

    register("memtest", factory)
    assert get_factory("memtest") is factory
    with open_store("memtest://anything", stale_after=5.0) as store:
        store.create_run()
    assert opened == [("memtest://anything", 5.0)]


def test_scheme_of():
    assert scheme_of("postgresql+psycopg://u@h/db") == "postgresql"
    assert scheme_of("sqlite:///x.db") == "sqlite"
    assert scheme_of("x.db") == ""


def test_malformed_url_is_one_line():
    with pytest.raises(StoreUnavailable, match="malformed"):
        open_store("sqlite:::///")


def test_open_from_settings_gives_store_and_blobs(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops]\nstale_after = 12\n")
    settings = load_settings(start=tmp_path, environ={})
    store, blobs = open_from_settings(settings)
    try:
        assert isinstance(blobs, BlobStore)
        assert blobs.root == tmp_path / ".mlops" / "blobs"
        assert Path(store.url.removeprefix("sqlite:///")) == tmp_path / ".mlops" / "mlops.db"
        assert store.stale_after == 12.0  # type: ignore[attr-defined]
        assert os.path.isfile(tmp_path / ".mlops" / "mlops.db")
    finally:
        store.close()


def test_sqlite_urls_resolve_against_the_project_root_and_home(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    relative = load_settings(start=project, store_url="sqlite:///runs/mlops.db", environ={})
    assert relative.store_url == f"sqlite:///{project / 'runs' / 'mlops.db'}"
    homed = load_settings(start=project, store_url="sqlite:///~/runs.db", environ={})
    assert homed.store_url == f"sqlite:///{home / 'runs.db'}"
    assert Path(homed.blobs_url) == home / "blobs"

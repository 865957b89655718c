"""Root fixtures shared by every test folder: ``store`` (SQLite and PostgreSQL), ``store_url``, ``blobs``, ``pg_url``.

Kept deliberately light: subfolders add their own fixtures in their own ``conftest.py``.

* ``store`` runs each test twice: on a fresh SQLite file and on a real PostgreSQL database (emptied before the
  test). Without PostgreSQL binaries the PostgreSQL half FAILS with a message saying to run ``make test``.
* ``pg_url`` is a session-scoped server started by :mod:`tests.pg` (or ``JUPYTER_MLOPS_TEST_STORE`` when that
  is a PostgreSQL URL): the URL of its admin database, for tests that create databases of their own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lets test modules `import pg` (tests/ is not a package)

import pg  # noqa: E402

from jupyter_mlops.store import open_store  # noqa: E402
from jupyter_mlops.store.base import Store  # noqa: E402
from jupyter_mlops.store.blobs import BlobStore  # noqa: E402

_KEEP_ON_RESET = {"schema_info", "migrations"}


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of the admin database of a real PostgreSQL server that lives for the whole session."""
    external = os.environ.get("JUPYTER_MLOPS_TEST_STORE", "")
    if external.startswith("postgres"):
        yield external
        return
    try:
        server = pg.start_server()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server.url("postgres")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _pg_test_db(pg_url: str) -> str:
    """One migrated database per test process (xdist workers get their own), emptied before each test."""
    name = "mlops_test_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = pg.create_database(pg_url, name)
    open_store(url).close()
    return url


def _empty_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    from jupyter_mlops.store.schema import metadata

    names = ", ".join(t.name for t in metadata.sorted_tables if t.name not in _KEEP_ON_RESET)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # Fixed table names from our own schema, not input: TRUNCATE has no bound-parameter form.
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            # TRUNCATE keeps the planner's statistics of what was there before (and autovacuum refreshes them
            # whenever it gets round to it): a 16-way semi-join planned against a big earlier test's statistics ran
            # past 30 s. Fresh statistics of the empty tables make every test plan alike.
            conn.execute(text(f"ANALYZE {names}"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated store: a new SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store' / 'mlops.db'}"
        open_store(url).close()
        return url
    pg_db: str = request.getfixturevalue("_pg_test_db")
    _empty_pg(pg_db)
    return pg_db


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store on SQLite and on PostgreSQL (the test runs once for each)."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    """An empty blob store in a temporary folder."""
    return BlobStore(tmp_path / "blobs")


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 API server (moto's standalone server, a subprocess on 127.0.0.1) for the whole session.

    Tests that stop or restart a server start their own with ``s3.start_server()`` instead.
    """
    import s3

    server = s3.start_server()
    try:
        yield server
    finally:
        server.close()

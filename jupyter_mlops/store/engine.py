"""Engines for the SQL store: SQLite tuned for many writers, PostgreSQL through psycopg 3, one-line errors.

SQLite assumptions: WAL journal (readers never block the writer), ``synchronous=NORMAL`` (a committed
transaction survives a crash of the process; the last ones may be lost on power failure), a 30 s busy timeout,
no foreign-key enforcement (the store deletes children itself and checks the run before logging; enforcement
costs ~15 % of metric-insert speed), and ``BEGIN IMMEDIATE`` for every write transaction: a writer takes the
write lock up front and waits for it inside SQLite's busy handler, instead of upgrading a read lock later and
failing with "database is locked".
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from jupyter_mlops.config import StoreLocation
from jupyter_mlops.errors import StoreUnavailable
from jupyter_mlops.store.files import check_sqlite_file, read_only_uri

BUSY_TIMEOUT_S = 30.0
WRITE_OPTION = "mlops_write"  # execution option that makes a SQLite transaction BEGIN IMMEDIATE
# SQLite's default page cache is 2 MiB per connection: a filtered search over 10,000 runs touches more index pages
# than that and re-read them from the OS on every query (13 ms instead of 7 ms). 8, 16 and 64 MiB measured alike;
# 16 MiB leaves room for larger stores while bounding a pooled connection's memory. The cache fills only as used.
PAGE_CACHE_KIB = 16 * 1024


def redact_url(url: str | URL) -> str:
    """The store URL as it may be shown (logs, errors, the settings endpoint, the CLI): never with a password.

    SQLAlchemy's ``make_url`` parses it and ``render_as_string(hide_password=True)`` draws it. A password holding an
    unencoded ``@`` makes that parse a guess (``u:p@ss@h`` reads as password ``p`` on host ``ss@h``), so then
    everything up to the last ``@`` is taken as credentials; a URL that does not parse at all keeps only what
    follows its last ``@``. Query arguments that name a password, secret, token or key are masked too.

    Example:
        >>> redact_url("postgresql://u:p@ss@db.example/runs")
        'postgresql://u:***@db.example/runs'
    """
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        parsed: URL | None = make_url(text)
    except (exc.ArgumentError, ValueError):
        parsed = None
    scheme, sep, rest = text.partition("://")
    userinfo, at, host = (rest if sep else text).rpartition("@")
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        shown = text  # a file path; SQLite has no password, and an '@' in a folder name is just a character
    elif parsed is not None and rest.count("@") <= 1:
        shown = parsed.render_as_string(hide_password=True) if parsed.password is not None else text
    elif at and (":" in userinfo or parsed is None):
        shown = f"{scheme + '://' if sep else ''}{userinfo.split(':', 1)[0]}:***@{host}"
    else:
        shown = text if parsed is not None else "<unparseable URL>"
    return _SECRET_QUERY.sub(r"\1***", shown)


#: ``?password=...``, ``&sslpassword=...``, ``?api_token=...``: query arguments whose value is a credential.
_SECRET_QUERY = re.compile(r"([?&][^=&#]*(?:pass|pwd|secret|token|key)[^=&#]*=)[^&#]*", re.IGNORECASE)


def _sqlite_engine(url: URL, path: Path | None, *, create: bool) -> Engine:
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if path is None:
        # One shared connection, or every checkout would see its own empty in-memory database.
        kwargs["poolclass"] = StaticPool
    else:
        writable = check_sqlite_file(path, create=create)
        url = url.set(database=str(path))
        if not writable:
            # Read, never write: no journal mode switch, no -wal/-shm files; a write fails as "read-only".
            uri = read_only_uri(path, writable=False)
            kwargs["creator"] = lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    engine = create_engine(url, **kwargs)
    read_only = "creator" in kwargs

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level, so the "begin" hook below decides how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")

    return engine


def _postgres_engine(url: URL) -> Engine:
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def make_engine(url: str, *, create: bool = True) -> Engine:
    """Build an engine for a ``sqlite://`` or ``postgresql[+psycopg]://`` URL and check it can be reached.

    Raises:
        StoreUnavailable: the URL is malformed, the file unusable or the server unreachable (one line).
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StoreUnavailable(f"malformed store URL {redact_url(url)!r}") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_engine(parsed, StoreLocation.of(url).sqlite_path, create=create)
        elif backend == "postgresql":
            engine = _postgres_engine(parsed)
        else:
            raise StoreUnavailable(f"unsupported database {backend!r} in store URL {redact_url(url)}")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except exc.SQLAlchemyError as error:
            engine.dispose()
            raise unavailable(error, redact_url(url)) from None
    except ImportError as error:
        # SQLAlchemy imports the driver when the engine is built (psycopg for PostgreSQL), not when it connects.
        raise missing_driver(error, redact_url(url)) from None
    return engine


#: The pip extra that installs each database driver jupyter_mlops uses.
DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg_binary": "postgres", "psycopg_c": "postgres"}


def missing_driver(error: ImportError, where: str) -> StoreUnavailable:
    """A one-line :class:`StoreUnavailable` naming the package, and the extra that installs it, for a store URL."""
    name = (error.name or "").split(".")[0] or "its database driver"
    extra = DRIVER_EXTRAS.get(name)
    hint = f"pip install 'jupyter_mlops[{extra}]'" if extra else f"install the {name!r} package"
    return StoreUnavailable(f"store {where} needs the {name!r} package, which is not installed: {hint}")


def first_line(error: BaseException) -> str:
    """The driver's own message, first line only, without SQLAlchemy's background link."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__


def unavailable(error: BaseException, where: str) -> StoreUnavailable:
    """Translate a database error into a one-line :class:`StoreUnavailable`."""
    message = first_line(error)
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return StoreUnavailable(f"store {where} is read-only: {message}")
    if "not a database" in lowered:
        return StoreUnavailable(f"store {where} is not a SQLite database")
    return StoreUnavailable(f"store {where} is unavailable: {message}")


def is_locked(error: BaseException) -> bool:
    """Whether a database error is SQLite's transient "database is locked"/"busy"."""
    message = first_line(error).lower()
    return "database is locked" in message or "database is busy" in message

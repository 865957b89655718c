"""A throwaway PostgreSQL server for the test session (initdb + pg_ctl on a free 127.0.0.1 port).

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the ``postgres`` OS user
(``runuser -u postgres --``) in a data folder that user owns. Trust authentication on 127.0.0.1 only; fsync off
(the data is disposable). ``JUPYTER_MLOPS_TEST_STORE`` set to a PostgreSQL URL uses that server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MISSING_MESSAGE = (
    "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl) are not installed; "
    "run `make test`, which installs them, to run the PostgreSQL half of the store tests"
)


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    for initdb in reversed(found):
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A running server; ``url(db)`` gives a SQLAlchemy URL for one of its databases."""

    bindir: Path
    datadir: Path
    port: int
    as_user: str | None

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.as_user, "--"] if self.as_user else []) + list(args)

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """initdb + pg_ctl start; waits until the server accepts connections."""
        subprocess.run(self._cmd(str(self.bindir / "initdb"), "-D", str(self.datadir / "data"), "-U", "postgres",
                                 "--auth=trust", "--no-sync", "-E", "UTF8"),
                       check=True, capture_output=True, text=True)
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"), "-l",
                                 str(self.datadir / "server.log"), "-o", options, "-w", "-t", "60", "start"),
                       check=True, capture_output=True, text=True)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"), "-m", "immediate",
                                 "-w", "stop"), capture_output=True, text=True)
        shutil.rmtree(self.datadir, ignore_errors=True)

    def log_tail(self) -> str:
        """The end of the server log, for failure messages."""
        try:
            return (self.datadir / "server.log").read_text()[-2000:]
        except OSError:
            return ""


def start_server() -> PgServer:
    """Start a fresh server, or raise RuntimeError(MISSING_MESSAGE) when the binaries are absent."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(MISSING_MESSAGE)
    datadir = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    as_user = None
    if os.geteuid() == 0:
        as_user = "postgres"
        shutil.chown(datadir, user="postgres")
    last_error: Exception | None = None
    for _ in range(3):  # the free port may be taken between probing and binding; try another
        server = PgServer(bindir, datadir, free_port(), as_user)
        try:
            server.start()
            return server
        except subprocess.CalledProcessError as error:
            last_error = RuntimeError(f"PostgreSQL did not start: {error.stderr.strip()} {server.log_tail()}")
            subprocess.run(server._cmd(str(bindir / "pg_ctl"), "-D", str(datadir / "data"), "-m", "immediate",
                                       "stop"), capture_output=True)
            for child in datadir.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
            time.sleep(0.2)
    shutil.rmtree(datadir, ignore_errors=True)
    raise last_error or RuntimeError("PostgreSQL did not start")


def admin_execute(admin_url: str, *statements: str) -> None:
    """Run maintenance statements (CREATE/DROP DATABASE) in autocommit mode.

    These are fixed test-setup statements with names the tests generate, not user input.
    """
    import psycopg

    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def create_database(admin_url: str, name: str) -> str:
    """Create (or re-create) database ``name``; return the admin URL pointed at it."""
    admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    head, _, _ = admin_url.rpartition("/")
    return f"{head}/{name}"

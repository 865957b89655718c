"""A Jupyter server (or JupyterLab) in a subprocess on 127.0.0.1 with a random token, for tests that need a real one.

The in-process ``jp_fetch`` server of pytest-jupyter covers most REST tests; these tests need a separate process:
another environment (a wheel installed without Node), a changed import path (psycopg hidden), or a browser.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Running:
    """Where a started server answers."""

    url: str
    token: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def jupyter_process(command: Sequence[str], *, root: Path, env: Mapping[str, str], log: Path,
                    options: Sequence[str] = (), ready_within: float = 90.0) -> Iterator[Running]:
    """Start ``command`` (e.g. ``[python, "-m", "jupyter_server"]``) serving ``root``; stop it on exit.

    Raises:
        AssertionError: the process exited or did not answer ``/api/status`` in time (with its log's tail).
    """
    token, port = secrets.token_hex(16), free_port()
    args = [*command, "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
            *options]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=root, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, token, process, log, ready_within)
        yield Running(url, token, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, token: str, process: subprocess.Popen[bytes], log: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the Jupyter server exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the Jupyter server did not answer within {within:g} s:\n{log.read_text()[-3000:]}")

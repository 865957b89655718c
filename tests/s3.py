"""A real S3 API server for the tests: moto's standalone server as a subprocess on a free 127.0.0.1 port.

As s3fs's own test suite does it: ``python -m moto.server -H 127.0.0.1 -p PORT``. The server keeps its buckets in
memory, so a restart starts empty. Its werkzeug request log (one line per HTTP request) is kept in a file, so a test
can count the requests that reached it (``requests("PUT", key)``). ``env`` is what a client needs: dummy
credentials in the standard AWS variables, the AWS config files pointed away from the user's, and the endpoint in
``JUPYTER_MLOPS_BLOBS_OPTIONS``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from pg import free_port

KEY_ID = "testing-key-id"
SECRET = "testing-secret-0123456789"  # the tests check this never lands in a store, record or message


class MotoS3:
    """A moto server process; ``start``/``stop`` may be repeated (same port, empty state after a restart)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="moto-"))
        self.log = self.folder / "requests.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client of this server (credentials the standard way, endpoint as storage options)."""
        return {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(self.folder / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.folder / "no-credentials"),
            "JUPYTER_MLOPS_BLOBS_OPTIONS": json.dumps({"endpoint_url": self.endpoint}),
        }

    def start(self) -> None:
        """Start the server and wait until it answers HTTP."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not answer within 60 s")

    def stop(self) -> None:
        """Kill the server (as a crash or network cut would) and wait until its port is closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the server for good and remove its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def client(self):  # noqa: ANN201 - boto3 is untyped
        """A boto3 S3 client of this server (for setting up and inspecting buckets, not for the code under test)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, region_name="us-east-1")

    def requests(self, method: str, path_part: str) -> int:
        """How many ``METHOD`` requests whose path contains ``path_part`` reached the server."""
        needle = f'"{method} '
        return sum(1 for line in self.log.read_text(errors="replace").splitlines()
                   if needle in line and path_part in line)


def start_server() -> MotoS3:
    """A started moto S3 server."""
    server = MotoS3()
    server.start()
    return server

"""One diff, two faces: ``jupyter-mlops diff A B --format json`` and ``GET diff?a=&b=`` give the same JSON.

Both run as real processes against one real SQLite project store whose two runs have executed-code snapshots:
the CLI as a subprocess, the REST API from a Jupyter server started with a token (``tests/jupyter_process.py``).
Bad input gives the CLI one error line and a non-zero exit, and the server a 400 or 404, never a 500.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import Running, jupyter_process
from server_fixtures import Project, make_project


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", "diff", *args], cwd=root, env=_env(),
                          capture_output=True, text=True, timeout=120)


def rest(server: Running, **query: str) -> tuple[int, dict]:
    url = f"{server.url}/jupyter-mlops/api/diff?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"Authorization": f"token {server.token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("parity")
    (root / "pyproject.toml").write_text("[project]\nname = 'parity'\n")  # the project root for CLI and server
    return make_project(root)


@pytest.fixture(scope="module")
def server(project, tmp_path_factory) -> Iterator[Running]:
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    with jupyter_process([sys.executable, "-m", "jupyter_server"], root=project.root, env=_env(), log=log,
                         options=['--ServerApp.jpserver_extensions={"jupyter_mlops": True}']) as running:
        yield running


def test_cli_json_and_rest_reply_are_the_same_diff(project, server):
    status, reply = rest(server, a=project.run_a, b=project.run_b)
    result = cli(project.root, project.run_a, project.run_b, "--format", "json")
    assert status == 200 and result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == reply
    assert (reply["a"], reply["b"]) == (f"run:{project.run_a}", f"run:{project.run_b}")
    assert [c["change"] for c in reply["changes"]] == ["changed", "changed"]
    # names and id prefixes resolve to the same runs, and the same diff, on both faces
    assert rest(server, a="base", b=project.run_b[:8])[1] == json.loads(cli(project.root, "base", "wider",
                                                                           "--format", "json").stdout)


def test_compare_code_section_is_the_same_cell_changes(project, server):
    url = f"{server.url}/jupyter-mlops/api/compare?ids={project.run_a},{project.run_b}"
    request = urllib.request.Request(url, headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        compare = json.loads(response.read())
    printed = json.loads(cli(project.root, project.run_a, project.run_b, "--format", "json").stdout)
    assert compare["code"] == [{"run": project.run_b, "cells": printed["changes"], "modules": []}]


@pytest.mark.parametrize(("ref", "status"), [
    ("ffffffffffffffffffffffffffffffff", 404),  # unknown run
    ("../../etc/passwd", 400),                   # a path outside the root: never read by the server
    ("/etc/hostname", 400),
    ("\x1b[31mred", 400),                        # a hostile string: control characters
    ("x" * 5000, 400),
])
def test_bad_input_is_one_line_and_a_4xx(project, server, ref, status):
    code, reply = rest(server, a=project.run_a, b=ref)
    assert code == status and set(reply) == {"code", "message"}
    result = cli(project.root, project.run_a, ref)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 400


def test_cli_names_a_too_long_argument_in_one_short_line(project):
    # Was "internal error: OSError: [Errno 36] File name too long" quoting all 5,000 characters.
    result = cli(project.root, "y" * 5000, project.run_b)
    assert result.returncode == 1 and "no run matches 'yyyy" in result.stderr and len(result.stderr) < 300

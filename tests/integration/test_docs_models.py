"""The model-version examples of docs/python-api.md and docs/cli.md run as written and print what they show.

The script of python-api.md runs as ``python train.py`` in a fresh project; then every ``$ jupyter-mlops models``
line of cli.md's session runs against its store, and its output must match the page once hashes, times and ids
(which differ on every run) are replaced by placeholders.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from jupyter_mlops.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
_VOLATILE = [
    (re.compile(r"xxh3_128:[0-9a-f]+"), "HASH"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "TIME"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "RUNID"),
    (re.compile(r"\(\b[0-9a-f]{8}\b,"), "(RUN,"),
    (re.compile(r"\d+ bytes"), "N bytes"),
]


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1]


def normalized(text: str) -> list[str]:
    lines = []
    for line in text.strip().splitlines():
        for pattern, placeholder in _VOLATILE:
            line = pattern.sub(placeholder, line)
        lines.append(" ".join(line.split()))
    return lines


def run_cli(args: list[str]) -> tuple[int, str]:
    with CliRunner().isolation() as (out, err, _):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue().decode() + err.getvalue().decode()


def test_python_api_script_and_cli_session_run_as_written(tmp_path, monkeypatch):
    script = re.search(r"```python\n(.*?)```", section((DOCS / "python-api.md").read_text(), "## Model versions"),
                       re.S)
    assert script is not None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (tmp_path / "train.py").write_text(script.group(1))
    env = {**os.environ, "JUPYTER_MLOPS_USER": "ana"}
    for name in ("JUPYTER_MLOPS_STORE", "JUPYTER_MLOPS_BLOBS", "JUPYTER_MLOPS_CONTEXT"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("churn:1.0.0 xxh3_128:")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_MLOPS_USER", "ana")
    for name in ("JUPYTER_MLOPS_STORE", "JUPYTER_MLOPS_BLOBS", "JUPYTER_MLOPS_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    session = re.search(r"```console\n(.*?)```", section((DOCS / "cli.md").read_text(), "## `jupyter-mlops models`"),
                        re.S)
    assert session is not None
    blocks = re.split(r"^\$ ", session.group(1), flags=re.M)[1:]
    assert len(blocks) == 6
    for block in blocks:
        command, _, expected = block.partition("\n")
        args = [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', command)]
        assert args[0] == "jupyter-mlops"
        code, output = run_cli(args[1:])
        assert code == 0, f"{command}: {output}"
        assert normalized(output) == normalized(expected), command

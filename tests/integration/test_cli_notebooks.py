"""diff/lint/clean/install-git-hooks end to end: real subprocesses, a real git repository, a real run store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import diff as diff_cmd
from jupyter_mlops.notebooks.githooks import install_git_hooks
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

DATA = Path(__file__).parents[1] / "data" / "notebooks" / "hygiene"


def cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", *args], cwd=cwd, input=stdin,
                          capture_output=True, timeout=120, env=env)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                            check=True, capture_output=True, text=True, timeout=120)
    return result.stdout


def test_lint_subprocess_github_format(tmp_path):
    for name in ("lint--problems.ipynb", "bad--v3.ipynb", "lint--clean.ipynb"):
        shutil.copy(DATA / name, tmp_path / name)
    result = cli("lint", "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().splitlines() == [
        "Error: bad--v3.ipynb: nbformat v3 is not supported, v4 is required — upgrade it with "
        "`jupyter nbconvert --to notebook --inplace`"]
    lines = result.stdout.decode().splitlines()
    assert lines[-1].startswith("::error title=bad notebook::bad--v3.ipynb")
    pattern = re.compile(r"^::(error|warning) file=lint--problems\.ipynb(,line=\d+)?,title=NB\d{3}::")
    assert all(pattern.match(line) for line in lines[:-1]) and len(lines) > 5


def test_clean_stdin_subprocess_is_idempotent():
    once = cli("clean", "--stdin", stdin=(DATA / "outputs--dirty.ipynb").read_bytes())
    assert once.returncode == 0, once.stderr
    twice = cli("clean", "--stdin", stdin=once.stdout)
    assert twice.stdout == once.stdout
    cells = json.loads(once.stdout)["cells"]
    assert [c["outputs"] for c in cells if c["cell_type"] == "code"][2] != []  # keep-output survives


def test_git_filter_and_diff_driver(tmp_path):
    git(tmp_path, "init", "-q")
    install_git_hooks(tmp_path)
    shutil.copy(DATA / "params--base.ipynb", tmp_path / "train.ipynb")
    git(tmp_path, "add", "train.ipynb", ".gitattributes")
    git(tmp_path, "commit", "-q", "-m", "add")
    stored = json.loads(git(tmp_path, "show", "HEAD:train.ipynb"))
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in stored["cells"])
    assert [c["id"] for c in stored["cells"]] == ["p-0", "p-1", "p-2", "p-3"]
    assert json.loads((tmp_path / "train.ipynb").read_text())["cells"][2]["outputs"], "working copy keeps outputs"
    assert git(tmp_path, "status", "--porcelain") == ""

    text = (tmp_path / "train.ipynb").read_text().replace("lr = 0.1", "lr = 0.3")
    (tmp_path / "train.ipynb").write_text(text)
    shown = git(tmp_path, "diff", "--no-color", "--no-ext-diff", "--", "train.ipynb")  # plain diff of clean blobs
    assert '-    "lr = 0.1\\n",' in shown and "stdout" not in shown
    driven = git(tmp_path, "diff", "--no-color", "--", "train.ipynb")  # through nbdime's driver
    assert "nbdiff" in driven and "lr = 0.3" in driven


def test_diff_run_ids_through_a_real_store(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTER_MLOPS_BLOBS", raising=False)
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    blobs = BlobStore(tmp_path / "blobs")
    store = open_store(url)
    ids = []
    for lr, path in ((0.1, "data/a.csv"), (0.2, "data/b.csv")):
        snapshot = {"cells": [
            {"index": 0, "execution_count": 1, "source": f"lr = {lr}", "cell_id": "params"},
            {"index": 1, "execution_count": 2, "source": f"df = pd.read_csv('{path}')", "cell_id": "load"},
        ]}
        run = store.create_run(name=f"lr-{lr}")
        store.update_run(run.id, code_hash=blobs.put_json(snapshot))
        ids.append(run.id)
    bare = store.create_run(name="no-code").id
    store.close()
    result = CliRunner().invoke(diff_cmd, ["lr-0.1", ids[1][:8], "--store", url, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["a"] == f"run:{ids[0]}" and payload["b"] == f"run:{ids[1]}"
    assert payload["summary"]["data_paths"] == {"added": ["data/b.csv"], "removed": ["data/a.csv"]}
    assert [c["a_index"] for c in payload["changes"]] == [0, 1]
    missing = CliRunner().invoke(diff_cmd, ["lr-0.1", bare, "--store", url])
    assert missing.exit_code != 0 and "no executed-code snapshot" in missing.exception.message


def test_diff_unknown_name_does_not_create_a_store(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = cli("diff", "nothing-here", "also-nothing", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("Error: nothing-here: no such file, REV:path or run")
    assert "create=True" not in result.stderr.decode()  # the message speaks to a CLI user, not to the API
    assert not (tmp_path / ".mlops").exists()


@pytest.mark.parametrize("command", ["diff", "lint", "clean", "install-git-hooks"])
def test_commands_have_help(command):
    from jupyter_mlops.cli import cli as root

    result = CliRunner().invoke(root, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and "Examples:" in result.output


def test_nbformat_id_warnings_become_one_line_notes(tmp_path):
    """DuplicateCellId / MissingIDFieldWarning used to reach stderr as raw Python warnings (two lines each)."""
    def write(name: str, ids: list[str | None]) -> str:
        cells = [{"cell_type": "code", "metadata": {}, "source": f"x = {i}", "outputs": [], "execution_count": None,
                  **({"id": cell_id} if cell_id else {})} for i, cell_id in enumerate(ids)]
        (tmp_path / name).write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
        return name

    dup, noid = write("dup.ipynb", ["a", "a"]), write("noid.ipynb", [None, "b"])
    result = cli("diff", dup, noid, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        "note: dup.ipynb: cell id 'a' is used by cells 0, 1: cell ids must be unique",
        "note: noid.ipynb: 1 cell(s) have no id (cells 0); nbformat 4.5 requires one (Jupyter adds them when it "
        "saves)"]
    for command in (["lint", "--disable", "NB003", dup, noid], ["clean", "--check", noid]):
        stderr = cli(*command, cwd=tmp_path).stderr.decode()
        assert "Warning" not in stderr and "validator.py" not in stderr, stderr

"""install-git-hooks in a real temporary git repository: config, .gitattributes, idempotence, the clean filter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import install_git_hooks as install_cmd
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.githooks import ATTRIBUTES_LINE, desired_config, install_git_hooks


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                            check=True, capture_output=True, text=True)
    return result.stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    return tmp_path


def test_install_sets_config_and_attributes(repo):
    (repo / ".gitattributes").write_text("*.csv text\n")
    report = install_git_hooks(repo / ".")
    assert report.changed and report.repo == repo.resolve()
    for key, value in desired_config().items():
        assert git(repo, "config", "--local", "--get", key).strip() == value
    assert git(repo, "config", "--get", "diff.jupyternotebook.command").strip().endswith("git-nbdiffdriver diff")
    assert (repo / ".gitattributes").read_text().splitlines()[0] == "*.csv text"
    assert git(repo, "check-attr", "diff", "merge", "filter", "--", "x.ipynb").splitlines() == [
        "x.ipynb: diff: jupyternotebook", "x.ipynb: merge: jupyternotebook", "x.ipynb: filter: jupyter-mlops-clean"]


def test_install_twice_changes_nothing(repo):
    install_git_hooks(repo)
    attributes = (repo / ".gitattributes").read_bytes()
    config = (repo / ".git" / "config").read_bytes()
    assert not install_git_hooks(repo).changed
    assert (repo / ".gitattributes").read_bytes() == attributes and attributes.count(ATTRIBUTES_LINE.encode()) == 1
    assert (repo / ".git" / "config").read_bytes() == config


def test_uninstall_removes_what_install_added(repo):
    (repo / ".gitattributes").write_text("*.csv text\n")
    install_git_hooks(repo)
    assert install_git_hooks(repo, uninstall=True).changed
    assert (repo / ".gitattributes").read_text() == "*.csv text\n"
    for key in desired_config():
        assert subprocess.run(["git", "-C", str(repo), "config", "--local", "--get", key]).returncode == 1
    assert not install_git_hooks(repo, uninstall=True).changed


def test_not_a_repository(tmp_path):
    with pytest.raises(InvalidInput, match="not inside a git repository"):
        install_git_hooks(tmp_path)


def test_cli(repo):
    first = CliRunner().invoke(install_cmd, ["--repo", str(repo)])
    assert first.exit_code == 0 and "configured in" in first.output
    again = CliRunner().invoke(install_cmd, ["--repo", str(repo)])
    assert again.exit_code == 0 and again.output.startswith("nothing to do")
    removed = CliRunner().invoke(install_cmd, ["--repo", str(repo), "--uninstall"])
    assert removed.exit_code == 0 and "removed from" in removed.output

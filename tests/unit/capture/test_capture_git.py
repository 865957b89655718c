"""capture.git: git state of real temporary repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jupyter_mlops.capture.git import GitState, git_state, strip_credentials

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git executable")


def git(repo: Path, *args: str) -> str:
    names = ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
    identity = dict.fromkeys(names, "t")
    env = {**os.environ, **identity, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_repository(repo: Path) -> None:
    state = git_state(repo)
    assert state == GitState(
        commit=git(repo, "rev-parse", "HEAD"), branch="main", dirty=False, root=str(repo.resolve())
    )


def test_dirty_repository_has_a_redacted_diff_and_works_from_a_file_path(repo: Path) -> None:
    (repo / "train.py").write_text('lr = 0.2\napi_key = "sk-0123456789abcdef"\n')
    (repo / "untracked.txt").write_text("not part of dirty")
    state = git_state(repo / "train.py")
    assert state is not None and state.dirty
    assert "+lr = 0.2" in state.diff and "sk-0123456789abcdef" not in state.diff and "***" in state.diff
    assert not state.diff_truncated


def test_untracked_files_alone_are_not_dirty(repo: Path) -> None:
    (repo / "new.txt").write_text("x")
    assert git_state(repo).dirty is False


def test_diff_is_capped(repo: Path) -> None:
    (repo / "train.py").write_text("x = 1\n" * 5000)
    state = git_state(repo, max_diff_bytes=1000)
    assert state.diff_truncated and len(state.diff.encode()) <= 1000


def test_detached_head_and_remote_without_credentials(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://user:ghp_secret@example.com/org/repo.git")
    git(repo, "checkout", "-q", "--detach")
    state = git_state(repo)
    assert state.branch is None
    assert state.remote == "https://example.com/org/repo.git"


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    state = git_state(tmp_path)
    assert (state.commit, state.branch, state.dirty) == (None, "trunk", False)


def test_outside_a_repository_or_missing_path_is_none(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None
    assert git_state(tmp_path / "does" / "not" / "exist") is None


def test_without_git_executable_is_none(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo))
    assert git_state(repo) is None


def test_git_state_does_not_take_the_index_lock(repo: Path) -> None:
    (repo / ".git" / "index.lock").write_text("")  # someone else is committing right now
    (repo / "train.py").write_text("lr = 0.3\n")
    assert git_state(repo).dirty is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://me:tok@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://tok@github.com/o/r", "https://github.com/o/r"),
        ("ssh://git@host:22/o/r.git", "ssh://git@host:22/o/r.git"),
        ("ftp://me:pw@host/r", "ftp://host/r"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected

"""The git state of the code a run used: commit, branch, dirty flag, the uncommitted diff, the remote.

Runs the ``git`` executable with a timeout (no library dependency) and never raises: outside a repository,
without git, or when git misbehaves, :func:`git_state` returns None. It never takes git's index lock
(``GIT_OPTIONAL_LOCKS=0``), so capturing a run cannot collide with the user's own ``git commit``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from jupyter_mlops.capture.redact import redact_text

__all__ = ["MAX_DIFF_BYTES", "GitState", "git_state", "strip_credentials"]

logger = logging.getLogger(__name__)

#: The uncommitted diff is capped at this size (a diff of a data file committed by mistake can be huge).
MAX_DIFF_BYTES = 1 << 20
GIT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class GitState:
    """Where the code came from.

    Attributes:
        commit: full hash of HEAD, or None in a repository without commits.
        branch: the current branch, or None when HEAD is detached.
        dirty: tracked files differ from HEAD (staged or not; untracked files do not count, as in ``git describe
            --dirty``).
        diff: ``git diff HEAD`` text (secrets redacted), at most :data:`MAX_DIFF_BYTES`.
        diff_truncated: the diff was longer than the cap.
        remote: the ``origin`` URL without credentials, or None.
        root: the repository's top folder.
    """

    commit: str | None
    branch: str | None
    dirty: bool
    diff: str = ""
    diff_truncated: bool = False
    remote: str | None = None
    root: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def strip_credentials(url: str) -> str:
    """A remote URL without credentials: any user part of http(s) URLs (it can be a token), passwords elsewhere.

    Examples:
        >>> strip_credentials("https://me:ghp_secret@github.com/org/repo.git")
        'https://github.com/org/repo.git'
        >>> strip_credentials("git@github.com:org/repo.git")
        'git@github.com:org/repo.git'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # scp-like ssh syntax carries no secret
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    if scheme.lower() not in ("http", "https") and ":" not in userinfo:
        return url  # ssh://git@host: the user name is not a secret
    return f"{scheme}://{host}{slash}{path}"


def _git(args: list[str], cwd: str, executable: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    return subprocess.run(
        [executable, *args],
        cwd=cwd,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        env=env,
        check=False,
    )


def _status(cwd: str, executable: str) -> tuple[str | None, str | None, bool] | None:
    completed = _git(["status", "--porcelain=v2", "--branch", "--untracked-files=no"], cwd, executable)
    if completed.returncode != 0:
        return None  # not a repository (or git refuses it, e.g. "dubious ownership")
    commit: str | None = None
    branch: str | None = None
    dirty = False
    for line in completed.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    return commit, branch, dirty


def _diff(cwd: str, executable: str, max_bytes: int) -> tuple[str, bool]:
    completed = _git(["diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv"], cwd, executable)
    if completed.returncode != 0:
        return "", False
    raw = completed.stdout
    truncated = len(raw) > max_bytes
    return redact_text(raw[:max_bytes].decode("utf-8", "replace")), truncated


def _remote_and_root(cwd: str, executable: str) -> tuple[str | None, str | None]:
    remote = _git(["config", "--get", "remote.origin.url"], cwd, executable)
    root = _git(["rev-parse", "--show-toplevel"], cwd, executable)
    url = remote.stdout.decode("utf-8", "replace").strip() if remote.returncode == 0 else ""
    top = root.stdout.decode("utf-8", "replace").strip() if root.returncode == 0 else ""
    return (strip_credentials(url) if url else None), (top or None)


def git_state(path: str | os.PathLike[str] = ".", max_diff_bytes: int = MAX_DIFF_BYTES) -> GitState | None:
    """The git state of the repository containing ``path``.

    Args:
        path: a file or folder inside the repository (a file's folder is used).
        max_diff_bytes: cap on the stored diff.

    Returns:
        A :class:`GitState`, or None without git, outside a repository, or on any git failure (one warning for
        failures other than "not a repository").
    """
    executable = shutil.which("git")
    if executable is None:
        return None
    cwd = os.fspath(path)
    if not os.path.isdir(cwd):
        cwd = os.path.dirname(os.path.abspath(cwd))
    try:
        status = _status(cwd, executable)
        if status is None:
            return None
        commit, branch, dirty = status
        diff, truncated = _diff(cwd, executable, max_diff_bytes) if dirty and commit else ("", False)
        remote, root = _remote_and_root(cwd, executable)
        return GitState(commit, branch, dirty, diff, truncated, remote, root)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.warning("git state not captured: %s", exc)
        return None

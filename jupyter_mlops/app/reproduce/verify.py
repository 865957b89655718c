"""What ``reproduce`` checks before it executes anything: data, environment and code, against what the run recorded.

Assumptions:
    * Data inputs are re-hashed with the store's stat cache and the recorded hash's own algorithm, so an unchanged
      1 GiB file costs a ``stat``, not a read. Only files and folders read from disk can be checked before the run;
      in-memory inputs (DataFrames, arrays) are left to the verdict.
    * The environment is compared on what decides results: the Python version and the installed packages (not the
      CPU, RAM or GPU, which the run details already show). It is read with ``capture.env.packages`` rather than the
      full snapshot, which would also ask ``nvidia-smi``.
    * Git is asked two questions: is the run's commit still in the repository, and does the working tree differ
      from HEAD now. A run recorded on a dirty tree is reported as such: its uncommitted diff is not re-applied.
"""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.entities import DataInput, Run

__all__ = ["DataCheck", "EnvCheck", "GitCheck", "Verification", "check_data", "check_env", "check_git"]

#: Data input kinds that live on disk and can be re-hashed before executing.
ON_DISK = ("file", "dir")


@dataclass(frozen=True)
class DataCheck:
    """One recorded data input now: ``status`` is ``unchanged``, ``changed``, ``missing`` or ``unchecked``."""

    name: str
    path: str | None
    status: str
    old_hash: str
    new_hash: str | None = None
    old_size: int | None = None
    new_size: int | None = None
    schema_diff: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"name": self.name, "path": self.path, "status": self.status, "old_hash": self.old_hash,
                "new_hash": self.new_hash, "old_size": self.old_size, "new_size": self.new_size,
                "schema_diff": self.schema_diff}


@dataclass(frozen=True)
class EnvCheck:
    """The recorded environment against this one (``recorded`` False when the run has no environment snapshot)."""

    recorded: bool
    python: list[str | None] | None = None
    packages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """Whether the Python version or any package differs."""
        return bool(self.python or self.packages)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"recorded": self.recorded, "python": self.python, "packages": self.packages, "differs": self.differs}


@dataclass(frozen=True)
class GitCheck:
    """The run's commit and the working tree now."""

    commit: str | None
    commit_reachable: bool | None
    recorded_dirty: bool | None
    head: str | None = None
    dirty_now: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"commit": self.commit, "commit_reachable": self.commit_reachable, "recorded_dirty": self.recorded_dirty,
                "head": self.head, "dirty_now": self.dirty_now}


@dataclass(frozen=True)
class Verification:
    """Everything checked before executing."""

    data: list[DataCheck]
    env: EnvCheck
    git: GitCheck

    @property
    def changed_data(self) -> list[DataCheck]:
        """Inputs whose content changed."""
        return [check for check in self.data if check.status == "changed"]

    @property
    def missing_data(self) -> list[DataCheck]:
        """Inputs no longer there."""
        return [check for check in self.data if check.status == "missing"]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"data": [c.to_dict() for c in self.data], "env": self.env.to_dict(), "git": self.git.to_dict()}


def _schema_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """Columns added/removed/retyped and the row count, between two recorded tabular schemas (None: no change).

    Schemas are read as the compare's data section reads them (:func:`comparing.sections.schema_columns`).
    """
    from jupyter_mlops.comparing.sections import schema_columns, schema_rows

    if not old or not new:
        return None
    before, after = schema_columns(old), schema_columns(new)
    diff: dict[str, Any] = {
        "added": [name for name in after if name not in before],
        "removed": [name for name in before if name not in after],
        "retyped": [{"name": name, "dtypes": [before[name], after[name]]}
                    for name in before if name in after and before[name] != after[name]],
    }
    rows = [schema_rows(old), schema_rows(new)]
    if rows[0] != rows[1]:
        diff["rows"] = rows
    return diff if any(diff.values()) else None


def _check_one(data: DataInput, cache: Any) -> DataCheck:
    from jupyter_mlops.capture import frames, hashing

    if data.kind not in ON_DISK or not data.path:
        return DataCheck(data.name, data.path, "unchecked", data.hash, old_size=data.size)
    target = Path(data.path)
    if not target.exists():
        return DataCheck(data.name, data.path, "missing", data.hash, old_size=data.size)
    algorithm = data.hash.partition(":")[0]
    if algorithm not in hashing.ALGORITHMS:
        algorithm = hashing.DEFAULT_ALGORITHM
    result = hashing.hash_path(target, cache, algorithm=algorithm)
    if result.hash == data.hash:
        return DataCheck(data.name, data.path, "unchanged", data.hash, result.hash, data.size, result.size)
    schema = frames.describe_tabular_file(target) if result.kind == "file" and data.schema else None
    return DataCheck(data.name, data.path, "changed", data.hash, result.hash, data.size, result.size,
                     _schema_diff(data.schema, schema))


def check_data(run: Run, stat_cache: Any) -> list[DataCheck]:
    """Re-hash every data input the run read (role ``input``), in recorded order."""
    return [_check_one(data, stat_cache) for data in run.data_inputs if data.role == "input"]


def check_env(recorded: dict[str, Any] | None) -> EnvCheck:
    """Compare a recorded environment snapshot with this interpreter's Python and packages."""
    from jupyter_mlops.capture import env

    if not recorded:
        return EnvCheck(recorded=False)
    now = {"python": {"version": platform.python_version()}, "packages": env.packages()}
    diff = env.snapshot_diff(recorded, now)
    return EnvCheck(recorded=True, python=diff["python"], packages=diff["packages"])


def _commit_exists(root: Path, commit: str) -> bool | None:
    try:
        completed = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, capture_output=True,
                                   timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None  # no git here: unknown, not "unreachable"
    return completed.returncode == 0


def check_git(run: Run, project_root: Path) -> GitCheck:
    """Whether the run's commit is reachable from ``project_root`` and whether the tree is dirty now."""
    from jupyter_mlops.capture import git

    state = git.git_state(project_root)
    reachable = _commit_exists(project_root, run.git_commit) if run.git_commit and state is not None else None
    return GitCheck(
        commit=run.git_commit,
        commit_reachable=reachable,
        recorded_dirty=run.git_dirty,
        head=state.commit if state is not None else None,
        dirty_now=state.dirty if state is not None else None,
    )

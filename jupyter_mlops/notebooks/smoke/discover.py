"""Which notebooks a smoke run executes: discovery, ``--changed-since`` and ``--shard``.

Discovery takes files, folders (recursively) and globs, and skips checkpoints, build output, virtual
environments, installed packages and hidden folders. Sharding is deterministic so that N CI machines given the
same inputs split the same list: by recorded durations (greedy longest-first onto the least-loaded shard) when
a previous ``--json`` report is given, else round-robin over paths ordered by a stable hash. A symlink that
loops or dangles is still a notebook the user named: it is kept, so that the runner reports it as
``bad-notebook`` and the rest of the call goes on (:func:`resolved` never raises on it).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import statistics
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from jupyter_mlops.errors import InvalidInput

SKIP_DIRS = frozenset({"build", "dist", "node_modules", "site-packages", "__pycache__", "venv", ".venv"})


def _skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".")  # hidden covers .ipynb_checkpoints, .git, .venv, .tox


def resolved(path: Path) -> Path:
    """``path.resolve()``, or the absolute path when resolving fails (a symlink loop raises on Python 3.11)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped_dir(d))
        for name in sorted(files):
            if name.endswith(".ipynb"):
                yield Path(root) / name


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Notebooks named by ``paths`` (files, folders, globs), in a stable order without duplicates.

    An explicitly named file is taken even when its folder would be skipped; a glob or folder match inside a
    skipped folder is not.

    Raises:
        InvalidInput: a path that does not exist or a glob that matches nothing.
    """
    found: list[Path] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_file() or path.is_symlink() and not path.is_dir():  # a broken link: a per-notebook error
            found.append(path)
        elif path.is_dir():
            found.extend(_walk(path))
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise InvalidInput(f"{text}: the pattern matches no files")
            for match in matches:
                candidate = Path(match)
                if candidate.is_dir():
                    found.extend(_walk(candidate))
                elif match.endswith(".ipynb") and not any(_skipped_dir(p) for p in candidate.parent.parts
                                                         if p not in (".", "..")):
                    found.append(candidate)
        else:
            raise InvalidInput(f"{text}: no such file or directory")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(resolved(path), path)
    return list(unique.values())


def changed_since(ref: str, cwd: str | Path | None = None) -> set[Path]:
    """Absolute paths changed in the working tree since git revision ``ref``, plus untracked files.

    Raises:
        InvalidInput: not in a git repository, or an unknown revision.
    """
    if ref.startswith("-"):
        raise InvalidInput(f"--changed-since {ref}: not a git revision")
    top = _git(["rev-parse", "--show-toplevel"], cwd, "--changed-since needs a git repository").strip()
    root = Path(top)
    changed = _git(["diff", "--name-only", "-z", ref, "--"], root, f"--changed-since {ref}: unknown revision")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], root, "git ls-files failed")
    names = [n for n in (changed + "\0" + untracked).split("\0") if n]
    return {resolved(root / name) for name in names}


def _git(args: list[str], cwd: str | Path | None, failure: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidInput(f"{failure} ({exc})") from None
    if out.returncode != 0:
        detail = out.stderr.strip().splitlines()
        raise InvalidInput(f"{failure}: {detail[-1] if detail else 'git failed'}")
    return out.stdout


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → (K, N) with 1 ≤ K ≤ N; raises InvalidInput otherwise."""
    k, sep, n = text.partition("/")
    try:
        shard, total = int(k), int(n)
    except ValueError:
        shard, total = 0, 0
    if not sep or total < 1 or not 1 <= shard <= total:
        raise InvalidInput(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return shard, total


def shard_key(path: Path) -> str:
    """How a notebook is named in reports and matched across runs: posix path relative to cwd when inside it."""
    try:
        return resolved(path).relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved(path).as_posix()


def load_durations(report: str | Path) -> dict[str, float]:
    """``{path: seconds}`` from a previous ``--json`` report."""
    file = Path(report)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        rows = data["notebooks"]
        return {str(r["path"]): float(r["duration"]) for r in rows if r.get("duration") is not None}
    except FileNotFoundError:
        raise InvalidInput(f"--durations-from {file}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput(f"--durations-from {file}: not an nb-smoke --json report") from None


def select_shard(notebooks: Sequence[Path], shard: int, total: int,
                 durations: dict[str, float] | None = None) -> list[Path]:
    """The notebooks of shard ``shard`` (1-based) of ``total``, in their original order."""
    keys = {nb: shard_key(nb) for nb in notebooks}
    assignment: dict[Path, int] = {}
    if durations:
        known = [d for d in durations.values() if d > 0]
        fallback = statistics.median(known) if known else 1.0  # a notebook new since the report costs the median
        cost = {nb: durations.get(keys[nb], fallback) for nb in notebooks}
        loads = [0.0] * total
        for nb in sorted(notebooks, key=lambda n: (-cost[n], keys[n])):
            target = min(range(total), key=lambda i: (loads[i], i))
            assignment[nb] = target
            loads[target] += cost[nb]
    else:
        ordered = sorted(notebooks, key=lambda n: (hashlib.sha1(keys[n].encode()).hexdigest(), keys[n]))
        assignment = {nb: i % total for i, nb in enumerate(ordered)}
    return [nb for nb in notebooks if assignment[nb] == shard - 1]

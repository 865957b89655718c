"""Wire git to notebooks: nbdime's diff and merge drivers plus our clean filter, for one repository.

The git config keys are the ones ``nbdime config-git --enable`` writes (``diff.jupyternotebook.command``,
``merge.jupyternotebook.driver``/``name``), set in the repository's own config (``--local``) so nothing outside
the repository changes. The clean filter (``filter.jupyter-mlops-clean.clean``) runs ``jupyter-mlops clean
--stdin``, so what git stores has no outputs or volatile metadata while the working copy keeps them. One line in
``.gitattributes`` routes ``*.ipynb`` to all three. Installing twice changes nothing; ``uninstall`` removes
exactly what ``install`` added.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_mlops.errors import InvalidInput, MlopsError

FILTER_NAME = "jupyter-mlops-clean"
ATTRIBUTES_LINE = f"*.ipynb diff=jupyternotebook merge=jupyternotebook filter={FILTER_NAME}"
ATTRIBUTES_COMMENT = "# jupyter-mlops: notebook diff/merge drivers (nbdime) and the clean filter"


@dataclass(frozen=True)
class HookReport:
    """What :func:`install_git_hooks` did.

    Attributes:
        repo: the repository's top-level folder.
        config: git config entries set (or removed), ``key -> value``.
        attributes_file: the ``.gitattributes`` file edited.
        changed: whether anything changed (False on a repeated install).
    """

    repo: Path
    config: dict[str, str]
    attributes_file: Path
    changed: bool


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MlopsError(f"cannot run git: {exc}") from None
    if check and result.returncode != 0:
        raise MlopsError(f"git {' '.join(args[:2])} failed: {result.stderr.strip() or result.returncode}")
    return result


def repo_root(start: Path | str | None = None) -> Path:
    """The top-level folder of the git repository containing ``start`` (default: cwd)."""
    folder = Path(start or ".").resolve()
    result = _git(folder, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise InvalidInput(f"{folder} is not inside a git repository")
    return Path(result.stdout.strip())


def _command(script: str, module: str) -> str:
    """``script`` when git will find it on PATH, else the same tool through this interpreter."""
    if shutil.which(script):
        return script
    beside = Path(sys.executable).parent / script
    if beside.is_file():
        return shlex.quote(str(beside))
    return f"{shlex.quote(sys.executable)} -m {module}"


def desired_config() -> dict[str, str]:
    """The git config entries :func:`install_git_hooks` sets."""
    return {
        "diff.jupyternotebook.command": f"{_command('git-nbdiffdriver', 'nbdime.vcs.git.diffdriver')} diff",
        "merge.jupyternotebook.driver": (
            f"{_command('git-nbmergedriver', 'nbdime.vcs.git.mergedriver')} merge %O %A %B %L %P"
        ),
        "merge.jupyternotebook.name": "jupyter notebook merge driver",
        f"filter.{FILTER_NAME}.clean": f"{_command('jupyter-mlops', 'jupyter_mlops')} clean --stdin",
    }


def install_git_hooks(start: Path | str | None = None, *, uninstall: bool = False) -> HookReport:
    """Configure (or remove) the notebook drivers and the clean filter for the repository containing ``start``.

    Args:
        start: any folder inside the repository (default: cwd).
        uninstall: remove the entries and the ``.gitattributes`` line instead.

    Returns:
        A :class:`HookReport`.

    Raises:
        InvalidInput: ``start`` is not inside a git repository.
    """
    repo = repo_root(start)
    wanted = desired_config()
    changed = False
    for key, value in wanted.items():
        got = _git(repo, "config", "--local", "--get", key, check=False)
        current = got.stdout.rstrip("\n") if got.returncode == 0 else None
        if uninstall and current is not None:
            _git(repo, "config", "--local", "--unset-all", key)
            changed = True
        elif not uninstall and current != value:
            _git(repo, "config", "--local", key, value)
            changed = True
    attributes = repo / ".gitattributes"
    changed = _edit_attributes(attributes, uninstall) or changed
    return HookReport(repo=repo, config=wanted, attributes_file=attributes, changed=changed)


def _edit_attributes(path: Path, uninstall: bool) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    ours = {ATTRIBUTES_LINE, ATTRIBUTES_COMMENT}
    if uninstall:
        kept = [line for line in lines if line.strip() not in ours]
        if kept == lines:
            return False
        path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
        return True
    if ATTRIBUTES_LINE in (line.strip() for line in lines):
        return False
    path.write_text("".join(f"{line}\n" for line in [*lines, ATTRIBUTES_COMMENT, ATTRIBUTES_LINE]), encoding="utf-8")
    return True

"""``jupyter-mlops enable`` / ``disable``: load the ``%track`` magics in every IPython kernel, or stop doing so.

The extension is added to ``c.InteractiveShellApp.extensions`` in the profile's ``ipython_config.py`` (which both
terminal IPython and ipykernel read) inside a marked block, so ``disable`` removes exactly what ``enable`` added
and leaves the user's own configuration alone. Running either twice changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

BEGIN = "# >>> jupyter-mlops >>>"
END = "# <<< jupyter-mlops <<<"
BLOCK = (
    f"{BEGIN}\n"
    "# Added by `jupyter-mlops enable`; remove with `jupyter-mlops disable`.\n"
    "c.InteractiveShellApp.extensions.append('jupyter_mlops')\n"
    f"{END}\n"
)


def profile_config(profile: str = "default", ipython_dir: str | None = None) -> Path:
    """Path of ``ipython_config.py`` for a profile (``$IPYTHONDIR`` or ``~/.ipython`` when not given)."""
    root = Path(ipython_dir or os.environ.get("IPYTHONDIR") or Path.home() / ".ipython").expanduser()
    return root / f"profile_{profile}" / "ipython_config.py"


def _without_block(text: str) -> str:
    start = text.find(BEGIN)
    if start < 0:
        return text
    end = text.find(END, start)
    end = len(text) if end < 0 else end + len(END)
    return (text[:start] + text[end:].lstrip("\n")).rstrip("\n") + ("\n" if text[:start].strip() else "")


def enable_extension(path: Path) -> bool:
    """Add the block to ``path`` (created if missing); False when it was already there."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if BEGIN in text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = text if not text or text.endswith("\n") else text + "\n"
    path.write_text(prefix + ("\n" if prefix.strip() else "") + BLOCK, encoding="utf-8")
    return True


def disable_extension(path: Path) -> bool:
    """Remove the block from ``path``; False when it was not there."""
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text:
        return False
    path.write_text(_without_block(text), encoding="utf-8")
    return True


_profile = click.option("--profile", default="default", show_default=True, help="IPython profile to change.")
_ipython_dir = click.option(
    "--ipython-dir", default=None, help="IPython directory (default: $IPYTHONDIR or ~/.ipython)."
)


@click.command()
@_profile
@_ipython_dir
def enable(profile: str, ipython_dir: str | None) -> None:
    """Load the %track magics in every IPython kernel and terminal (edits the profile's ipython_config.py)."""
    path = profile_config(profile, ipython_dir)
    changed = enable_extension(path)
    click.echo(f"{'Enabled' if changed else 'Already enabled'}: jupyter_mlops loads in every kernel ({path}).")


@click.command()
@_profile
@_ipython_dir
def disable(profile: str, ipython_dir: str | None) -> None:
    """Stop loading the %track magics automatically (%load_ext jupyter_mlops still works)."""
    path = profile_config(profile, ipython_dir)
    changed = disable_extension(path)
    click.echo(f"{'Disabled' if changed else 'Was not enabled'}: jupyter_mlops ({path}).")

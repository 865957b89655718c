"""Convert a notebook to a package (params module + one module per section + pipeline), a script, or a pair.

:func:`package_files` is pure (notebook in, ``{path: text}`` out); :func:`convert_notebook` reads, checks and
writes. Static analysis decides each section's inputs and outputs (see :mod:`.flow` for the rules).
"""

from __future__ import annotations

import keyword
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import Conflict, InvalidInput

TARGETS = ("package", "script")


@dataclass
class ConvertResult:
    """What a conversion wrote."""

    target: str
    output: Path
    files: list[Path] = field(default_factory=list)
    package: str | None = None
    sections: list[str] = field(default_factory=list)


def package_name(notebook: Path, name: str | None = None) -> str:
    """``--name`` if valid, else the snake_case notebook file name without leading digits (``01_eda`` → ``eda``)."""
    from jupyter_mlops.notebooks.convert.sections import snake_case

    if name is not None:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise InvalidInput(f"--name {name!r} is not a valid Python package name")
        return name
    name = re.sub(r"^[\d_]+", "", snake_case(re.sub(r"^[\d\W_]+", "", notebook.stem)))
    return name if name and not name.startswith("section") else "notebook"


def package_files(nb: Any, *, package: str, notebook: str, sections: str = "h2") -> dict[str, str]:
    """The files of the converted package, ``{"<package>/module.py": text}``.

    Raises:
        ConversionError: cells that cannot be converted (each named once, in one line).
        InvalidInput: an unknown section mode.
    """
    from jupyter_mlops.notebooks.convert.emit import render_package
    from jupyter_mlops.notebooks.convert.flow import build_plan

    plan = build_plan(nb, sections=sections, origin=notebook)
    return render_package(plan, package=package, notebook=notebook)


def _check_target(path: Path, force: bool) -> None:
    if path.exists() and (path.is_file() or any(path.iterdir())) and not force:
        raise Conflict(f"{path} already exists; pass --force to overwrite it")


def convert_notebook(
    path: str | Path,
    *,
    to: str = "package",
    output: str | Path | None = None,
    sections: str = "h2",
    name: str | None = None,
    force: bool = False,
) -> ConvertResult:
    """Convert the notebook at ``path``; the notebook itself is never modified.

    Args:
        path: the ``.ipynb`` file.
        to: ``package`` (a folder holding ``<name>/``) or ``script`` (one percent-format ``.py``).
        output: the folder (package) or file (script); defaults to ``<stem>_package`` in the current folder,
            or the notebook's path with ``.py``.
        sections: ``h1``/``h2``/``h3`` (headings up to that level start a section) or ``tag`` (``section:<name>``).
        name: the package name (default: the notebook's file name in snake_case).
        force: overwrite an existing output.

    Raises:
        NotebookError: unreadable notebook. ConversionError: unconvertible cells. Conflict: output exists.
    """
    from jupyter_mlops.notebooks.io import read_notebook

    if to not in TARGETS:
        raise InvalidInput(f"unknown target {to!r} (choose from {', '.join(TARGETS)})")
    source = Path(path)
    nb = read_notebook(source)
    if to == "script":
        from jupyter_mlops.notebooks.convert.pair import script_text

        target = Path(output) if output is not None else source.with_suffix(".py")
        text = script_text(nb, origin=source.name)
        _check_target(target, force)
        target.write_text(text, encoding="utf-8")
        return ConvertResult("script", target, [target])
    package = package_name(source, name)
    folder = Path(output) if output is not None else Path(f"{source.stem}_package")
    files = package_files(nb, package=package, notebook=source.name, sections=sections)
    _check_target(folder, force)
    if (folder / package).exists():
        shutil.rmtree(folder / package)  # stale section modules of an earlier conversion must not survive
    written = []
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    section_names = [Path(r).stem for r in files if Path(r).stem not in ("__init__", "__main__", "params", "pipeline")]
    return ConvertResult("package", folder, written, package, section_names)


def pair(path: str | Path, *, force: bool = False) -> ConvertResult:
    """Pair the notebook with a percent-format script (jupytext); this modifies the notebook's metadata.

    Raises:
        Conflict: the script exists and the notebook is not already paired with it (unless ``force``).
    """
    from jupyter_mlops.notebooks.convert.pair import PAIRED_FORMATS, pair_notebook
    from jupyter_mlops.notebooks.io import read_notebook

    source = Path(path)
    nb = read_notebook(source)
    script = source.with_suffix(".py")
    already = nb.metadata.get("jupytext", {}).get("formats") == PAIRED_FORMATS
    if script.exists() and not already and not force:
        raise Conflict(f"{script} already exists; pass --force to overwrite it")
    written = pair_notebook(source, nb)
    return ConvertResult("pair", written, [written, source])

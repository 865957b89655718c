"""Convert a notebook to a package (params module + one module per section + pipeline), a script, or a pair.

:func:`package_files` is pure (notebook in, ``{path: text}`` out); :func:`convert_notebook` reads, checks and
writes. Static analysis decides each section's inputs and outputs (see :mod:`.flow` for the rules).
"""

from __future__ import annotations

import ast
import keyword
import os
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
    #: why the .py computes something else than the notebook's run on purpose (jupytext ``active`` markers)
    notes: list[str] = field(default_factory=list)


#: the first line every generated ``__init__.py`` carries: ``--force`` replaces only folders that have it
_MARK = "by ``jupyter-mlops convert``"


def package_name(notebook: Path, name: str | None = None) -> str:
    """``name`` if valid, else the snake_case notebook file name without leading digits (``01_eda`` → ``eda``)."""
    from jupyter_mlops.notebooks.convert.sections import snake_case

    if name is not None:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise InvalidInput(f"{name!r} is not a valid Python package name (python -m imports the package by it)")
        return name
    name = re.sub(r"^[\d_]+", "", snake_case(re.sub(r"^[\d\W_]+", "", notebook.stem)))
    return name if name and not name.startswith("section") else "notebook"


def package_files(
    nb: Any, *, package: str, notebook: str, sections: str = "h2", notebook_folder: str = ".."
) -> dict[str, str]:
    """The files of the converted package, ``{"module.py": text}`` (the package folder's contents).

    Args:
        nb: the notebook (nbformat v4).
        package: the package name (used in its docstrings and help).
        notebook: the notebook's file name.
        sections: ``h1``/``h2``/``h3``/``tag``, see :func:`~.sections.split_sections`.
        notebook_folder: the notebook's folder relative to the package folder; the pipeline runs there.

    Raises:
        ConversionError: cells that cannot be converted (each named once, in one line).
        InvalidInput: an unknown section mode.
    """
    from jupyter_mlops.notebooks.convert.emit import render_package
    from jupyter_mlops.notebooks.convert.flow import build_plan

    plan = build_plan(nb, sections=sections, origin=notebook)
    for section in plan.sections:
        for item in section.code_items():
            if package in _imported_modules(item.infos):
                raise InvalidInput(
                    f"the package name {package!r} is also a module {notebook} imports (cell {item.cell_index}): "
                    "inside the package that import would find the package itself; choose another name"
                )
    return render_package(plan, package=package, notebook=notebook, notebook_folder=notebook_folder)


def _imported_modules(infos: list[Any]) -> set[str]:
    """Top-level module names the statements import (``import a.b as c`` → ``a``), relative imports excluded."""
    modules: set[str] = set()
    for info in infos:
        for node in ast.walk(info.node):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules


def _check_target(path: Path, force: bool) -> None:
    if path.exists() and (path.is_file() or any(path.iterdir())) and not force:
        raise Conflict(f"{path} already exists; pass --force to overwrite it")


def _package_target(output: str | Path | None, source: Path, name: str | None) -> tuple[Path, str]:
    """The package folder and name: OUTPUT is the package (its name is the package's), else ``./<name>``."""
    if output is None:
        package = package_name(source, name)
        return Path(package), package
    folder = Path(output)
    if name is not None and package_name(source, name) != folder.name:
        raise InvalidInput(
            f"--name {name} differs from OUTPUT's folder name {folder.name!r}: OUTPUT is the package folder and "
            f"python -m imports it by that name (drop --name, or give OUTPUT {folder.parent / name})"
        )
    if not folder.name.isidentifier() or keyword.iskeyword(folder.name):
        suggestion = folder.parent / package_name(Path(folder.name or "package"))
        raise InvalidInput(
            f"OUTPUT {str(folder)!r} is the package folder, and {folder.name!r} is not a valid Python package name "
            f"(python -m imports the package by it); try {suggestion}"
        )
    return folder, folder.name


def _clear_package(folder: Path, force: bool) -> None:
    """Make way for a package at ``folder``: an empty or missing folder, or (with ``force``) an earlier one."""
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return
    _check_target(folder, force)
    init = folder / "__init__.py"
    if folder.is_file() or not init.is_file() or _MARK not in init.read_text(encoding="utf-8", errors="replace"):
        raise Conflict(f"{folder} exists and is not a package written by convert; not replacing it, even with --force")
    shutil.rmtree(folder)  # stale section modules of an earlier conversion must not survive


def _relative_folder(notebook: Path, package: Path) -> str:
    """The notebook's folder as seen from the package folder (absolute where no relative path exists)."""
    try:
        return Path(os.path.relpath(notebook.resolve().parent, package.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return notebook.resolve().parent.as_posix()


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
        to: ``package`` (OUTPUT is the package folder; its name is the package name) or ``script`` (one
            percent-format ``.py``).
        output: the package folder, default ``./<name>``; or the script's path, default the notebook's path
            with ``.py``. Missing parent folders are created.
        sections: ``h1``/``h2``/``h3`` (headings up to that level start a section) or ``tag`` (``section:<name>``).
        name: the package name when ``output`` is not given (default: the notebook's file name in snake_case).
        force: overwrite an existing output (for a package: only a folder an earlier conversion wrote).

    Raises:
        NotebookError: unreadable notebook. ConversionError: unconvertible cells. Conflict: output exists.
        InvalidInput: an unknown target, or a package name that is not a Python identifier.
    """
    from jupyter_mlops.notebooks.convert.active import active_notes
    from jupyter_mlops.notebooks.io import read_notebook

    if to not in TARGETS:
        raise InvalidInput(f"unknown target {to!r} (choose from {', '.join(TARGETS)})")
    source = Path(path)
    nb = read_notebook(source)
    notes = active_notes(list(nb.cells))
    if to == "script":
        from jupyter_mlops.notebooks.convert.pair import script_text

        target = Path(output) if output is not None else source.with_suffix(".py")
        text = script_text(nb, origin=source.name)
        _check_target(target, force)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return ConvertResult("script", target, [target], notes=notes)
    folder, package = _package_target(output, source, name)
    files = package_files(
        nb, package=package, notebook=source.name, sections=sections,
        notebook_folder=_relative_folder(source, folder),
    )
    _clear_package(folder, force)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, text in files.items():
        target = folder / relative
        target.write_text(text, encoding="utf-8")
        written.append(target)
    section_names = [Path(r).stem for r in files if Path(r).stem not in ("__init__", "__main__", "params", "pipeline")]
    return ConvertResult("package", folder, written, package, section_names, notes)


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

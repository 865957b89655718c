"""Reading and writing v4 notebooks with one-line errors, and ``REV:path`` git references.

Every notebook-reading command goes through :func:`read_notebook` (nb-smoke through :func:`parse_notebook`), so
truncated JSON, non-UTF-8 bytes, a file that is not a notebook, an nbformat v3 file, a notebook failing
validation, JSON nested deeper than :data:`MAX_DEPTH` and a symlink loop all give the same one-line
``NotebookError`` naming the file, and the caller goes on with its other files. The depth limit exists because
every later step (nbformat, jsonschema, nbdime, the writers) recurses once or more per level: a hostile file of
200,000 ``[`` would otherwise surface as a ``RecursionError`` anywhere. nbformat is imported lazily: its import
costs seconds.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from jupyter_mlops.errors import NotebookError

#: Deepest nesting of JSON arrays/objects accepted in a notebook. Real notebooks stay far below it (a notebook
#: is ~6 levels, plotly/vega/widget outputs add ~20); the readers, validator and differs recurse per level, and
#: 100 keeps them well inside Python's default recursion limit of 1,000 even from a deep caller.
MAX_DEPTH = 100


def import_nbformat() -> ModuleType:
    """Import nbformat without jsonschema's optional ``rfc3987_syntax`` (seconds of grammar building).

    jsonschema registers its ``iri`` format checkers only when that package imports; nbformat's schemas use no
    ``format`` keyword, so validation is unchanged. The block is lifted right after, so a later explicit import
    of ``rfc3987_syntax`` still works; when jsonschema is already loaded there is nothing to save.
    """
    if "nbformat" not in sys.modules and "jsonschema" not in sys.modules:
        blocked = "rfc3987_syntax" not in sys.modules
        if blocked:
            sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
        try:
            import nbformat  # noqa: F401
        finally:
            if blocked and sys.modules.get("rfc3987_syntax", True) is None:
                del sys.modules["rfc3987_syntax"]
    import nbformat

    return nbformat


def parse_notebook(text: str | bytes, origin: str, *, validate: bool = True) -> Any:
    """Parse notebook JSON into an ``nbformat.NotebookNode`` (v4), raising NotebookError with ``origin`` named.

    Args:
        text: the file's content.
        origin: how to name the source in errors (a path or ``REV:path``).
        validate: run nbformat's schema validation.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotebookError(f"{origin}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{origin}: not valid notebook JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise NotebookError(f"{origin}: JSON nested too deeply (more than {MAX_DEPTH} levels)") from None
    if json_depth(data) > MAX_DEPTH:
        raise NotebookError(f"{origin}: JSON nested too deeply (more than {MAX_DEPTH} levels)")
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError(f"{origin}: not a Jupyter notebook (no 'cells')")
    major = data.get("nbformat")
    if major != 4:
        hint = " — upgrade it with `jupyter nbconvert --to notebook --inplace`" if major == 3 else ""
        raise NotebookError(f"{origin}: nbformat v{major} is not supported, v4 is required{hint}")
    import_nbformat()
    from nbformat.v4.nbjson import JSONReader

    try:
        # As nbformat.reads does: multi-line sources/outputs stored as lists are joined (nbclient needs strings).
        node = JSONReader().to_notebook(data)
        if validate:
            # Not nbformat.validate: that "repairs" duplicate or missing cell ids with random ones (ADR-031).
            from jupyter_mlops.notebooks.format_checks import validation_problem

            problem = validation_problem(node)
            if problem is not None:
                raise NotebookError(f"{origin}: fails nbformat validation at {problem}")
    except RecursionError:  # MAX_DEPTH should prevent it; called from a deep stack it still must not escape
        raise NotebookError(f"{origin}: JSON nested too deeply to read here") from None
    return node


def json_depth(data: Any) -> int:
    """How deeply JSON arrays/objects nest in ``data`` (0 for a scalar), without recursion.

    Stops counting once past :data:`MAX_DEPTH`, so a hostile file costs no more than a walk to that depth.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_notebook(path: str | Path, *, validate: bool = True) -> Any:
    """Read a notebook file or a ``REV:path`` git reference (see :func:`read_git_ref`)."""
    text = str(path)
    if is_git_ref(text):
        return parse_notebook(read_git_ref(text), text, validate=validate)
    file = Path(path)
    return parse_notebook(read_notebook_bytes(file), str(file), validate=validate)


def read_notebook_bytes(file: Path, origin: str | None = None) -> bytes:
    """The raw bytes of a notebook file, or NotebookError naming ``origin`` (default: the path)."""
    name = str(file) if origin is None else origin
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise NotebookError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise NotebookError(f"{name}: is a directory, not a notebook") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotebookError(f"{name}: symlink loop (too many levels of symbolic links)") from None
        raise NotebookError(f"{name}: cannot read ({exc.strerror})") from None


def notebook_to_text(nb: Any) -> str:
    """Serialise like Jupyter does (1-space indent, trailing newline), for byte-stable writes.

    The v4 writer directly, not ``nbformat.writes``: that validates first, and validating repairs duplicate or
    missing cell ids with random ones, so the same notebook would serialise differently on every call.
    """
    return import_nbformat().v4.writes_json(nb) + "\n"


def write_notebook(nb: Any, path: str | Path) -> None:
    """Write a notebook atomically (temp file + rename), so an interrupted write never truncates it."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(notebook_to_text(nb), encoding="utf-8")
    tmp.replace(target)


def is_git_ref(text: str) -> bool:
    """True for ``REV:path`` (but not for a Windows drive or an existing file named with a colon)."""
    if ":" not in text or Path(text).exists():
        return False
    rev, _, rel = text.partition(":")
    return bool(rev) and bool(rel) and len(rev) > 1


def read_git_ref(ref: str, cwd: str | Path | None = None) -> bytes:
    """The bytes of ``path`` at git revision ``REV`` (``git show REV:path``), or NotebookError."""
    rev, _, rel = ref.partition(":")
    if rev.startswith("-"):
        raise NotebookError(f"{ref}: invalid git revision")
    try:
        out = subprocess.run(
            ["git", "show", f"{rev}:{rel}"], cwd=cwd, capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotebookError(f"{ref}: cannot run git ({exc})") from None
    if out.returncode != 0:
        message = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise NotebookError(f"{ref}: {message[-1] if message else 'not found in git'}")
    return out.stdout


#: Folder names never searched for notebooks (checkpoints, environments, build output).
SKIPPED_FOLDERS = frozenset({".ipynb_checkpoints", "node_modules", "__pycache__", "build", "dist", "site-packages"})


def expand_notebook_paths(paths: list[str]) -> list[str]:
    """Expand folders to the ``*.ipynb`` files below them (sorted; hidden and build folders skipped).

    Files and ``REV:path`` references are returned as given, so a missing file still reaches
    :func:`read_notebook` and gets its one-line error.
    """
    result: list[str] = []
    for text in paths:
        folder = Path(text)
        if not folder.is_dir():
            result.append(text)
            continue
        for found in sorted(folder.rglob("*.ipynb")):
            parts = found.relative_to(folder).parts[:-1]
            if not any(p in SKIPPED_FOLDERS or p.startswith(".") for p in parts):
                result.append(str(found))
    return result

"""One diff for notebooks, git revisions and runs: what ``jupyter-mlops diff`` prints and ``GET diff`` serves.

A side of a diff is a notebook file, a ``REV:path`` git reference, or a run (its executed-code snapshot, as a
notebook of code cells in execution order). Files and git references are read by :mod:`jupyter_mlops.notebooks.io`;
a run is looked up here, in the run store, because :mod:`jupyter_mlops.notebooks` works on nbformat objects and
never opens a store. Both sides then go through the same engine, :func:`jupyter_mlops.notebooks.diff.diff_notebooks`
(nbdime, noise removed as :class:`DiffOptions` says), and every face returns its ``to_dict()`` unchanged: the
JSON shape is documented in ``docs/hygiene.md`` ("JSON output").

The compare's code section (``Comparison.code``) shows the same engine's cell records (ADR-042), built from
snapshots the compare has already loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_mlops.errors import NotebookError, NotFound, StoreUnavailable

if TYPE_CHECKING:
    from jupyter_mlops.notebooks.diff import DiffOptions, NotebookDiff
    from jupyter_mlops.store.base import Store

#: Longest reference quoted whole in an error message (a hostile argument must not flood the one error line).
MAX_SHOWN = 80
#: Longer references are not looked up as runs (run names are at most 200 characters).
MAX_RUN_REF = 256

__all__ = ["RunSource", "Side", "diff_refs", "diff_runs", "diff_sides", "is_notebook_ref", "load_side",
           "run_side", "shown"]


class RunSource(Protocol):
    """Where run ids are looked up: a run store and its blob store (a ``Workspace`` is one)."""

    @property
    def store(self) -> Store:
        """The run store."""

    @property
    def blobs(self) -> Any:
        """Its blob store (``get_json(hash)``)."""


@dataclass(frozen=True)
class Side:
    """One side of a diff: the notebook to compare and how the result names it.

    Attributes:
        notebook: an nbformat ``NotebookNode``.
        label: the file path or ``REV:path`` as given, or ``run:<full id>``.
    """

    notebook: Any
    label: str


def is_notebook_ref(ref: str) -> bool:
    """Whether ``ref`` names a notebook file or a ``REV:path`` git reference (rather than a run)."""
    from jupyter_mlops.notebooks.io import is_git_ref

    if ref.endswith(".ipynb") or is_git_ref(ref):
        return True
    try:
        return Path(ref).exists()
    except (OSError, ValueError):  # a name too long for the filesystem, a NUL byte: not a file, maybe a run name
        return False


def shown(ref: str) -> str:
    """``ref`` as an error message quotes it: at most :data:`MAX_SHOWN` characters, control characters escaped."""
    if len(ref) <= MAX_SHOWN and ref.isprintable():
        return ref
    return repr(ref[:MAX_SHOWN]) + ("…" if len(ref) > MAX_SHOWN else "")


def run_side(source: RunSource, ref: str) -> Side:
    """A run's executed-code snapshot as a notebook of code cells, labelled ``run:<id>``.

    Args:
        source: the stores to look the run up in.
        ref: a run id, unique id prefix or unique run name.

    Raises:
        NotFound: no such run, or the run has no executed-code snapshot (or its blob is gone).
        Conflict: the reference matches more than one run.
        NotebookError: the snapshot is not a code snapshot.
    """
    from jupyter_mlops.notebooks.diff import notebook_from_code_snapshot

    if len(ref) > MAX_RUN_REF:  # no run is named like that; the store would quote it whole in its error
        raise NotFound(f"no run matches {shown(ref)} (by id, id prefix or name)")
    store = source.store
    run = store.get_run(store.resolve_run(ref))
    if not run.code_hash:
        raise NotFound(f"run {run.id} has no executed-code snapshot to diff")
    try:
        snapshot = source.blobs.get_json(run.code_hash)
    except (OSError, ValueError) as exc:
        # A damaged or vanished blob is that run's problem, reported in one line, not a crash of the diff.
        raise NotebookError(f"run {run.id}: its executed-code snapshot cannot be read ({type(exc).__name__})") from None
    return Side(notebook_from_code_snapshot(snapshot, origin=f"run {run.id}"), f"run:{run.id}")


def load_side(ref: str, runs: RunSource | None = None) -> Side:
    """The notebook ``ref`` names: a file, a ``REV:path`` reference, or a run.

    Args:
        ref: what the user typed.
        runs: where run ids are looked up; its store is opened only when ``ref`` is not a notebook reference.
            None: files and git references only.

    Raises:
        NotebookError: the file or git reference cannot be read as a notebook.
        NotFound: no such file, git reference or run (or no run store to look it up in).
        Conflict: ``ref`` matches more than one run.
    """
    if is_notebook_ref(ref):
        from jupyter_mlops.notebooks.io import read_notebook

        return Side(read_notebook(ref), ref)
    if runs is None:
        raise NotFound(f"{shown(ref)}: no such notebook file or REV:path")
    try:
        return run_side(runs, ref)
    except StoreUnavailable as exc:
        raise NotFound(f"{shown(ref)}: no such file, REV:path or run ({exc.message})") from None


def diff_sides(a: Side, b: Side, options: DiffOptions | None = None) -> NotebookDiff:
    """The engine's diff of two loaded sides (``options`` default: sources and cell types, no noise)."""
    from jupyter_mlops.notebooks.io import import_nbformat

    import_nbformat()  # before nbdime imports nbformat: skips a second of jsonschema grammar building
    from jupyter_mlops.notebooks.diff import DiffOptions, diff_notebooks

    return diff_notebooks(a.notebook, b.notebook, options or DiffOptions(), labels=(a.label, b.label))


def diff_refs(a: str, b: str, options: DiffOptions | None = None, runs: RunSource | None = None) -> NotebookDiff:
    """Diff two references (files, ``REV:path``, runs); see :func:`load_side` for ``runs``."""
    return diff_sides(load_side(a, runs), load_side(b, runs), options)


def diff_runs(source: RunSource, a: str, b: str) -> NotebookDiff:
    """The executed-code diff of run ``b`` against run ``a`` (what ``GET diff?a=&b=`` serves).

    Only run references are accepted: the REST face never turns a request into a file path.

    Raises:
        NotFound, Conflict, NotebookError: as :func:`run_side`.
    """
    return diff_sides(run_side(source, a), run_side(source, b))

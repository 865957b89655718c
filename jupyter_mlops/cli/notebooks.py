"""``diff``, ``lint``, ``clean`` and ``install-git-hooks``: thin click faces over :mod:`jupyter_mlops.notebooks`.

Heavy imports (nbformat, nbdime, the store) happen inside the commands. A bad notebook in a multi-file call gives
one ``Error: <file>: ...`` line on stderr, the other files are still processed, and the exit status is 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from jupyter_mlops.errors import MlopsError, NotebookError

BAD_INPUT = 2


def _error(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


def _notes(nb: Any, label: str) -> None:
    """One ``note: <file>: ...`` line per cell-id or format problem (nbformat would only warn, or repair at random)."""
    from jupyter_mlops.notebooks.format_checks import notes

    for note in notes(nb):
        click.echo(f"note: {label}: {note}", err=True)


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


# -- diff -------------------------------------------------------------------------------------------------------

@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--outputs", is_flag=True, help="Include outputs (default: ignored).")
@click.option("--sources-only", is_flag=True, help="Compare only cell sources and types.")
@click.option("--metadata", is_flag=True, help="Include all metadata, execution counts and cell ids.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text (coloured on a terminal) or json (nbdime diff + summary).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write a self-contained HTML diff.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on for a terminal).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the notebooks differ.")
@click.option("--store", "store_url", help="Run store URL, for run-id arguments (default: project settings).")
def diff(a: str, b: str, outputs: bool, sources_only: bool, metadata: bool, fmt: str, html_file: str | None,
         color: bool | None, exit_code: bool, store_url: str | None) -> None:
    """Diff two notebooks without noise: A and B are files, REV:path git references, or run ids.

    Execution counts, volatile metadata, cell ids and outputs are ignored unless asked for. The summary first
    lists changed parameters-cell values and changed data paths read.

    \b
    Examples:
      jupyter-mlops diff train.ipynb HEAD~1:train.ipynb
      jupyter-mlops diff a1b2c3 d4e5f6 --format json
      jupyter-mlops diff old.ipynb new.ipynb --html diff.html --exit-code
    """
    from jupyter_mlops.notebooks.io import import_nbformat

    import_nbformat()
    from jupyter_mlops.app.diff import diff_sides, load_side
    from jupyter_mlops.notebooks.diff import DiffOptions
    from jupyter_mlops.notebooks.diff.render import render_html, render_terminal

    options = DiffOptions(outputs=outputs, sources_only=sources_only, metadata=metadata)
    from jupyter_mlops.app.workspace import Workspace

    # Opened only when an argument is a run, and never created: a mistyped file name leaves no store behind.
    runs, sides, failed = Workspace.from_url(store_url), [], False
    try:
        for ref in (a, b):  # both notebooks are read, so that one call reports every unreadable file
            try:
                sides.append(load_side(ref, runs))
            except NotebookError as exc:
                _error(exc.message)
                failed = True
    finally:
        runs.close()
    if failed:
        sys.exit(BAD_INPUT)
    for side in sides:
        _notes(side.notebook, side.label)
    result = diff_sides(sides[0], sides[1], options).to_dict()
    if fmt == "json":
        import json

        click.echo(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        use_color = sys.stdout.isatty() if color is None else color
        click.echo(render_terminal(result, color=use_color), nl=False)
    if html_file:
        Path(html_file).write_text(render_html(result), encoding="utf-8")
    if exit_code and not result["identical"]:
        sys.exit(1)


# -- lint -------------------------------------------------------------------------------------------------------

@click.command("lint")
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text, json, or GitHub workflow annotations.")
@click.option("--disable", multiple=True, metavar="IDS", help="Rule ids to skip (repeatable, comma-separated).")
@click.option("--max-output-bytes", type=click.IntRange(min=1), help="Size limit of one output (NB006).")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
def lint(paths: tuple[str, ...], fmt: str, disable: tuple[str, ...], max_output_bytes: int | None,
         list_rules: bool) -> None:
    """Report notebook hygiene problems in notebooks and folders (default: the current folder, like ruff).

    PATH may also be REV:path. Configure in pyproject.toml under [tool.jupyter-mlops.lint]: disable = ["NB003"],
    max-output-bytes = 100000. Exit status: 0 clean, 1 findings, 2 unreadable notebook or bad configuration.

    \b
    Examples:
      jupyter-mlops lint notebooks/
      jupyter-mlops lint --format github --disable NB003 train.ipynb
    """
    from jupyter_mlops.notebooks import lint as lint_mod

    if list_rules:
        for rule in lint_mod.all_rules().values():
            click.echo(f"{rule.id}  {rule.name:20}  {rule.description}")
        return
    paths = paths or (".",)  # like ruff and nb-smoke
    from jupyter_mlops.notebooks.io import import_nbformat

    import_nbformat()
    from jupyter_mlops.config import find_project_root, read_tool_table
    from jupyter_mlops.notebooks.io import expand_notebook_paths, read_notebook

    table = dict(read_tool_table(find_project_root()).get("lint", {}) or {})
    if max_output_bytes is not None:
        table["max-output-bytes"] = max_output_bytes
    config = lint_mod.LintConfig.from_table(table, _split_ids(disable))
    findings, errors, raw = [], [], {}
    for path in expand_notebook_paths(list(paths)):
        try:
            nb = read_notebook(path)
        except NotebookError as exc:
            errors.append(exc.message)
            _error(exc.message)
            continue
        findings.extend(lint_mod.lint_notebook(nb, path, config))
        if fmt == "github" and Path(path).is_file():
            raw[path] = Path(path).read_text(encoding="utf-8")
    if fmt == "json":
        click.echo(lint_mod.format_json(findings, errors), nl=False)
    elif fmt == "github":
        click.echo(lint_mod.format_github(findings, raw), nl=False)
        for message in errors:
            click.echo(f"::error title=bad notebook::{message}")
    else:
        click.echo(lint_mod.format_text(findings), nl=False)
    sys.exit(BAD_INPUT if errors else 1 if findings else 0)


# -- clean ------------------------------------------------------------------------------------------------------

@click.command("clean")
@click.argument("paths", nargs=-1)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any notebook would change.")
@click.option("--stdin", "use_stdin", is_flag=True, help="Clean the notebook on stdin to stdout (git filter).")
def clean(paths: tuple[str, ...], check: bool, use_stdin: bool) -> None:
    """Strip outputs, execution counts and volatile metadata from notebooks, in place.

    Cells tagged keep-output keep their outputs; tags and cell ids are never removed. A second run changes
    nothing (byte-identical).

    \b
    Examples:
      jupyter-mlops clean notebooks/
      jupyter-mlops clean --check train.ipynb    # in CI or pre-commit
    """
    from jupyter_mlops.notebooks.io import import_nbformat

    import_nbformat()
    from jupyter_mlops.notebooks.clean import clean_notebook
    from jupyter_mlops.notebooks.io import expand_notebook_paths, notebook_to_text, parse_notebook

    if use_stdin:
        if paths or check:
            raise click.UsageError("--stdin takes no paths and no --check")
        nb = _cleanable(parse_notebook(sys.stdin.buffer.read(), "<stdin>"), "<stdin>")
        sys.stdout.write(notebook_to_text(clean_notebook(nb)))
        return
    if not paths:
        raise click.UsageError("give at least one notebook or folder (or --stdin)")
    failed, dirty = False, []
    for path in expand_notebook_paths(list(paths)):
        try:
            changed = _clean_file(path, check)
        except (NotebookError, OSError) as exc:
            _error(exc.message if isinstance(exc, MlopsError) else f"{path}: cannot write ({exc})")
            failed = True
            continue
        if changed:
            dirty.append(path)
            click.echo(f"{'would clean' if check else 'cleaned'} {path}")
    if failed:
        sys.exit(BAD_INPUT)
    sys.exit(1 if check and dirty else 0)


def _clean_file(path: str, check: bool) -> bool:
    """Clean one file; True when its bytes change (or would, with ``check``)."""
    from jupyter_mlops.notebooks.clean import clean_notebook
    from jupyter_mlops.notebooks.io import is_git_ref, notebook_to_text, read_notebook, write_notebook

    if is_git_ref(path):
        raise NotebookError(f"{path}: clean works on files, not git references")
    cleaned = clean_notebook(_cleanable(read_notebook(path), path))
    if notebook_to_text(cleaned).encode("utf-8") == Path(path).read_bytes():
        return False
    if not check:
        write_notebook(cleaned, path)
    return True


def _cleanable(nb: Any, label: str) -> Any:
    """``nb``, after its notes; NotebookError for duplicate cell ids (nbformat would pick a random new id)."""
    from jupyter_mlops.notebooks.format_checks import duplicate_cell_ids, duplicate_id_message

    duplicates = duplicate_cell_ids(nb)
    if duplicates:
        cell_id, indices = next(iter(duplicates.items()))
        raise NotebookError(f"{label}: {duplicate_id_message(cell_id, indices)}; give each cell its own id "
                            "(or open and save it in Jupyter) and clean again")
    _notes(nb, label)
    return nb


# -- install-git-hooks ------------------------------------------------------------------------------------------

@click.command("install-git-hooks")
@click.option("--uninstall", is_flag=True, help="Remove the drivers, the filter and the .gitattributes line.")
@click.option("--repo", type=click.Path(file_okay=False, exists=True), default=".", help="Folder in the repository.")
def install_git_hooks(uninstall: bool, repo: str) -> None:
    """Configure nbdime's git diff/merge drivers and a clean filter for *.ipynb in this repository.

    Git then shows notebook diffs cell by cell, merges notebooks with nbdime, and stores notebooks without
    outputs or volatile metadata (the working copy keeps them). Running it twice changes nothing.

    
    Examples:
      jupyter-mlops install-git-hooks
      jupyter-mlops install-git-hooks --uninstall
    """
    from jupyter_mlops.notebooks.githooks import install_git_hooks as install

    report = install(repo, uninstall=uninstall)
    verb = "removed from" if uninstall else "configured in"
    if not report.changed:
        click.echo(f"nothing to do: notebook git hooks already {'absent from' if uninstall else 'configured in'} "
                   f"{report.repo}")
        return
    click.echo(f"notebook diff/merge drivers and clean filter {verb} {report.repo}")
    for key, value in report.config.items():
        click.echo(f"  git config {key} {'(unset)' if uninstall else repr(value)}")
    click.echo(f"  {report.attributes_file}")

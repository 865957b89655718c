"""``jupyter-mlops runs``: list, show, compare, tag, note, delete, export runs and build their chart rollups.

A thin face: each command parses its options, calls a use case of :mod:`jupyter_mlops.app` over a
:class:`~jupyter_mlops.app.workspace.Workspace` (never creating a store), and draws the result with
:mod:`jupyter_mlops.render`. Errors are ``MlopsError`` subclasses that ``cli.main`` turns
into one line and an exit code. JSON output is stable and documented in ``docs/compare-json.md``. Heavy modules
(the store, rich) are imported inside the commands so ``runs list`` starts fast.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.cli._options import (
    filter_option,
    format_option,
    limit_option,
    non_negative,
    sort_option,
    stdin_is_terminal,
    store_option,
)
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.render.safe import terminal_text


def _json_out(data: Any) -> None:
    from jupyter_mlops.comparing.model import json_safe

    click.echo(json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False))


def _console() -> Any:
    from rich.console import Console

    # Piped output gets a wide, fixed width so tables are not squeezed to 80 columns.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(highlight=False, width=width)


@click.group("runs")
def runs() -> None:
    """List, show, compare, tag, annotate, export and delete runs.

    RUN arguments accept a full run id, a unique id prefix (at least 4 characters) or a unique run name.
    """


@runs.command("list")
@store_option
@filter_option
@sort_option
@limit_option(50)
@click.option("--offset", type=int, default=0, callback=non_negative, help="Skip this many runs (paging).")
@click.option("--metric", "metrics", multiple=True, metavar="KEY", help="Metric column for the table (repeatable).")
@click.option("--remote", "remote", is_flag=False, flag_value="", default=None, metavar="[URL]",
              help="List the team store's runs instead (default URL: remote in [tool.jupyter-mlops]).")
@format_option("table", "json", "csv")
def list_runs(
    store_url: str | None,
    filter_text: str | None,
    sort: tuple[str, ...],
    limit: int | None,
    offset: int,
    metrics: tuple[str, ...],
    remote: str | None,
    fmt: str,
) -> None:
    """List runs, newest first.

    \b
    Examples:
      jupyter-mlops runs list
      jupyter-mlops runs list --filter 'metrics.auc >= 0.8 and tag = "baseline"' --sort 'metrics.auc desc'
      jupyter-mlops runs list --format csv --limit 1000 > runs.csv
      jupyter-mlops runs list --remote
    """
    from jupyter_mlops import render
    from jupyter_mlops.app.runs import list_runs

    with Workspace.from_url(store_url) as workspace:
        if remote is not None:
            from jupyter_mlops.app.sync import list_remote_runs

            page = list_remote_runs(workspace, remote or None, filter_text, sort, limit=limit, offset=offset)
        else:
            page = list_runs(workspace, filter_text, sort, limit=limit, offset=offset)
    if fmt == "json":
        _json_out({"runs": [r.to_dict() for r in page.items], "total": page.total, "offset": offset, "limit": limit})
    elif fmt == "csv":
        click.echo(render.runs_csv(page.items), nl=False)
    elif not page.items:
        click.echo("No runs match." if filter_text else "No runs yet.")
    else:
        console = _console()
        console.print(render.runs_table(page.items, list(metrics) or None, width=console.width))
        if page.total > len(page.items):
            console.print(f"{len(page.items)} of {page.total} runs (use --limit/--offset for more)", style="dim")


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@store_option
@format_option("table", "json")
def show(run_ref: str, store_url: str | None, fmt: str) -> None:
    """Show one run: params, metrics, data inputs and their profiles, artifacts, environment, tags and note.

    \b
    Examples:
      jupyter-mlops runs show baseline
      jupyter-mlops runs show 3f2a --format json
    """
    from jupyter_mlops import render
    from jupyter_mlops.app.runs import show_run

    with Workspace.from_url(store_url) as workspace:
        detail = show_run(workspace, run_ref)
    if fmt == "json":
        _json_out({"run": detail.run.to_dict(), "env": detail.env, "code": detail.code, "profiles": detail.profiles})
        return
    console = _console()
    for item in render.run_renderables(detail.run, detail.env):
        console.print(item)
    if detail.profiles:
        from jupyter_mlops.render.data_check import profile_text

        for name, profile in detail.profiles.items():
            click.echo("\n" + profile_text(name, profile), nl=False)


@runs.command("compare")
@click.argument("run_refs", metavar="RUN...", nargs=-1)
@click.option("--last", "last", type=int, default=None, metavar="N", help="Compare the N most recent runs.")
@filter_option
@click.option("--all", "all_values", is_flag=True, help="Show unchanged values too (default: only differences).")
@format_option("table", "json", "markdown", "html")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
@store_option
def compare(
    run_refs: tuple[str, ...],
    last: int | None,
    filter_text: str | None,
    all_values: bool,
    fmt: str,
    output: str | None,
    store_url: str | None,
) -> None:
    """Compare runs: why is this run different? The first run is the baseline.

    Sections, in order: changed params, changed code (executed cells added/removed/changed), changed data
    (hash, size, rows, columns, dtypes), changed environment (Python, packages), metrics with deltas and the
    best run, notebook-state flags. With --last N the oldest of the N is the baseline; --filter narrows --last.

    \b
    Examples:
      jupyter-mlops runs compare baseline tuned
      jupyter-mlops runs compare --last 3 --filter 'experiment = "churn"'
      jupyter-mlops runs compare baseline tuned --format markdown > comparison.md
    """
    from jupyter_mlops import render
    from jupyter_mlops.app.compare import compare_runs
    from jupyter_mlops.app.runs import choose_runs

    with Workspace.from_url(store_url) as workspace:
        ids = choose_runs(workspace, run_refs, last, filter_text)
        if not ids:
            # exit 1 like an unknown run (docs/cli.md): the input was fine, the runs are not there
            raise NotFound(f"no runs match {filter_text!r}" if filter_text else "no runs to compare yet")
        # The comparison only (ADR-041): chart specs are for views that draw them; the REST reply carries them.
        comparison = compare_runs(workspace.store, workspace.blobs, ids, all_values=all_values)
    if fmt == "table" and output is None:
        console = _console()
        for item in render.comparison_renderables(comparison):
            console.print(item)
        return
    if fmt == "json":
        text = json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
    elif fmt == "markdown":
        text = render.render_comparison_markdown(comparison)
    elif fmt == "html":
        text = render.render_comparison_html(comparison)
    else:
        text = render.render_comparison_text(comparison)
    _write(text, output)


def _write(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text.rstrip("\n"))
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as error:
        raise InvalidInput(f"cannot write {output}: {error.strerror}") from None
    click.echo(f"Wrote {output}", err=True)


@runs.command("tag")
@click.argument("run_ref", metavar="RUN")
@click.argument("tags", metavar="TAG...", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Remove these tags instead of adding them.")
@store_option
def tag(run_ref: str, tags: tuple[str, ...], remove: bool, store_url: str | None) -> None:
    """Add tags to a run (or remove them with --remove).

    \b
    Examples:
      jupyter-mlops runs tag tuned candidate reviewed
      jupyter-mlops runs tag tuned candidate --remove
    """
    cleaned = [t.strip() for t in tags]
    if any(not t for t in cleaned):
        raise InvalidInput("tags must not be empty")
    from jupyter_mlops.app.runs import edit_run

    with Workspace.from_url(store_url) as workspace:
        run = edit_run(workspace, run_ref, remove_tags=cleaned if remove else (), add_tags=() if remove else cleaned)
    click.echo(f"{run.id[:8]} tags: {terminal_text(', '.join(run.tags)) or '(none)'}")


@runs.command("note")
@click.argument("run_ref", metavar="RUN")
@click.argument("text", metavar="TEXT")
@click.option("--append", is_flag=True, help="Append to the existing note instead of replacing it.")
@store_option
def note(run_ref: str, text: str, append: bool, store_url: str | None) -> None:
    """Set a run's note (TEXT, or - to read it from stdin).

    \b
    Examples:
      jupyter-mlops runs note tuned "lr 0.05 overfits after epoch 12"
      git log -1 --format=%B | jupyter-mlops runs note tuned -
    """
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    from jupyter_mlops.app.runs import edit_run

    with Workspace.from_url(store_url) as workspace:
        run = edit_run(workspace, run_ref, note=text, append_note=append)
    click.echo(f"{run.id[:8]} note saved")


@runs.command("delete")
@click.argument("run_refs", metavar="RUN...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required when not on a terminal).")
@store_option
def delete(run_refs: tuple[str, ...], yes: bool, store_url: str | None) -> None:
    """Delete runs and everything logged to them (blobs stay; they may be shared).

    Every RUN is resolved before anything is deleted, so one bad reference deletes nothing.

    \b
    Examples:
      jupyter-mlops runs delete 3f2a 9c41
      jupyter-mlops runs delete old-baseline --yes
    """
    from jupyter_mlops.app.runs import delete_runs, find_runs

    with Workspace.from_url(store_url) as workspace:
        chosen = find_runs(workspace, run_refs)
        if not yes:
            if not stdin_is_terminal():
                raise InvalidInput(f"refusing to delete {len(chosen)} run(s) without confirmation; pass --yes")
            listing = ", ".join(f"{terminal_text(run.name)} ({run.id[:8]})" for run in chosen)
            click.confirm(f"Delete {len(chosen)} run(s): {listing}?", abort=True)
        deleted = delete_runs(workspace, [run.id for run in chosen])
    click.echo(f"Deleted {deleted} run(s).")


@runs.command("rollups")
@click.argument("run_refs", metavar="[RUN]...", nargs=-1)
@store_option
def rollups(run_refs: tuple[str, ...], store_url: str | None) -> None:
    """Build the chart rollups of runs logged before they existed (or back-filled), for fast first compares.

    Without RUN: every run with a metric history no rollup covers. Safe to run again; it only rewrites derived
    data, never a run's points.

    \b
    Examples:
      jupyter-mlops runs rollups
      jupyter-mlops runs rollups 3f2a 9c41
    """
    from jupyter_mlops.app.runs import build_rollups, find_runs

    with Workspace.from_url(store_url) as workspace:
        chosen = [run.id for run in find_runs(workspace, run_refs)] if run_refs else None
        built, blocks = build_rollups(workspace, chosen)
    click.echo(f"Built the rollups of {built} run(s): {blocks} block(s).")


@runs.command("export")
@click.argument("run_ref", metavar="RUN")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
@store_option
def export(run_ref: str, output: str | None, store_url: str | None) -> None:
    """Export one run as JSON: the run, full metric and param histories, environment and executed code.

    \b
    Examples:
      jupyter-mlops runs export tuned -o tuned.json
    """
    from jupyter_mlops.app.runs import export_run
    from jupyter_mlops.comparing.model import json_safe

    with Workspace.from_url(store_url) as workspace:
        document = export_run(workspace, run_ref)
    _write(json.dumps(json_safe(document), indent=2, ensure_ascii=False, allow_nan=False), output)

"""``jupyter-mlops runs``: list, show, compare, tag, note, delete and export runs.

A thin face: each command parses its options, calls the store or :func:`jupyter_mlops.compare.compare_runs`, and
draws the result with :mod:`jupyter_mlops.render`. Errors are ``MlopsError`` subclasses that ``cli.main`` turns
into one line and an exit code. JSON output is stable and documented in ``docs/compare-json.md``. Heavy modules
(the store, rich) are imported inside the commands so ``runs list`` starts fast.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from jupyter_mlops.cli._options import (
    filter_option,
    format_option,
    limit_option,
    newest_runs_without_sqlalchemy,
    non_negative,
    open_stores,
    sort_option,
    stdin_is_terminal,
    store_option,
)
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.render.safe import terminal_text

#: Version tag of the ``runs export`` document.
EXPORT_FORMAT = "jupyter-mlops.run/1"


def _json_out(data: Any) -> None:
    from jupyter_mlops.comparing.model import json_safe

    click.echo(json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False))


def _console() -> Any:
    from rich.console import Console

    # Piped output gets a wide, fixed width so tables are not squeezed to 80 columns.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(highlight=False, width=width)


def _load_blob(blobs: Any, digest: str | None) -> Any:
    from jupyter_mlops.errors import MlopsError

    if not digest:
        return None
    try:
        return blobs.get_json(digest)
    except (MlopsError, OSError, ValueError):
        return None


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
@format_option("table", "json", "csv")
def list_runs(
    store_url: str | None,
    filter_text: str | None,
    sort: tuple[str, ...],
    limit: int | None,
    offset: int,
    metrics: tuple[str, ...],
    fmt: str,
) -> None:
    """List runs, newest first.

    \b
    Examples:
      jupyter-mlops runs list
      jupyter-mlops runs list --filter 'metrics.auc >= 0.8 and tag = "baseline"' --sort 'metrics.auc desc'
      jupyter-mlops runs list --format csv --limit 1000 > runs.csv
    """
    from jupyter_mlops import render

    # The plain listing skips importing SQLAlchemy (most of a cold start) when the store is a current SQLite file.
    page = None if filter_text or sort else newest_runs_without_sqlalchemy(store_url, limit, offset)
    if page is None:
        store, _ = open_stores(store_url)
        with store:
            page = store.search_runs(filter_text, order_by=list(sort), limit=limit, offset=offset)
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
    """Show one run: params, metrics, data inputs, artifacts, environment, tags and note.

    \b
    Examples:
      jupyter-mlops runs show baseline
      jupyter-mlops runs show 3f2a --format json
    """
    from jupyter_mlops import render

    store, blobs = open_stores(store_url)
    with store:
        run = store.get_run(store.resolve_run(run_ref))
    env = _load_blob(blobs, run.env_hash)
    if fmt == "json":
        _json_out({"run": run.to_dict(), "env": env, "code": _load_blob(blobs, run.code_hash)})
        return
    console = _console()
    for item in render.run_renderables(run, env if isinstance(env, dict) else None):
        console.print(item)


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
    from jupyter_mlops.compare import compare_runs, last_run_ids

    if run_refs and last is not None:
        raise InvalidInput("give runs or --last N, not both")
    if not run_refs and last is None:
        raise InvalidInput("name the runs to compare (RUN RUN ...) or use --last N")
    if filter_text and last is None:
        raise InvalidInput("--filter works with --last N; name runs directly otherwise")
    store, blobs = open_stores(store_url)
    with store:
        refs = last_run_ids(store, last, filter_text) if last is not None else list(run_refs)
        if not refs:
            # exit 1 like an unknown run (docs/cli.md): the input was fine, the runs are not there
            raise NotFound(f"no runs match {filter_text!r}" if filter_text else "no runs to compare yet")
        comparison = compare_runs(store, blobs, refs, all_values=all_values)
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
    from jupyter_mlops.tracking.edits import edit_run

    store, _ = open_stores(store_url)
    with store:
        run_id = store.resolve_run(run_ref)
        changes = {"remove_tags": cleaned} if remove else {"add_tags": cleaned}
        now = edit_run(store, run_id, redact=_redact_setting(store_url), **changes).tags
    click.echo(f"{run_id[:8]} tags: {terminal_text(', '.join(now)) or '(none)'}")


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
    from jupyter_mlops.tracking.edits import edit_run

    store, _ = open_stores(store_url)
    with store:
        run_id = store.resolve_run(run_ref)
        edit_run(store, run_id, note=text, append_note=append, redact=_redact_setting(store_url))
    click.echo(f"{run_id[:8]} note saved")


def _redact_setting(store_url: str | None) -> bool:
    # Secrets in edits are masked like a tracked run's, unless the project set `redact = false`.
    from jupyter_mlops.config import load_settings

    return load_settings(store_url=store_url).redact


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
    from jupyter_mlops.compare import resolve_runs

    store, _ = open_stores(store_url)
    with store:
        ids = resolve_runs(store, run_refs)
        names = [store.get_run(run_id).name for run_id in ids]
        if not yes:
            if not stdin_is_terminal():
                raise InvalidInput(f"refusing to delete {len(ids)} run(s) without confirmation; pass --yes")
            listing = ", ".join(f"{terminal_text(n)} ({i[:8]})" for n, i in zip(names, ids, strict=True))
            click.confirm(f"Delete {len(ids)} run(s): {listing}?", abort=True)
        for run_id in ids:
            store.delete_run(run_id)
    click.echo(f"Deleted {len(ids)} run(s).")


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
    from jupyter_mlops.comparing.model import json_safe

    store, blobs = open_stores(store_url)
    with store:
        run = store.get_run(store.resolve_run(run_ref))
        metrics = {k: [m.to_dict() for m in store.metric_history(run.id, k)] for k in sorted(run.metrics)}
        params = {
            k: [{"value": p.value, "source": p.source} for p in store.param_history(run.id, k)]
            for k in sorted(run.params)
        }
    document = {
        "format": EXPORT_FORMAT,
        "run": run.to_dict(),
        "metric_history": metrics,
        "param_history": params,
        "env": _load_blob(blobs, run.env_hash),
        "code": _load_blob(blobs, run.code_hash),
    }
    _write(json.dumps(json_safe(document), indent=2, ensure_ascii=False, allow_nan=False), output)

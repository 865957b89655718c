"""``jupyter-mlops sync push|pull``: a thin face over :func:`jupyter_mlops.app.sync.sync`.

Each command parses its options, calls the one use case and prints the summary (a line, or JSON). Errors are
``MlopsError`` subclasses that ``cli.main`` turns into one line; a remote that is unreachable, the local store
itself, or another program's database is exit 2. The remote is only ever printed redacted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from jupyter_mlops.cli._options import filter_option, format_option, store_option
from jupyter_mlops.render.safe import terminal_text

if TYPE_CHECKING:
    from jupyter_mlops.app.sync import SyncSummary


def _report(summary: SyncSummary, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
        return
    where = terminal_text(summary.remote)
    verb = "pushed to" if summary.direction == "push" else "pulled from"
    would = "would be " if summary.dry_run else ""
    if summary.nothing_new:
        click.echo(f"nothing to {summary.direction}: up to date with {where}")
    else:
        click.echo(f"{summary.runs} run(s) {would}{verb} {where}: {summary.points} metric points, "
                   f"{summary.merged} merged (edited on both sides), {summary.models} model registry change(s), "
                   f"{summary.blobs} blob(s) copied ({summary.blobs_present} already there) in {summary.seconds:.1f} s")
    if summary.blobs_not_copied:
        click.echo(f"{summary.blobs_not_copied} blob(s) not copied: no blob store configured for the remote "
                   "(--remote-blobs URL, or remote_blobs in [tool.jupyter-mlops])", err=True)
    if summary.blobs_missing:
        click.echo(f"{summary.blobs_missing} blob(s) named by the runs were not in the blob store read from", err=True)
    for line in summary.skipped:
        click.echo(f"skipped: {terminal_text(line)}", err=True)


def _options(func: click.decorators.FC) -> click.decorators.FC:
    for decorate in reversed((
        click.option("--remote", "remote", metavar="URL", default=None,
                     help="The team store (default: remote in [tool.jupyter-mlops], or JUPYTER_MLOPS_REMOTE)."),
        click.option("--remote-blobs", "remote_blobs", metavar="URL", default=None,
                     help="The team store's blob folder/URL (default: remote_blobs; none: blobs stay put)."),
        filter_option,
        click.option("--dry-run", is_flag=True, help="Say what would move; write nothing."),
        store_option,
        format_option("text", "json", default="text"),
    )):
        func = decorate(func)
    return func


@click.group("sync")
def sync() -> None:
    """Push runs to a team store and pull them back, with the same ids and times on both sides.

    Idempotent (a second push moves nothing), resumable (a killed push is completed by the next one) and
    incremental. Runs edited on both sides are merged: see docs/sync.md.
    """


def _run(direction: str, remote: str | None, remote_blobs: str | None, filter_text: str | None, dry_run: bool,
         store_url: str | None, fmt: str) -> None:
    from jupyter_mlops.app.sync import sync as sync_runs
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.config import load_settings

    # A pull may start a project's local store; a push needs one with runs in it.
    with Workspace(load_settings(store_url=store_url), create=direction == "pull") as workspace:
        summary = sync_runs(workspace, direction, remote=remote, remote_blobs=remote_blobs, filter_text=filter_text,
                            dry_run=dry_run)
    _report(summary, fmt)


@sync.command("push")
@_options
def push(remote: str | None, remote_blobs: str | None, filter_text: str | None, dry_run: bool,
         store_url: str | None, fmt: str) -> None:
    """Copy new and changed local runs (and model versions, and their blobs) to the team store.

    \b
    Examples:
      jupyter-mlops sync push --remote postgresql+psycopg://me@db.example/mlops
      jupyter-mlops sync push --filter 'tag = "paper"' --dry-run
    """
    _run("push", remote, remote_blobs, filter_text, dry_run, store_url, fmt)


@sync.command("pull")
@_options
def pull(remote: str | None, remote_blobs: str | None, filter_text: str | None, dry_run: bool,
         store_url: str | None, fmt: str) -> None:
    """Copy new and changed runs of the team store here (creating the local store if there is none).

    \b
    Examples:
      jupyter-mlops sync pull
      jupyter-mlops sync pull --remote sqlite:///shared/team.db --filter 'experiment = "churn"'
    """
    _run("pull", remote, remote_blobs, filter_text, dry_run, store_url, fmt)

"""``jupyter-mlops export --to mlflow`` and ``jupyter-mlops import --from mlflow``: a thin face over app.interop.

Each command parses its options, calls one use case and prints the summary (a line, or JSON). Errors are
``MlopsError`` subclasses that ``cli.main`` turns into one line; a bad tracking URI, a missing experiment and a
missing ``mlflow`` extra are exit 2. MLflow itself is imported only by the adapter, once a command runs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from jupyter_mlops.cli._options import filter_option, format_option, store_option
from jupyter_mlops.render.safe import terminal_text

if TYPE_CHECKING:
    from jupyter_mlops.app.interop import InteropSummary

_SYSTEMS = click.Choice(["mlflow"])


def _report(summary: InteropSummary, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
        return
    verb = "imported from" if summary.direction == "import" else "exported to"
    where = terminal_text(summary.location)
    if summary.nothing_new:
        seen = summary.unchanged + summary.kept
        click.echo(f"nothing new: {seen} run(s) already {verb} MLflow {where}")
    else:
        click.echo(
            f"{summary.copied} run(s) {verb} MLflow {where} ({summary.updated} updated, {summary.unchanged} "
            f"unchanged, {summary.kept} already here): {summary.points} metric points, {summary.artifacts} "
            f"artifacts, {summary.model_versions} model versions, {summary.aliases} aliases")
    for line in summary.skipped:
        click.echo(f"skipped: {terminal_text(line)}", err=True)


@click.command("export", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--to", "system", type=_SYSTEMS, required=True, help="The other tracking system: mlflow.")
@click.option("--tracking-uri", required=True, metavar="URI",
              help="MLflow tracking URI: sqlite:///mlflow.db (created if missing), postgresql://..., http://host:5000.")
@filter_option
@click.option("--artifact-root", metavar="URI", default=None,
              help="Where experiments this export creates keep artifacts (default: MLflow's, ./mlruns).")
@store_option
@format_option("text", "json", default="text")
def export(system: str, tracking_uri: str, filter_text: str | None, artifact_root: str | None,
           store_url: str | None, fmt: str) -> None:
    """Copy runs (params, metric histories, tags, notes, artifacts, notebook) and model versions to MLflow.

    Runs exported before and unchanged since are left alone; each MLflow run carries our run id in the
    jupyter_mlops.run_id tag.

    \b
    Examples:
      jupyter-mlops export --to mlflow --tracking-uri sqlite:///mlflow.db
      jupyter-mlops export --to mlflow --tracking-uri http://localhost:5000 --filter "metrics.auc > 0.9"
    """
    from jupyter_mlops.app.interop import export_to_mlflow
    from jupyter_mlops.app.workspace import Workspace

    with Workspace.from_url(store_url) as workspace:
        summary = export_to_mlflow(workspace, tracking_uri, filter_text, artifact_root=artifact_root)
    _report(summary, fmt)


@click.command("import", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--from", "system", type=_SYSTEMS, required=True, help="The other tracking system: mlflow.")
@click.option("--tracking-uri", required=True, metavar="URI",
              help="MLflow tracking URI: sqlite:///mlflow.db, postgresql://..., http://host:5000.")
@click.option("--experiment", metavar="NAME", default=None, help="Only this MLflow experiment (default: all).")
@store_option
@format_option("text", "json", default="text")
def import_(system: str, tracking_uri: str, experiment: str | None, store_url: str | None, fmt: str) -> None:
    """Copy MLflow runs and registered model versions in, keeping run ids and times.

    Importing again copies only runs that changed in MLflow since; runs already here are never duplicated.

    \b
    Examples:
      jupyter-mlops import --from mlflow --tracking-uri sqlite:///mlflow.db
      jupyter-mlops import --from mlflow --tracking-uri sqlite:///mlflow.db --experiment churn
    """
    from jupyter_mlops.app.interop import import_from_mlflow
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.config import load_settings

    with Workspace(load_settings(store_url=store_url), create=True) as workspace:
        summary = import_from_mlflow(workspace, tracking_uri, experiment)
    _report(summary, fmt)

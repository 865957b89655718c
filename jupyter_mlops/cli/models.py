"""``jupyter-mlops models``: list, show, lineage, alias, stage, history and servability check of model versions.

A thin face over :mod:`jupyter_mlops.app.models`: each command parses its arguments, calls one use case over a
:class:`~jupyter_mlops.app.workspace.Workspace` (never creating a store) and prints text or stable JSON. Errors
are ``MlopsError`` subclasses that ``cli.main`` turns into one line and an exit code. User text (names, notes,
who) goes through ``terminal_text`` before it is printed.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

import click

from jupyter_mlops.app.model_json import history_json, lineage_json, models_json, versions_json
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.cli._options import VerdictCommandError, format_option, store_option, write_report
from jupyter_mlops.errors import InvalidInput, MlopsError
from jupyter_mlops.render.safe import terminal_text

if TYPE_CHECKING:
    from jupyter_mlops.app.models import Lineage, VersionDetail
    from jupyter_mlops.entities import ModelEvent


def _json_out(data: Any) -> None:
    from jupyter_mlops.comparing.model import json_safe  # NaN/inf metrics as null/strings: strict JSON only

    click.echo(json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False, default=str))


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _short(digest: str | None) -> str:
    if not digest:
        return "-"
    algorithm, _, hexdigits = digest.partition(":")
    return f"{algorithm}:{hexdigits[:12]}" if hexdigits else digest[:20]


def _table(header: list[str], rows: list[list[str]]) -> str:
    cells = [header, *[[terminal_text(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def _version_ref(name: str, version: str) -> str:
    # VERSION is 1.2.0, latest or @alias: one reference for the one parser.
    return f"{name}{version}" if version.startswith("@") else f"{name}:{version}"


@click.group("models")
def models() -> None:
    """List, show, trace, alias, stage and check registered model versions.

    Wherever a version is named: NAME:MAJOR.MINOR.PIPELINE, NAME:latest or NAME@ALIAS.
    """


@models.command("list")
@store_option
@format_option("table", "json")
def list_command(store_url: str | None, fmt: str) -> None:
    """List registered models with their newest version, aliases and stages.

    \b
    Examples:
      jupyter-mlops models list
      jupyter-mlops models list --format json
    """
    from jupyter_mlops.app.models import list_models

    with Workspace.from_url(store_url) as workspace:
        found = list_models(workspace)
    if fmt == "json":
        _json_out(models_json(found))
    elif not found:
        click.echo("No models registered yet.")
    else:
        click.echo(_table(["model", "latest", "versions", "aliases", "stages", "updated"], [
            [m.name, m.latest, str(m.versions), ", ".join(f"{a}={v}" for a, v in sorted(m.aliases.items())) or "-",
             ", ".join(f"{v}={s}" for v, s in m.stages.items()) or "-", _when(m.updated)] for m in found]))


@models.command("show")
@click.argument("ref", metavar="NAME[:VERSION]")
@store_option
@format_option("table", "json")
def show(ref: str, store_url: str | None, fmt: str) -> None:
    """Show a model's versions, or one version with its lineage and whether it can be promoted.

    \b
    Examples:
      jupyter-mlops models show churn
      jupyter-mlops models show churn:1.2.0
      jupyter-mlops models show churn@champion --format json
    """
    from jupyter_mlops.app.models import show_model

    with Workspace.from_url(store_url) as workspace:
        details = show_model(workspace, ref)
    if fmt == "json":
        _json_out(versions_json(details))
    elif ":" in ref or "@" in ref:
        click.echo(_detail_text(details[0]))
    else:
        click.echo(_table(["version", "stage", "aliases", "flavor", "run", "created", "by", "lineage"], [
            [d.version.version, d.version.stage, ", ".join(d.version.aliases) or "-", d.version.flavor,
             (d.version.run_id or "-")[:8], _when(d.version.created), d.version.created_by,
             "complete" if not d.gaps else "incomplete"] for d in details]))


def _detail_text(detail: VersionDetail) -> str:
    v, lineage = detail.version, detail.lineage
    lines = [
        f"model    {v.ref}   stage: {v.stage}   aliases: {', '.join(v.aliases) or '-'}",
        f"content  {v.artifact_hash} ({v.format}, {v.flavor}, {v.size} bytes)",
        f"created  {_when(v.created)} by {v.created_by or '-'}",
        f"run      {v.run_id or '-'}",
        f"code     {lineage.code_hash or lineage.notebook_hash or '-'}   git {lineage.git_commit or '-'}"
        f"{' (dirty)' if lineage.git_dirty else ''}",
        f"env      {lineage.env_hash or '-'}",
        f"params   {json.dumps(lineage.params, sort_keys=True, default=str)}",
        f"metrics  {json.dumps(lineage.metrics, sort_keys=True, default=str)}",
        f"parents  {', '.join(v.parents) or '-'}",
    ]
    lines += [f"data     {d.name}  {d.hash}" for d in lineage.data] or ["data     -"]
    lines.append("lineage  complete" if not detail.gaps else f"lineage  INCOMPLETE: {'; '.join(detail.gaps)}")
    return "\n".join(terminal_text(line) for line in lines)


@models.command("lineage")
@click.argument("ref", metavar="NAME:VERSION")
@store_option
@format_option("table", "json")
def lineage(ref: str, store_url: str | None, fmt: str) -> None:
    """Draw a version's lineage: data -> run -> model, with its parent models' lineage below.

    \b
    Examples:
      jupyter-mlops models lineage churn:1.2.0
      jupyter-mlops models lineage churn@champion --format json
    """
    from jupyter_mlops.app.models import version_lineage

    with Workspace.from_url(store_url) as workspace:
        graph = version_lineage(workspace, ref)
    if fmt == "json":
        _json_out(lineage_json(graph))
    else:
        click.echo("\n".join(terminal_text(line) for line in _lineage_lines(graph, "")))


def _lineage_lines(graph: Lineage, indent: str) -> list[str]:
    """The graph read left to right, data -> run -> model; details and each parent's lineage indented below."""
    v, lineage = graph.detail.version, graph.detail.lineage
    run = graph.run
    run_text = (f"run {run.name} ({run.id[:8]}, {run.status.value})" if run is not None
                else f"run {(v.run_id or lineage.run_id or '-')[:8]} (deleted)" if (v.run_id or lineage.run_id)
                else "run -")
    model = f"model {v.ref}  [{v.stage}{', ' + ', '.join(v.aliases) if v.aliases else ''}]"
    data = [f"data {d.name}  {_short(d.hash)}" for d in lineage.data] or ["data -"]
    width = max(len(text) for text in data)
    # Several inputs join into the one run: "--+" on each, the last one carrying the arrows on.
    lines = [f"{indent}{text.ljust(width)} --+" for text in data[:-1]]
    joint = "--+--> " if len(data) > 1 else "--> "
    lines.append(f"{indent}{data[-1].ljust(width)} {joint}{run_text} --> {model}")
    code = _short(lineage.code_hash or lineage.notebook_hash)
    lines.append(f"{indent}    the run's code {code}  env {_short(lineage.env_hash)}")
    if graph.detail.gaps:
        lines.append(f"{indent}    ! lineage incomplete: {'; '.join(graph.detail.gaps)}")
    for parent in graph.parents:
        lines.append(f"{indent}model {parent.detail.version.ref} --> model {v.ref}  (parent)")
        lines += _lineage_lines(parent, indent + "    ")
    return lines


def _promotion_options(func: Any) -> Any:
    func = click.option("--note", default="", help="A note recorded with the change in the history.")(func)
    func = click.option("--reason", default="", help="Why --force is used (required with it; recorded).")(func)
    return click.option("--force", is_flag=True,
                        help="Promote even though the version's lineage is incomplete (needs --reason).")(func)


@models.command("alias")
@click.argument("name")
@click.argument("version", required=False)
@click.argument("alias", required=False)
@click.option("--stage", "stage", default=None, metavar="staging|production|archived",
              help="Set the version's stage instead of (or as well as) an alias.")
@click.option("--remove", "remove", default=None, metavar="ALIAS",
              help="Remove this alias from the model (no VERSION then); recorded in the history like any change.")
@_promotion_options
@store_option
def alias_command(name: str, version: str | None, alias: str | None, stage: str | None, remove: str | None,
                  force: bool, reason: str, note: str, store_url: str | None) -> None:
    """Point an alias (e.g. champion) at a version, set its stage with --stage, or --remove an alias; recorded.

    VERSION is MAJOR.MINOR.PIPELINE, latest, or @ALIAS (the version another alias points at).

    \b
    Examples:
      jupyter-mlops models alias churn 1.2.0 champion
      jupyter-mlops models alias churn 1.2.0 --stage production
      jupyter-mlops models alias churn latest champion --force --reason "hotfix"
      jupyter-mlops models alias churn --remove candidate --note "experiment over"
    """
    from jupyter_mlops.app.models import remove_alias, set_alias, set_stage
    from jupyter_mlops.store.model_rules import check_model_name, check_stage

    if remove is not None:
        if version is not None or alias is not None or stage is not None or force:
            raise InvalidInput("--remove ALIAS takes only the model NAME (and --note): models alias NAME --remove "
                               "ALIAS")
        with Workspace.from_url(store_url) as workspace:
            event = remove_alias(workspace, name, remove, note=note)
        click.echo(terminal_text(_event_line(event)))
        return
    if version is None:
        raise InvalidInput("give a VERSION and an ALIAS (or --stage STAGE), or --remove ALIAS")
    if alias is None and stage is None:
        raise InvalidInput("give an ALIAS or --stage STAGE")
    if stage is not None:  # both checked before either change is made
        check_stage(stage)
    if alias is not None:
        check_model_name(alias, "alias")
    with Workspace.from_url(store_url) as workspace:
        ref = _version_ref(name, version)
        events = []
        if alias is not None:
            events.append(set_alias(workspace, ref, alias, force=force, reason=reason, note=note))
        if stage is not None:
            events.append(set_stage(workspace, ref, stage, force=force, reason=reason, note=note))
    for event in events:
        click.echo(terminal_text(_event_line(event)))


@models.command("stage")
@click.argument("name")
@click.argument("version")
@click.argument("stage", metavar="staging|production|archived")
@_promotion_options
@store_option
def stage_command(name: str, version: str, stage: str, force: bool, reason: str, note: str,
                  store_url: str | None) -> None:
    """Move a version to a stage (staging, production, archived); the change is recorded.

    \b
    Examples:
      jupyter-mlops models stage churn 1.2.0 production
      jupyter-mlops models stage churn 1.0.0 archived --note "superseded"
    """
    from jupyter_mlops.app.models import set_stage

    with Workspace.from_url(store_url) as workspace:
        event = set_stage(workspace, _version_ref(name, version), stage, force=force, reason=reason, note=note)
    click.echo(terminal_text(_event_line(event)))


def _event_line(event: ModelEvent) -> str:
    what = f"alias {event.label}" if event.change == "alias" else "stage"
    return (f"{event.name}: {what} {event.from_value or '-'} -> {event.to_value or '-'}"
            f"{' (forced)' if event.forced else ''}")


@models.command("history")
@click.argument("name")
@store_option
@format_option("table", "json")
def history(name: str, store_url: str | None, fmt: str) -> None:
    """Show every alias and stage change of a model, oldest first: who, when, from -> to, note.

    \b
    Examples:
      jupyter-mlops models history churn
      jupyter-mlops models history churn --format json
    """
    from jupyter_mlops.app.models import model_history

    with Workspace.from_url(store_url) as workspace:
        events = model_history(workspace, name)
    if fmt == "json":
        _json_out(history_json(events))
    elif not events:
        click.echo(f"No alias or stage changes recorded for {terminal_text(name)}.")
    else:
        click.echo(_table(["when", "who", "version", "change", "from", "to", "note"], [
            [_when(e.at), e.who, e.version, f"alias {e.label}" if e.change == "alias" else "stage",
             e.from_value or "-", e.to_value or "-", (e.note + (" [forced]" if e.forced else "")) or "-"]
            for e in events]))


class CheckError(VerdictCommandError):
    """Any error of ``models check``, with the original's code and message, and exit code 2 whatever its kind."""

    default_code = "CHECK_ERROR"


@models.command("check")
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--sample", "sample", required=True, type=click.Path(dir_okay=False),
              help="A CSV file of model inputs (columns the model was not fitted on are dropped).")
@click.option("--n", "n", default=1000, show_default=True, type=int, help="Sample rows to use.")
@click.option("--latency-p95", "latency_p95", metavar="DURATION",
              help="Fail when the 95th percentile of per-row calls is slower (50ms, 0.2s; a bare number is seconds).")
@click.option("--entry-point", "entry_point", default="predict", show_default=True,
              help="The model method to call (predict_proba, transform...).")
@click.option("--timeout", "timeout", default=120.0, show_default=True, type=float,
              help="Seconds the whole sandbox may take (start, load, every call).")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write a JUnit XML report (a testcase per check).")
@store_option
@format_option("table", "json")
def check_command(ref: str, sample: str, n: int, latency_p95: str | None, entry_point: str, timeout: float,
                  junit_xml: str | None, store_url: str | None, fmt: str) -> int:
    """Check that a version can be served: load it in a fresh process and query it; exit 0 ok, 1 not, 2 error.

    Verifies the content hash, the key packages against the environment the model's run recorded, that the
    model loads, that the entry point gives one prediction per sample row of a consistent type, and (with
    --latency-p95) the per-row latency. The model is unpickled only in the sandbox process.

    \b
    Examples:
      jupyter-mlops models check churn:1.2.0 --sample data/sample.csv
      jupyter-mlops models check churn@champion --sample data/sample.csv --n 200 --latency-p95 50ms
      jupyter-mlops models check churn:latest --sample s.csv --format json --junit-xml servable.xml
    """
    from jupyter_mlops.app.model_check import check_servable

    def run() -> Any:
        with Workspace.from_url(store_url) as workspace:
            return check_servable(workspace, ref, sample, n=n, latency_p95=latency_p95, entry_point=entry_point,
                                  timeout=timeout)

    result = guarded(run, CheckError)
    from jupyter_mlops.render import model_check as render

    if fmt == "json":
        _json_out(result.to_dict())
    else:
        click.echo(render.check_text(result), nl=False)
    write_report(junit_xml, render.check_junit_xml(result) if junit_xml else "", CheckError)
    if result.error:
        click.echo(f"Error: {terminal_text(result.error)}", err=True)
    return int(result.exit_code)


def guarded(call: Any, error_type: Any) -> Any:
    """``call()``, with every error re-raised as ``error_type`` (exit 2: "could not check", never "failed")."""
    try:
        return call()
    except MlopsError as error:
        raise error_type(error.message, error.code) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as error:
        if os.environ.get("JUPYTER_MLOPS_DEBUG"):
            raise
        raise error_type(f"internal error: {type(error).__name__}: {error} (set JUPYTER_MLOPS_DEBUG=1 for details)",
                         "INTERNAL") from None

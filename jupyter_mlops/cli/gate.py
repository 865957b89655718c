"""``jupyter-mlops gate``: fail CI when a candidate run does worse than the champion (or a version, or a run).

A thin face over :mod:`jupyter_mlops.app.gate`: parse the options, judge, print the report
(:mod:`jupyter_mlops.render.gate`) and exit 0 pass / 1 regression / 2 error. *Every* error is exit 2, a missing
run as much as a bad option, so a CI job can tell "the model got worse" (1) from "the gate could not judge" (2).
Only click and the standard library are imported at module level: the gate runs in a fresh process in CI.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from jupyter_mlops.cli._options import VerdictCommandError, filter_option, store_option, write_report
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.render.safe import terminal_text

if TYPE_CHECKING:
    from jupyter_mlops.comparing.gate import GateResult
    from jupyter_mlops.comparing.servability import Servability


class GateError(VerdictCommandError):
    """Any error of the gate, with the original's code and message, and exit code 2 whatever its kind."""

    default_code = "GATE_ERROR"


@click.command("gate", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", metavar="NAME", help="Baseline: this registered model's champion (or --version).")
@click.option("--version", "version", metavar="V", help="With --model: this version (1.2.0, latest) instead.")
@click.option("--baseline", metavar="RUN", help="Baseline: this run (id, unique prefix or unique name).")
@click.option("--candidate", metavar="RUN", help="The run to judge (id, unique prefix or unique name).")
@click.option("--last", is_flag=True, help="Judge the most recent run (narrowed by --filter).")
@filter_option
@click.option("--metric", "metrics", multiple=True, metavar="KEY:max|min",
              help="A metric to gate on and which way is better; repeatable, at least one.")
@click.option("--min-delta", "min_deltas", multiple=True, metavar="[KEY=]N[%]",
              help="The candidate must beat the baseline on KEY by at least N (N% of the baseline); without KEY=, "
                   "every metric not given its own. Repeatable.")
@click.option("--max-regression", "max_regressions", multiple=True, metavar="[KEY=]N[%]",
              help="The candidate may be worse on KEY by at most N (N% of the baseline); without KEY=, every "
                   "metric not given its own. Repeatable.")
@click.option("--per-slice", "per_slice", multiple=True, metavar="DIM[,DIM...]",
              help="Judge every metric on each slice over these dimensions too (logged with slice=...), by the "
                   "same rule: each baseline slice must be measured on the candidate. Repeatable.")
@click.option("--servable", is_flag=True,
              help="Also require the candidate run's model version to be servable (models check, with --sample).")
@click.option("--sample", "sample", type=click.Path(dir_okay=False), metavar="CSV",
              help="With --servable: the CSV sample the model is queried on.")
@click.option("--latency-p95", "latency_p95", metavar="DURATION",
              help="With --servable: the bound on the per-row p95 latency (50ms, 0.2s).")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write a JUnit XML report (a testcase per metric).")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Write a markdown report for a PR comment.")
@click.option("--github", is_flag=True, help="Print GitHub Actions ::error / ::notice annotations.")
@store_option
def gate(
    model: str | None,
    version: str | None,
    baseline: str | None,
    candidate: str | None,
    last: bool,
    filter_text: str | None,
    metrics: tuple[str, ...],
    min_deltas: tuple[str, ...],
    max_regressions: tuple[str, ...],
    per_slice: tuple[str, ...],
    servable: bool,
    sample: str | None,
    latency_p95: str | None,
    junit_xml: str | None,
    markdown: str | None,
    github: bool,
    store_url: str | None,
) -> int:
    """Judge a candidate run against a baseline on metrics: exit 0 pass, 1 regression, 2 error.

    The baseline is a model's champion (--model NAME), one of its versions (--model NAME --version V) or a run
    (--baseline RUN); the candidate is --candidate RUN or the most recent run (--last [--filter EXPR]). Without a
    tolerance a metric must be no worse than the baseline's. Prints both values, the delta and the verdict per
    metric, and what changed between the two runs (data hashes, params, code, packages). With --per-slice each
    metric is judged on every slice too, so a candidate better overall but worse on one slice fails naming it.
    With --servable the model version the candidate run registered (of --model when given) must also pass
    `models check` on --sample; not servable is exit 1, could not check exit 2.

    \b
    Examples:
      jupyter-mlops gate --model churn --last --metric auc:max --min-delta auc=0.002
      jupyter-mlops gate --baseline baseline --candidate tuned --metric auc:max \\
          --metric latency_ms:min --max-regression latency_ms=5% --junit-xml gate.xml --github
      jupyter-mlops gate --model churn --last --metric auc:max --per-slice region --max-regression 2%
      jupyter-mlops gate --model churn --last --metric auc:max --servable --sample data/sample.csv \\
          --latency-p95 50ms
    """
    if (sample is not None or latency_p95 is not None) and not servable:
        raise GateError("--sample and --latency-p95 go with --servable")
    if servable and sample is None:
        raise GateError("--servable needs --sample CSV (the rows the candidate's model is queried on)")
    try:
        result, serving = _judge(store_url, model, version, baseline, candidate, last, filter_text, metrics,
                                 min_deltas, max_regressions, per_slice,
                                 (sample, latency_p95) if servable and sample is not None else None)
    except MlopsError as error:
        raise GateError(error.message, error.code) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as error:  # a bug must still read as "could not judge" (2), never as a regression (1)
        if os.environ.get("JUPYTER_MLOPS_DEBUG"):
            raise
        raise GateError(f"internal error: {type(error).__name__}: {error} (set JUPYTER_MLOPS_DEBUG=1 for details)",
                        "INTERNAL") from None
    from jupyter_mlops.render import gate as render

    click.echo(render.gate_text(result), nl=False)
    if serving is not None:
        from jupyter_mlops.render.model_check import check_github, check_text

        click.echo(check_text(serving), nl=False)
    if github:
        for row in render.gate_github(result):
            click.echo(row)
        if serving is not None and serving.exit_code:
            for row in check_github(serving):
                click.echo(row)
    write_report(junit_xml, render.gate_junit_xml(result) if junit_xml else "", GateError)
    write_report(markdown, render.gate_markdown(result) if markdown else "", GateError)
    unjudged = [m.reason for m in result.metrics if m.verdict == "error"]
    if serving is not None and serving.error:
        unjudged.append(f"servability not checked: {serving.error}")
    if unjudged:  # the report above says it too; stderr is where a CI log reader looks for why a step broke
        click.echo(f"Error: {'; '.join(terminal_text(r) for r in unjudged)}", err=True)
    # 2 (could not judge) outranks 1 (regression or not servable), which outranks 0.
    return max(result.exit_code, serving.exit_code if serving is not None else 0)


def _judge(store_url: str | None, model: str | None, version: str | None, baseline: str | None,
           candidate: str | None, last: bool, filter_text: str | None, metrics: tuple[str, ...],
           min_deltas: tuple[str, ...], max_regressions: tuple[str, ...], per_slice: tuple[str, ...] = (),
           servable: tuple[str, str | None] | None = None) -> tuple[GateResult, Servability | None]:
    from jupyter_mlops.app.gate import baseline_run, candidate_run, gate
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.comparing.gate import build_rules

    rules = build_rules(metrics, min_deltas, max_regressions, per_slice)  # bad options fail before the store opens
    if (model is None) == (baseline is None):
        raise GateError("give the baseline as --model NAME [--version V] or --baseline RUN (one of them)")
    if (candidate is None) == (not last):
        raise GateError("give the candidate as --candidate RUN or --last [--filter EXPR] (one of them)")
    with Workspace.from_url(store_url) as workspace:
        chosen = baseline_run(workspace, model=model, version=version, baseline=baseline)
        candidate_id = candidate_run(workspace, candidate, last, filter_text)
        result = gate(workspace, chosen, candidate_id, rules)
        if servable is None:
            return result, None
        # The candidate's model, not the champion's: the champion is already served; the gate decides whether
        # the new version may replace it.
        from jupyter_mlops.app.model_check import candidate_version, check_servable

        sample, bound = servable
        ref = candidate_version(workspace, candidate_id, model)
        return result, check_servable(workspace, ref, sample, latency_p95=bound)


"""``jupyter-mlops ci``: nb-smoke, data check, gate (and servability) from ``[tool.jupyter-mlops.ci]``, one report.

A thin face over :mod:`jupyter_mlops.app.ci`: read the table, run the steps, print the report
(:mod:`jupyter_mlops.render.ci`) and exit with the first failing step's code: 0 every step passed, 1 a step's check
failed, 2 a bad config or a step that could not run. Only click and the standard library are imported at module
level: each step imports what it needs when it runs.
"""

from __future__ import annotations

from typing import Any

import click

from jupyter_mlops.cli._options import VerdictCommandError, format_option, write_report
from jupyter_mlops.errors import MlopsError


class CiError(VerdictCommandError):
    """A bad config (or an unwritable report): exit 2, one line."""

    default_code = "CI_ERROR"


@click.command("ci", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(), metavar="PYPROJECT",
              help="The pyproject.toml (or its folder) holding [tool.jupyter-mlops.ci] (default: the nearest one).")
@click.option("--keep-going/--fail-fast", default=None,
              help="Run every step even after one failed (default: stop at the first failing step, or the table's "
                   "keep-going).")
@format_option("text", "json", default="text")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write a JUnit XML report (a testsuite per step).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the JSON report to a file (as --format json prints it).")
@click.option("--github", is_flag=True, help="Print GitHub Actions ::error / ::notice annotations (after the report).")
def ci(config_path: str | None, keep_going: bool | None, fmt: str, junit_xml: str | None, json_path: str | None,
       github: bool) -> int:
    """Run the project's CI steps in order: nb-smoke, data check, gate, servability.

    Each step is configured by its sub-table of [tool.jupyter-mlops.ci] (smoke, data, gate, servable) and runs
    only when configured. By default the steps after a failing one are skipped (shown as such); --keep-going
    runs them all. A failure names its step, what it found and the command that runs that step alone.

    \b
    Exit status: 0 every step passed, 1 a step failed its check, 2 a bad config or a step that could not run.

    \b
    Examples:
      jupyter-mlops ci
      jupyter-mlops ci --config ci/pyproject.toml --junit-xml ci.xml --json ci.json --github
      jupyter-mlops ci --keep-going --format json > ci.json
    """
    from jupyter_mlops.app.ci import load_ci_config, run_ci
    from jupyter_mlops.render import ci as render

    try:
        config = load_ci_config(config_path)
    except MlopsError as error:
        raise CiError(error.message, error.code) from None
    live = fmt == "text"

    def shown(step: Any) -> None:
        if live:  # step by step, so a CI log shows progress during a long notebook run
            click.echo(f"ci: {step.name} {step.status}", err=True)

    report = run_ci(config, keep_going=keep_going, on_step=shown)
    click.echo(render.ci_text(report) if live else render.ci_json(report), nl=False)
    if github:
        for row in render.ci_github(report):
            click.echo(row)
    write_report(junit_xml, render.ci_junit_xml(report) if junit_xml else "", CiError)
    write_report(json_path, render.ci_json(report) if json_path else "", CiError)
    if report.failed_step is not None:  # the log reader's first stop: which step, what, how to see more
        click.echo(f"Error: {render.verdict_line(report)}", err=True)
    return report.exit_code


__all__ = ["ci"]


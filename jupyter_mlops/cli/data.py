"""``jupyter-mlops data check|schema infer|profile``: unit tests for data, and the expectation file they enforce.

A thin face over :mod:`jupyter_mlops.app.data_check`: parse, call, render (:mod:`jupyter_mlops.render.data_check`)
and exit 0 clean / 1 anomalies / 2 error. As with ``gate``, *every* error is exit 2 (a missing file as much as a
malformed schema), so CI can tell "the data changed" (1) from "the check could not run" (2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from jupyter_mlops.cli._options import VerdictCommandError, format_option, store_option, write_report
from jupyter_mlops.errors import MlopsError


class DataError(VerdictCommandError):
    """Any error of a ``data`` command, with the original's code and message, and exit code 2 whatever its kind."""

    default_code = "DATA_ERROR"


def _guarded(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except MlopsError as error:
        raise DataError(error.message, error.code) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as error:  # a bug must read as "could not check" (2), never as anomalies (1)
        if os.environ.get("JUPYTER_MLOPS_DEBUG"):
            raise
        raise DataError(f"internal error: {type(error).__name__}: {error} (set JUPYTER_MLOPS_DEBUG=1 for details)",
                        "INTERNAL") from None



def _fraction(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if value < 0:
        raise DataError(f"--{str(param.name).replace('_', '-')} must not be negative; got {value}")
    return value


@click.group("data", context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Check data against a baseline run, model version or schema file; infer an editable schema."""


@data.command("check")
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--against", metavar="RUN|MODEL:VERSION|SCHEMA.yaml",
              help="The baseline: a run's recorded profile of the same data, the profile of the run behind a model "
                   "version, or a pandera schema file. Default: the latest run that profiled the first PATH.")
@click.option("--data", "recorded", metavar="NAME",
              help="The baseline's data input to compare with (default: the one recorded for PATH, or its only one).")
@click.option("--psi", type=float, default=0.2, show_default=True, callback=_fraction,
              help="Drift: a column whose population stability index reaches this is an anomaly.")
@click.option("--null-increase", type=float, default=0.01, show_default=True, callback=_fraction,
              help="A null share that rises by more than this (absolute) is an anomaly.")
@click.option("--range-slack", type=float, default=0.1, show_default=True, callback=_fraction,
              help="Values beyond the baseline's [min, max] widened by this share of its span are out of range.")
@format_option("table", "json")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write a JUnit XML report.")
@click.option("--github", is_flag=True, help="Print GitHub Actions ::error annotations, one per anomaly.")
@store_option
def check(paths: tuple[str, ...], against: str | None, recorded: str | None, psi: float, null_increase: float,
          range_slack: float, fmt: str, junit_xml: str | None, github: bool, store_url: str | None) -> int:
    """Check data files against a baseline: exit 0 clean, 1 anomalies, 2 error.

    Reports schema changes (missing or extra columns, dtype changes), broken constraints (values out of range,
    new nulls, unseen categories) and drift per column (PSI), as one table.

    \b
    Examples:
      jupyter-mlops data check data/train.csv --against baseline
      jupyter-mlops data check data/new.csv --against churn:1.0.0 --format json
      jupyter-mlops data check data/new.csv --against data-schema.yaml --junit-xml data.xml --github
    """
    from jupyter_mlops.comparing.data_check import Limits

    if not paths:
        raise DataError("give at least one data file: jupyter-mlops data check PATH... [--against BASELINE]")
    limits = Limits(psi=psi, null_increase=null_increase, range_slack=range_slack)

    def run() -> Any:
        from jupyter_mlops.app.data_check import check_data
        from jupyter_mlops.app.workspace import Workspace

        with Workspace.from_url(store_url) as workspace:
            return check_data(workspace, list(paths), against, limits, recorded)

    result = _guarded(run)
    from jupyter_mlops.render import data_check as render

    if fmt == "json":
        import json

        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        click.echo(render.check_text(result), nl=False)
    if github:
        for row in render.check_github(result):
            click.echo(row)
    write_report(junit_xml, render.check_junit_xml(result) if junit_xml else "", DataError)
    return int(result.exit_code)


@data.group("schema")
def schema() -> None:
    """Editable expectation files (pandera YAML) that ``data check --against FILE`` enforces."""


@schema.command("infer")
@click.argument("path", metavar="PATH")
@click.option("--from", "from_run", metavar="RUN|MODEL:VERSION",
              help="Infer from this run's recorded profile of PATH instead of reading PATH.")
@click.option("--data", "recorded", metavar="NAME", help="With --from: the run's data input to use (default: PATH's).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@store_option
def infer(path: str, from_run: str | None, recorded: str | None, output: str | None, store_url: str | None) -> None:
    """Write a pandera schema (YAML) of PATH: dtypes, nullability, ranges, categories. Edit it, then enforce it.

    \b
    Examples:
      jupyter-mlops data schema infer data/train.csv --from baseline > data-schema.yaml
      jupyter-mlops data check data/new.csv --against data-schema.yaml
    """

    def run() -> str:
        from jupyter_mlops.app.data_check import infer_schema
        from jupyter_mlops.app.workspace import Workspace

        with Workspace.from_url(store_url) as workspace:
            return infer_schema(workspace, path, from_run, recorded)

    text = _guarded(run)
    if output:
        write_report(output, text, DataError)
    else:
        click.echo(text, nl=False)


@data.command("profile")
@click.argument("path", metavar="PATH")
@format_option("table", "json")
def profile(path: str, fmt: str) -> None:
    """Profile a data file as runs record it: dtype, nulls, min/max, quantiles, distinct count, top values."""

    def run() -> Any:
        from jupyter_mlops.app.data_check import profile_data

        return profile_data(path)

    found = _guarded(run)
    if fmt == "json":
        import json

        click.echo(json.dumps(found, indent=2, default=str))
        return
    from jupyter_mlops.render.data_check import profile_text

    click.echo(profile_text(path, found), nl=False)

"""``jupyter-mlops reproduce RUN``: verify, execute again, and print the verdict; exit 0/1/2.

A thin face over :func:`jupyter_mlops.app.reproduce.reproduce_run`: options in, the report out (rich tables via
:mod:`jupyter_mlops.render.reproduction`, or JSON). Exit codes: 0 reproduced (or a what-if run compared), 1 diverged,
2 could not run (refused, failed, bad input).
"""

from __future__ import annotations

import json

import click

from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.cli._options import format_option, store_option


@click.command("reproduce")
@click.argument("run_ref", metavar="RUN")
@click.option("--as-executed", is_flag=True,
              help="Replay the recorded executed-cell sequence instead of top to bottom.")
@click.option("--allow-changed-data", is_flag=True, help="Run even though recorded data inputs changed.")
@click.option("--strict-env", is_flag=True, help="Refuse when Python or a package differs from the recorded ones.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="[METRIC=]AMOUNT[%]",
              help="Absolute (1e-6, auc=0.002) or relative (auc=1%) tolerance; repeatable. Default 1e-6.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter (a what-if run: compared, never called reproduced); repeatable.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Limit for each cell (default: none).")
@store_option
@format_option("table", "json")
@click.pass_context
def reproduce(ctx: click.Context, run_ref: str, as_executed: bool, allow_changed_data: bool, strict_env: bool,
              tolerances: tuple[str, ...], params: tuple[str, ...], timeout: float | None, store_url: str | None,
              fmt: str) -> None:
    """Check a run's data, environment and code, execute it again in a fresh kernel, and judge its metrics.

    \b
    Examples:
      jupyter-mlops reproduce 3f2a
      jupyter-mlops reproduce baseline --tolerance 1e-9 --tolerance auc=1%
      jupyter-mlops reproduce 3f2a --as-executed      # an out-of-order notebook, replayed as it ran
      jupyter-mlops reproduce 3f2a --param lr=0.05    # what if: compared, never "reproduced"
    """
    from jupyter_mlops.app.reproduce import reproduce_run

    with Workspace.from_url(store_url) as workspace:
        result = reproduce_run(workspace, run_ref, as_executed=as_executed, allow_changed_data=allow_changed_data,
                               strict_env=strict_env, tolerances=tolerances, params=params, timeout=timeout)
        report = result.to_dict()
    if fmt == "json":
        from jupyter_mlops.comparing.model import json_safe

        click.echo(json.dumps(json_safe(report), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        from jupyter_mlops.cli.runs import _console
        from jupyter_mlops.render.reproduction import reproduction_renderables

        console = _console()
        for renderable in reproduction_renderables(report):
            console.print(renderable)
    if result.reason:
        click.echo(f"Error: {result.reason}", err=True)
    ctx.exit(result.exit_code)

"""``jupyter-mlops slice RUN METRIC``: the executed cells that produced a metric, as clean code; exit 0/1/2.

A thin face over :func:`jupyter_mlops.app.slicing.slice_run`. Without ``--to`` the slice's code is printed; with
``--verify`` the exit code is ``reproduce``'s: 0 the slice gives the recorded value, 1 it differs, 2 it could not
run (or bad input).
"""

from __future__ import annotations

import json

import click

from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.cli._options import format_option, store_option


@click.command("slice")
@click.argument("run_ref", metavar="RUN")
@click.argument("target", metavar="METRIC")
@click.option("--to", "to", nargs=2, type=(click.Choice(["script", "notebook", "package"]), str), default=None,
              metavar="script|notebook|package PATH", help="Write the slice as a script, a notebook or a package.")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@click.option("--verify", is_flag=True, help="Execute the slice in a fresh kernel and check the recorded value.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="[METRIC=]AMOUNT[%]",
              help="Absolute (1e-6) or relative (1%) tolerance for --verify; repeatable. Default 1e-6.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Limit for each cell of --verify.")
@store_option
@format_option("text", "json", default="text")
@click.pass_context
def slice_(ctx: click.Context, run_ref: str, target: str, to: tuple[str, str] | None, force: bool, verify: bool,
           tolerances: tuple[str, ...], timeout: float | None, store_url: str | None, fmt: str) -> None:
    """Find the executed cells that produced METRIC's recorded value in RUN (or a variable), as clean code.

    \b
    Examples:
      jupyter-mlops slice 3f2a auc
      jupyter-mlops slice baseline auc --to script auc.py --verify
      jupyter-mlops slice baseline auc --to notebook auc.ipynb
      jupyter-mlops slice baseline auc --to package auc_pipeline
    """
    from jupyter_mlops.app.slicing import slice_run

    kind, output = to if to is not None else (None, None)
    with Workspace.from_url(store_url) as workspace:
        result = slice_run(workspace, run_ref, target, to=kind, output=output, force=force, verify=verify,
                           tolerances=tolerances, timeout=timeout)
        report = result.to_dict()
    if fmt == "json":
        from jupyter_mlops.comparing.model import json_safe

        click.echo(json.dumps(json_safe(report), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        from jupyter_mlops.render.slicing import slice_text

        click.echo(slice_text(report, code=to is None), nl=False)
    verification = result.verification
    if verification is not None and verification.reason:
        click.echo(f"Error: {verification.reason}", err=True)
    ctx.exit(result.exit_code)

"""``jupyter-mlops sweep NB.ipynb --grid lr=0.01,0.1 ...``: run a notebook once per parameter combination.

A thin face over :func:`jupyter_mlops.app.sweep.run_sweep`: parse the options, run, print each point as it ends,
then the summary (:mod:`jupyter_mlops.render.sweep`) or ``--format json``. Exit 0 every point passed, 1 a point
failed (the others still ran), 2 a usage error (bad grid, unknown parameter, unreachable scheduler).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from jupyter_mlops.cli._options import format_option, store_option
from jupyter_mlops.cli.smoke import SmokeCommand, _Display, _use_progress


@click.command("sweep", cls=SmokeCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--grid", "grid", multiple=True, metavar="NAME=V1,V2,...",
              help="A parameter and its values; repeatable: every combination runs (typed like the notebook's "
                   "defaults).")
@click.option("--random", "random_n", type=int, metavar="N", help="Run N random combinations of the grid instead.")
@click.option("--seed", type=int, help="With --random: the seed (same seed, same points).")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter given to every point (also -p KEY VALUE). Repeatable.")
@click.option("--executor", metavar="local|dask://HOST:PORT", help="Where points run: local (default) or on the "
              "workers of a Dask scheduler, each in its own process.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Points run at once locally (default: CPU count).")
@click.option("--metric", metavar="KEY:max|min", help="Show the best runs by this metric (e.g. auc:max).")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="How many best runs to show.")
@click.option("--timeout", type=float, help="Seconds each point's notebook may run.")
@click.option("--cell-timeout", type=float, help="Seconds a cell may run (default: 600).")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Where executed notebooks are kept, under "
              "sweep-<id>/ (default: .mlops/smoke in the project root).")
@click.option("--progress/--plain", default=None, help="Live progress display (default: on a terminal, not in CI).")
@format_option("table", "json", default="table")
@store_option
def sweep(notebook: str, grid: tuple[str, ...], fmt: str, store_url: str | None, top: int, progress: bool | None,
          **opts: Any) -> None:
    """Execute NOTEBOOK once per combination of --grid values, each a tracked run of one sweep.

    The notebook tracks its own run (%track start, or mlops.start_run); each run gets the tags sweep,
    sweep:<id> and sweep-point:<n>, so `jupyter-mlops runs list --filter 'sweep = "<id>"'` lists them. A point
    that fails does not stop the others. Runs go to --store (or the configured store), from cluster workers too.

    \b
    Examples:
      jupyter-mlops sweep train.ipynb --grid lr=0.01,0.1 --grid depth=3,5,7 --metric auc:max
      jupyter-mlops sweep train.ipynb --grid lr=0.001,0.01,0.1 --grid depth=3,5,7,9 --random 5 --seed 1 -p epochs=2
      jupyter-mlops sweep train.ipynb --grid lr=0.01,0.1 --executor dask://scheduler:8786 --format json
    """
    from jupyter_mlops.app.sweep import parse_grid, run_sweep
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.render.sweep import sweep_lines

    parsed = parse_grid(grid)
    display: Any = None

    def started(total: int) -> None:
        nonlocal display
        if fmt != "json":
            title = f"sweep: {total} point{'s' * (total != 1)} of {notebook}"
            display = _Display(total, _use_progress(progress), title=title).__enter__()

    def finished(result: Any) -> None:
        if display is not None:
            display.finished(result)

    with Workspace.from_settings(load_settings(store_url=store_url)) as workspace:
        try:
            result = run_sweep(workspace, notebook, parsed, fixed=opts["params"], random_n=opts["random_n"],
                               seed=opts["seed"], executor=opts["executor"], jobs=opts["jobs"],
                               metric=opts["metric"], timeout=opts["timeout"], cell_timeout=opts["cell_timeout"],
                               output_dir=opts["output_dir"], on_start=started, on_result=finished)
        finally:
            if display is not None:
                display.__exit__(None, None, None)
    data = result.to_dict(top)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in sweep_lines(data):
            click.echo(line)
    if result.exit_code:
        sys.exit(result.exit_code)

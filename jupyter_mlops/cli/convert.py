"""``jupyter-mlops convert``: a notebook to a package, a script, or a jupytext pair (thin: parse, call, report)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("convert")
@click.argument("notebook", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output", required=False, type=click.Path(path_type=Path))
@click.option(
    "--to", "target", type=click.Choice(["package", "script"]), default="package", show_default=True,
    help="package: OUTPUT/<name>/ with params.py, one module per section, pipeline.py; script: one .py file.",
)
@click.option("--pair", is_flag=True, help="Pair the notebook with a py:percent script (modifies its metadata).")
@click.option(
    "--sections", type=click.Choice(["h1", "h2", "h3", "tag"]), default="h2", show_default=True,
    help="Split at markdown headings up to this level, or at cells tagged section:<name>.",
)
@click.option("--name", help="Package name (default: the notebook file name in snake_case).")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
def convert(
    notebook: Path, output: Path | None, target: str, pair: bool, sections: str, name: str | None, force: bool
) -> None:
    """Convert NOTEBOOK to a runnable package (default), a script, or a jupytext pair.

    OUTPUT is the package's folder (default: <stem>_package) or the script's path (default: NOTEBOOK with
    .py). %track magics become jupyter_mlops API calls; display-only magics are dropped; shell commands, %pip,
    %run, %cd, %env and %%bash stop the conversion with one error naming each cell. Only --pair changes the
    notebook (its jupytext formats metadata).

    \b
    Examples:
      jupyter-mlops convert train.ipynb build/            # then: cd build && python -m train --help
      jupyter-mlops convert train.ipynb --to script train_script.py
      jupyter-mlops convert train.ipynb --pair
    """
    from jupyter_mlops.errors import InvalidInput
    from jupyter_mlops.notebooks.convert import convert_notebook
    from jupyter_mlops.notebooks.convert import pair as pair_notebook

    if pair:
        if output is not None:
            raise InvalidInput("--pair writes NOTEBOOK's .py next to it; do not give OUTPUT")
        result = pair_notebook(notebook, force=force)
        click.echo(f"paired {notebook} with {result.output} (formats ipynb,py:percent)")
        return
    result = convert_notebook(notebook, to=target, output=output, sections=sections, name=name, force=force)
    if result.package:
        click.echo(f"wrote package {result.package} ({len(result.sections)} sections) to {result.output}")
        click.echo(f"run it: cd {result.output} && python -m {result.package} --help")
    else:
        click.echo(f"wrote {result.output}")

"""``jupyter-mlops diff-artifact``: the artifacts of two runs, diffed by kind (text, image, table, JSON; ADR-104).

Parses options, calls :func:`jupyter_mlops.app.artifact_diff.diff_artifacts` and formats what it returns; the
JSON is ``ArtifactDiffs.to_dict()``, what ``GET artifact-diff`` answers too.
"""

from __future__ import annotations

import json

import click

from jupyter_mlops.cli._options import format_option, store_option
from jupyter_mlops.errors import InvalidInput


@click.command("diff-artifact")
@click.argument("run_a")
@click.argument("run_b")
@click.argument("names", nargs=-1)
@format_option("text", "json", default="text")
@click.option("--overlay", "overlay", metavar="FILE", default=None,
              help="Write the changed-pixel overlay of the (one) image artifact diffed to this PNG file.")
@click.option("--side-by-side", "side_by_side", metavar="FILE", default=None,
              help="Write the two images and the overlay side by side to this PNG file.")
@store_option
def diff_artifact(run_a: str, run_b: str, names: tuple[str, ...], fmt: str, overlay: str | None,
                  side_by_side: str | None, store_url: str | None) -> None:
    """Diff the artifacts NAMES (default: all) of RUN_B against RUN_A.

    Text as a unified diff, PNG/JPEG images by changed pixels, CSV/TSV/Parquet tables by schema, row count and
    per-column statistics, JSON by the paths added, removed and changed.

    \b
    Examples:
      jupyter-mlops diff-artifact baseline tuned
      jupyter-mlops diff-artifact baseline tuned metrics.json --format json
      jupyter-mlops diff-artifact baseline tuned confusion.png --overlay changed.png
    """
    from jupyter_mlops.app.artifact_diff import diff_artifacts
    from jupyter_mlops.app.workspace import Workspace

    with Workspace.from_url(store_url) as workspace:
        result = diff_artifacts(workspace, run_a, run_b, names)
    for path, key in ((overlay, "overlay"), (side_by_side, "side_by_side")):
        if path:
            images = [item.images[key] for item in result.artifacts if key in item.images]
            if len(images) != 1:
                raise InvalidInput(f"--{key.replace('_', '-')} needs exactly one changed image artifact; "
                                   f"found {len(images)}")
            _write_png(path, images[0])
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        from jupyter_mlops.render.artifact_diff import artifact_diff_text

        click.echo(artifact_diff_text(result.to_dict()), nl=False)


def _write_png(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None

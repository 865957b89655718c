"""The pipeline of magics--track.ipynb: its sections in notebook order, in the notebook's folder."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .params import Params

#: the notebook this package was converted from, and its folder relative to this package's folder
NOTEBOOK = 'magics--track.ipynb'
NOTEBOOK_FOLDER = '..'


@contextlib.contextmanager
def notebook_folder() -> Iterator[Path]:
    """Run in the notebook's folder, as its cells ran: its relative paths, its own modules and its project's
    run store resolve as in the notebook. Where the notebook is not there (the package was moved), the current
    folder is used, as for any script."""
    folder = (Path(__file__).resolve().parent / NOTEBOOK_FOLDER).resolve()
    if not (folder / NOTEBOOK).is_file():
        yield Path.cwd()
        return
    previous = os.getcwd()
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        os.chdir(previous)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def run(params: Params) -> None:
    """Run every section of the notebook in order, with ``params``, in the notebook's folder."""
    with notebook_folder():
        # imported here: a section's imports may be modules next to the notebook
        from .evaluate import evaluate as _evaluate
        from .setup import setup as _setup
        from .train import train as _train

        lr = params.lr
        steps = params.steps
        tag = params.tag
        _setup(lr, steps, tag)
        history = _train(lr, steps)
        _evaluate(history)

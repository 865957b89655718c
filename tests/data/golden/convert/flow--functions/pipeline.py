"""The pipeline of flow--functions.ipynb: its sections in notebook order, in the notebook's folder."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .params import Params

#: the notebook this package was converted from, and its folder relative to this package's folder
NOTEBOOK = 'flow--functions.ipynb'
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
        from .first_pass import first_pass as _first_pass
        from .helpers import helpers as _helpers
        from .report import report as _report
        from .setup import setup as _setup
        from .shadowing import shadowing as _shadowing

        threshold = params.threshold
        factor = params.factor
        name = params.name
        _setup()
        classify, offset, scaled, Scorer, half, raw = _helpers(threshold, factor)
        first, first_scaled, first_score, value_type, const, bonus = _first_pass(factor, classify, scaled, Scorer, raw)
        (value, second, second_scaled, second_score, second_half, squares, last, n) = _shadowing(
            classify,
            offset,
            scaled,
            Scorer,
            half,
            raw,
        )
        _report(
            name,
            first,
            first_scaled,
            first_score,
            value,
            value_type,
            const,
            bonus,
            second,
            second_scaled,
            second_score,
            second_half,
            squares,
            last,
            n,
        )

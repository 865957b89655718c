"""The pipeline of flow--mutations.ipynb: its sections in notebook order."""

from __future__ import annotations

from .build import build as _build
from .mutate import mutate as _mutate
from .report import report as _report
from .setup import setup as _setup
from .params import Params


def run(params: Params) -> None:
    """Run every section of the notebook in order, with ``params``."""
    n_items = params.n_items
    scale = params.scale
    labels = params.labels
    verbose = params.verbose
    _setup()
    items, counts, total, message, box, grid, frame = _build()
    labels, items, counts, total, message, box, grid, frame = _mutate(
        n_items,
        scale,
        labels,
        verbose,
        items,
        counts,
        total,
        message,
        box,
        grid,
        frame,
    )
    _report(labels, items, counts, total, message, box, grid, frame)

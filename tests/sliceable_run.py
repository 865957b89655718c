"""A run whose code snapshot holds executed cells that log a metric: for the slice endpoint and the browser test.

The cells are what a kernel records (source as it ran, execution count, cell id, metrics logged), written through
the store and blob API so no kernel is needed: a dead end, an edited and re-executed cell, an out-of-order run, a
list mutated by ``.append`` in a later cell and an ``exec`` the slicer cannot see into.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_from_settings

CELLS = [
    {"index": 0, "execution_count": 1, "cell_id": "params", "source": "factor = 3", "context": True},
    {"index": 1, "execution_count": 2, "cell_id": "start", "source": "%track start"},
    {"index": 2, "execution_count": 3, "cell_id": "data", "source": "values = [1, 2]"},
    {"index": 3, "execution_count": 4, "cell_id": "dead", "source": "plot = sum(values) * 100\nplot"},
    {"index": 4, "execution_count": 5, "cell_id": "grow", "source": "values.append(4)"},
    {"index": 5, "execution_count": 6, "cell_id": "data", "source": "values = [1, 2, 3]"},
    {"index": 6, "execution_count": 7, "cell_id": "grow", "source": "values.append(4)"},
    {"index": 7, "execution_count": 8, "cell_id": "odd", "source": "exec(''.join(['side', ' = 1']))"},
    {"index": 8, "execution_count": 9, "cell_id": "score", "metrics": ["total"],
     "source": "total = sum(values) * factor\n%track metric total=total"},
]
#: The slice of ``total``: (execution count, source) of each kept cell, in order.
TOTAL_SLICE = [(1, "factor = 3"), (2, "%track start"), (6, "values = [1, 2, 3]"), (7, "values.append(4)"),
               (8, CELLS[7]["source"]), (9, CELLS[8]["source"])]


def add_sliceable_run(root: Path, name: str = "sliced", experiment: str = "churn") -> str:
    """Record run ``name`` (metric ``total`` = 30, notebook ``NAME.ipynb``) with the cells above at ``root``; its id."""
    settings = load_settings(start=root, environ={})
    store, blobs = open_from_settings(settings)
    with store:
        run = store.create_run(name=name, experiment=experiment, notebook_path=str(root / f"{name}.ipynb"))
        store.log_metric(run.id, "total", 30.0)
        store.update_run(run.id, code_hash=blobs.put_json({"version": 1, "cells": CELLS}))
        store.end_run(run.id)
    return run.id

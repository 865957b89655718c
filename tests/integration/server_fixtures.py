"""Shared data for the REST API tests: a real SQLite project store with two comparable runs.

The two runs differ in one param, one metric history, one data input (a column added) and one executed cell,
so every section of a comparison has something to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jupyter_mlops.config import load_settings
from jupyter_mlops.entities import DataInput
from jupyter_mlops.store import open_from_settings

CODE_A = {"cells": [{"index": 0, "execution_count": 1, "source": "lr = 0.1", "cell_id": "p"},
                    {"index": 1, "execution_count": 2, "source": "model = fit(lr)\nscore(model)", "cell_id": "f"}]}
CODE_B = {"cells": [{"index": 0, "execution_count": 1, "source": "lr = 0.3", "cell_id": "p"},
                    {"index": 1, "execution_count": 2, "source": "model = fit(lr, depth=4)\nscore(model)",
                     "cell_id": "f"}]}
ENV = {"python": "3.11.7", "platform": "linux", "packages": {"numpy": "2.0.0"}}


@dataclass
class Project:
    """A project folder whose store holds two finished runs and one running run."""

    root: Path
    store_url: str
    run_a: str
    run_b: str
    running: str


def _schema(columns: list[str]) -> dict[str, object]:
    return {"columns": [{"name": c, "dtype": "int64"} for c in columns], "rows": 10, "shape": [10, len(columns)]}


def make_project(root: Path) -> Project:
    """Create ``root/.mlops`` with runs ``base`` (lr 0.1) and ``wider`` (lr 0.3), plus a running ``live`` run."""
    settings = load_settings(start=root, environ={})
    store, blobs = open_from_settings(settings)
    ids = []
    with store:
        for name, lr, code, cols in (("base", 0.1, CODE_A, ["a"]), ("wider", 0.3, CODE_B, ["a", "b"])):
            run = store.create_run(name=name, experiment="churn", tags=["lgbm"], notebook_path="train.ipynb")
            store.log_params(run.id, {"lr": lr, "depth": 4})
            for step in range(5):
                store.log_metric(run.id, "auc", 0.5 + lr * step / 10, step=step)
            data = DataInput("data/train.csv", f"xxh3_128:{len(cols):032x}", size=100 * len(cols), schema=_schema(cols))
            store.log_data_inputs(run.id, [data])
            store.update_run(run.id, code_hash=blobs.put_json(code), env_hash=blobs.put_json(ENV))
            store.end_run(run.id)
            ids.append(run.id)
        live = store.create_run(name="live", experiment="churn", notebook_path="live.ipynb")
    return Project(root, settings.store_url, ids[0], ids[1], live.id)

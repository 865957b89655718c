"""Shared test data for comparison tests: three runs whose params, code, data, environment and metrics differ.

``baseline`` (lr 0.1, numpy 1.26, train.csv with columns age:int64, y) → ``tuned`` (lr 0.05, numpy 2.0, age
becomes float64, income added, 101 rows) → ``wide`` (lr 0.05, depth 5, an extra cell, out-of-order flag).
"""

from __future__ import annotations

from typing import Any

from jupyter_mlops.entities import DataInput, Metric
from jupyter_mlops.store.base import Store

STEPS = 20


def schema(rows: int, columns: dict[str, str]) -> dict[str, Any]:
    return {"columns": [{"name": c, "dtype": d} for c, d in columns.items()], "rows": rows}


def code_snapshot(*sources: str) -> dict[str, Any]:
    return {"cells": [{"index": i, "execution_count": i + 1, "source": s, "cell_id": f"c{i}"}
                      for i, s in enumerate(sources)]}


def populate(store: Store, blobs: Any) -> dict[str, str]:
    """Create the three runs; returns ``{name: run id}``."""
    specs = [
        ("baseline", 0.1, 3, "1.26.0", {"age": "int64", "y": "int64"}, 100, ()),
        ("tuned", 0.05, 3, "2.0.0", {"age": "float64", "y": "int64", "income": "float64"}, 101, ()),
        ("wide", 0.05, 5, "2.0.0", {"age": "float64", "y": "int64", "income": "float64"}, 101, ("plot(history)",)),
    ]
    ids = {}
    for i, (name, lr, depth, numpy, columns, rows, extra_cells) in enumerate(specs):
        run = store.create_run(name=name, experiment="churn", tags=["demo"], start_time=1_700_000_000.0 + i * 100)
        store.log_params(run.id, {"lr": lr, "depth": depth, "optimizer": "adam", "layers": [64, 32]})
        points = [Metric("loss", 1.0 / (s + 1 + i), s, 1.0 + s) for s in range(STEPS)]
        points += [Metric("auc", 0.80 + 0.05 * i, s, 1.0 + s) for s in range(STEPS)]
        store.log_batch(run.id, metrics=points)
        digest = "xxh3_128:" + ("a" * 32 if i == 0 else "b" * 32)
        store.log_data_inputs(run.id, [DataInput("data/train.csv", digest, path="data/train.csv", size=1000 + rows,
                                                 schema=schema(rows, columns))])
        code = code_snapshot("import pandas as pd", f"lr = {lr}\nmodel.fit(X, y, lr=lr)", *extra_cells)
        env = {"python": {"version": "3.11.7", "implementation": "CPython"},  # the shape capture.env records
               "platform": {"system": "Linux", "platform": "Linux-6.1-x86_64"},
               "cpu": {"model": "Xeon", "count": 2}, "ram": {"total": 8_000_000_000}, "gpus": [],
               "packages": {"numpy": numpy, "pandas": "2.2.0"}}
        store.update_run(run.id, code_hash=blobs.put_json(code), env_hash=blobs.put_json(env),
                         flags={"out_of_order": name == "wide", "edited_after_run": False})
        store.end_run(run.id, end_time=1_700_000_042.0 + i * 100)
        ids[name] = run.id
    return ids

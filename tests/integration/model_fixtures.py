"""Model versions in the server tests' project store, registered through the public Python API.

``churn:1.0.0`` is logged by a run that read ``data/train.csv``; ``churn:1.1.0`` by a second run on changed data,
with ``churn:1.0.0`` as its parent. The champion alias and the production stage point at 1.0.0 (forced, since the
runs recorded no code), with a note made of markup, so every face must show it as text.
"""

from __future__ import annotations

from pathlib import Path

import jupyter_mlops as mlops
from jupyter_mlops.app import models
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.tracking import context, fluent

HOSTILE_NOTE = '<img src=x onerror="window.__pwned=1">'


def add_models(root: Path, store_url: str) -> None:
    """Register churn 1.0.0 and 1.1.0 (child of 1.0.0) with data and runs, then alias and stage 1.0.0."""
    data = root / "data" / "train.csv"
    data.parent.mkdir(exist_ok=True)
    try:
        for rows, run_name in ((["a,b", "1,2"], "fit-one"), (["a,b", "1,2", "3,4"], "fit-two")):
            data.write_text("\n".join(rows) + "\n")
            with mlops.start_run(run_name, store=store_url, auto_capture=False) as run:
                run.log_data(str(data), name="train")
                run.log_metric("auc", 0.8)
                run.log_model({"w": len(rows)}, "churn", parents=["churn:latest"] if run_name == "fit-two" else ())
    finally:
        fluent.end_run()
        context.drain()
    with Workspace.from_settings(load_settings(start=root, environ={})) as workspace:
        models.set_alias(workspace, "churn:1.0.0", "champion", force=True, reason="no code recorded",
                         note=HOSTILE_NOTE)
        models.set_stage(workspace, "churn:1.0.0", "production", force=True, reason="no code recorded")

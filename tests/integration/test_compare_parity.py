"""One comparison answer for every face: the CLI's JSON, the REST reply and the ipywidgets view agree (ADR-041).

Given the server tests' project (two runs that differ in a param, a metric history, a data input and a cell) plus a
metric each run logged once, when the same runs are compared through the real console command, a real Jupyter
server's REST API and the widget, then the CLI's ``--format json`` equals the comparison in the REST reply, and
the widget draws exactly the REST reply's chart specs: single-point histories left out, one params chart per
metric.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from server_fixtures import Project

from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.entities import SliceMetric
from jupyter_mlops.ipython.widgets import compare_widget
from jupyter_mlops.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]

VEGA = "application/vnd.vegalite.v5+json"
CHART_KEYS = {"charts", "params_charts", "max_points", "downsampled"}  # REST-only: docs/compare-json.md


def log_a_final_metric(project: Project) -> None:
    """A metric each run logged once: a dot per run, which the metrics table already says in full."""
    with open_store(project.store_url, create=False) as store:
        store.log_metric(project.run_a, "final_loss", 0.31, step=0)
        store.log_metric(project.run_b, "final_loss", 0.27, step=0)
        store.log_batch(project.run_a, sliced=[SliceMetric("auc", "region=EU", 0.8)])  # and a slice (ADR-070)


def cli_compare_json(project: Project, *refs: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "runs", "compare", *refs, "--format", "json"],
        cwd=project.root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=False))


def widget_charts(view: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The specs the widget shows: history charts by metric, and each metric's params chart (via its picker)."""
    _table, history, picker, params = view.children[1].children

    def shown(output: Any) -> list[dict[str, Any]]:
        return [o["data"][VEGA] for o in output.outputs if VEGA in o.get("data", {})]

    by_metric = {}
    for key in picker.options:
        picker.value = key
        (by_metric[key],) = shown(params)
    return {spec["title"]: spec for spec in shown(history)}, by_metric


async def test_cli_json_and_rest_reply_carry_the_same_comparison(api, project):
    log_a_final_metric(project)
    rest = await api("compare", ids=f"{project.run_a},{project.run_b}")
    cli = cli_compare_json(project, "base", "wider")

    assert [run["id"] for run in cli["runs"]] == [project.run_a, project.run_b]
    assert cli["params"] and cli["code"] and cli["data"] and cli["metrics"] and cli["slices"]  # every section
    assert set(rest) - set(cli) == CHART_KEYS
    assert {key: value for key, value in rest.items() if key not in CHART_KEYS} == cli


async def test_widget_draws_the_rest_replys_charts(api, project):
    log_a_final_metric(project)
    rest = await api("compare", ids=f"{project.run_a},{project.run_b}")
    with Workspace.from_settings(load_settings(start=Path(project.root), environ={})) as workspace:
        view = compare_widget([project.run_a, project.run_b], workspace=workspace)
    history, params = widget_charts(view)

    assert set(rest["charts"]) == {"auc"}  # final_loss has one point per run: no history chart
    assert set(rest["params_charts"]) == {"auc", "final_loss"}  # lr differs: one params chart per metric
    assert as_json(history) == rest["charts"]
    assert as_json(params) == rest["params_charts"]

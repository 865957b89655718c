"""``GET sweeps/{id}``: a sweep's rows through the real server, validated against docs/openapi.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from tornado.httpclient import HTTPClientError

from jupyter_mlops.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text())
SWEEP = "20261207-1010-abcdef"


def schema_of(status: int) -> dict:
    response = SPEC["paths"]["/sweeps/{sweep}"]["get"]["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return {**response["content"]["application/json"]["schema"], "components": SPEC["components"]}


@pytest.fixture
def sweep_runs(project):
    ids = []
    with open_store(project.store_url) as store:
        for point, (lr, auc) in enumerate([(0.01, 0.7), (0.1, 0.9), (1.0, 0.8)]):
            run = store.create_run(name=f"p{point}", tags=["sweep", f"sweep:{SWEEP}", f"sweep-point:{point}"])
            store.log_params(run.id, {"lr": lr})
            store.log_metric(run.id, "auc", auc)
            store.end_run(run.id)
            ids.append(run.id)
    return ids


async def fetch(jp_fetch, sweep_id: str, **params: str) -> tuple[int, dict]:
    try:
        response = await jp_fetch("jupyter-mlops", "api", "sweeps", sweep_id, params=params)
        return response.code, json.loads(response.body)
    except HTTPClientError as error:
        return error.code, json.loads(error.response.body)


async def test_a_sweep_replies_rows_best_first(jp_fetch, sweep_runs):
    code, body = await fetch(jp_fetch, SWEEP, metric="auc:max")
    assert code == 200
    Draft202012Validator(schema_of(200)).validate(body)
    assert [row["run_id"] for row in body["rows"]] == [sweep_runs[1], sweep_runs[2], sweep_runs[0]]
    assert body["best"] == sweep_runs[1]
    assert body["params"] == ["lr"]


@pytest.mark.parametrize(("sweep_id", "params", "status", "code"), [
    ("nope", {"metric": "auc:max"}, 404, "NOT_FOUND"),
    (SWEEP, {"metric": "auc"}, 400, "INVALID_INPUT"),
])
async def test_unknown_sweep_404_and_bad_metric_400(jp_fetch, sweep_runs, sweep_id, params, status, code):
    got, body = await fetch(jp_fetch, sweep_id, **params)
    assert (got, body["code"]) == (status, code)
    Draft202012Validator(schema_of(status)).validate(body)

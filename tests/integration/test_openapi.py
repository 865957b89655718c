"""docs/openapi.yaml matches the server: every route is documented and real responses validate against it.

Given the two-run project store, each documented operation is called on a real jupyter_server and its JSON reply
(success and error) is validated with jsonschema against the response schema the document declares.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError
from model_fixtures import add_models
from tornado.httpclient import HTTPClientError

from jupyter_mlops.entities import SliceMetric
from jupyter_mlops.server.handlers import ROUTES
from jupyter_mlops.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text())




def response_schema(path: str, method: str, status: int) -> dict:
    response = SPEC["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def validate(instance: object, schema: dict) -> None:
    # The whole document is the root, so "#/components/schemas/..." references resolve.
    Draft202012Validator({**schema, "components": SPEC["components"]}).validate(instance)


def test_every_route_is_documented():
    documented = {re.sub(r"\{[^}]+\}", "X", p).strip("/") for p in SPEC["paths"]}
    routed = {re.sub(r"\([^)]*\)", "X", pattern) for pattern, _ in ROUTES if pattern != "(.*)"}
    assert routed == documented


def test_spec_is_valid_json_schema():
    for schema in SPEC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_validation_catches_a_wrong_shape():
    with pytest.raises(ValidationError):
        validate({"runs": [], "total": "many"}, {"$ref": "#/components/schemas/RunsPage"})


CALLS = [
    ("/settings", "get", "settings", {}, None, 200),
    ("/runs", "get", "runs", {"filter": "params.lr > 0", "sort": "-metrics.auc", "limit": "2"}, None, 200),
    ("/runs", "get", "runs", {"filter": "params.lr >>"}, None, 400),
    ("/runs", "get", "runs", {"limit": "1000"}, None, 400),
    ("/runs/{run}", "get", "runs/{a}", {}, None, 200),
    ("/runs/{run}", "get", "runs/{live}", {}, None, 200),
    ("/runs/{run}", "get", "runs/ffffffffffff", {}, None, 404),
    ("/runs/{run}", "get", "runs/..%2Fx", {}, None, 400),
    ("/runs/{run}", "patch", "runs/{a}", {}, {"note": "n", "tags": ["t"]}, 200),
    ("/runs/{run}", "patch", "runs/{a}", {}, {"bogus": 1}, 400),
    ("/runs/{run}/metrics/{key}", "get", "runs/{a}/metrics/auc", {}, None, 200),
    ("/runs/{run}/metrics/{key}", "get", "runs/ffffffffffff/metrics/auc", {}, None, 404),
    ("/runs/{run}/reproduce", "post", "runs/{live}/reproduce", {}, {"tolerances": ["auc=1%"]}, 202),
    ("/runs/{run}/reproduce", "post", "runs/ffffffffffff/reproduce", {}, {}, 404),
    ("/runs/{run}/reproduce", "post", "runs/{a}/reproduce", {}, {"tolerances": ["auc=lots"]}, 400),
    ("/runs/{run}/slice", "get", "runs/{a}/slice", {"target": "model"}, None, 200),
    ("/runs/{run}/slice", "get", "runs/{a}/slice", {"metric": "auc"}, None, 400),
    ("/runs/{run}/slice", "get", "runs/{a}/slice", {"metric": "nope"}, None, 404),
    ("/runs/{run}/slice", "get", "runs/ffffffffffff/slice", {"metric": "auc"}, None, 404),
    ("/runs/{run}/slice", "get", "runs/{a}/slice", {}, None, 400),
    ("/jobs/{job}", "get", "jobs/" + "0" * 32, {}, None, 404),
    ("/jobs/{job}", "get", "jobs/nope", {}, None, 400),
    ("/jobs/{job}", "delete", "jobs/" + "0" * 32, {}, None, 404),
    ("/compare", "get", "compare", {"ids": "{a},{b}"}, None, 200),
    ("/compare", "get", "compare", {"ids": "{a}"}, None, 400),
    ("/diff", "get", "diff", {"a": "{a}", "b": "{b}"}, None, 200),
    ("/diff", "get", "diff", {"a": "{a}", "b": "ffffffffffff"}, None, 404),
    ("/models", "get", "models", {}, None, 200),
    ("/models/{model}", "get", "models/churn", {}, None, 200),
    ("/models/{model}", "get", "models/churn@champion", {}, None, 200),
    ("/models/{model}", "get", "models/nope", {}, None, 404),
    ("/models/{model}", "get", "models/churn:1.x", {}, None, 400),
    ("/models/{model}/lineage", "get", "models/churn:1.1.0/lineage", {}, None, 200),
    ("/models/{model}/lineage", "get", "models/churn/lineage", {}, None, 400),
    ("/models/{model}/lineage", "get", "models/churn:9.9.9/lineage", {}, None, 404),
    ("/models/{model}/history", "get", "models/churn/history", {}, None, 200),
    ("/models/{model}/history", "get", "models/nope/history", {}, None, 404),
    ("/models/{model}/alias", "post", "models/churn:1.1.0/alias", {},
     {"alias": "challenger", "force": True, "reason": "trial"}, 200),
    ("/models/{model}/alias", "post", "models/churn:1.1.0/alias", {}, {"alias": "challenger"}, 409),
    ("/models/{model}/alias", "post", "models/churn:1.1.0/alias", {}, {"alias": "latest"}, 400),
    ("/models/{model}/stage", "post", "models/churn@champion/stage", {}, {"stage": "archived", "note": "old"}, 200),
    ("/models/{model}/stage", "post", "models/churn:1.0.0/stage", {}, {"stage": "nope"}, 400),
    ("/models/{model}/stage", "post", "models/churn:9.9.9/stage", {}, {"stage": "archived"}, 404),
]


@pytest.mark.parametrize(("path", "method", "url", "params", "body", "status"), CALLS,
                         ids=[f"{c[1]} {c[2]} {c[5]}" for c in CALLS])
async def test_response_matches_spec(jp_fetch, project, path, method, url, params, body, status):
    if path.startswith("/models"):
        add_models(project.root, project.store_url)
    ids = {"a": project.run_a, "b": project.run_b, "live": project.running}
    kwargs = {"method": method.upper(), "params": {k: v.format(**ids) for k, v in params.items()}}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    try:
        response = await jp_fetch("jupyter-mlops", "api", *url.format(**ids).split("/"), **kwargs)
        code, payload = response.code, json.loads(response.body)
    except HTTPClientError as error:
        code, payload = error.code, json.loads(error.response.body)
    assert code == status, payload
    validate(payload, response_schema(path, method, status))
    if body is not None and status in (200, 202):
        validate(body, SPEC["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


@pytest.mark.parametrize(("label", "status"), [("region=EU", 200), ("region=APAC", 404), ("region", 400)])
async def test_a_slice_history_matches_the_spec(jp_fetch, project, label, status):
    with open_store(project.store_url) as store:
        store.log_batch(project.run_a, sliced=[SliceMetric("auc", "region=EU", 0.7, step) for step in (0, 1)])
    params = {p["name"] for p in SPEC["paths"]["/runs/{run}/metrics/{key}"]["get"]["parameters"]}
    assert params == {"slice"}
    try:
        response = await jp_fetch("jupyter-mlops", "api", "runs", project.run_a, "metrics", "auc",
                                  params={"slice": label})
        code, payload = response.code, json.loads(response.body)
    except HTTPClientError as error:
        code, payload = error.code, json.loads(error.response.body)
    assert code == status, payload
    validate(payload, response_schema("/runs/{run}/metrics/{key}", "get", status))
    if status == 200:
        assert payload["slice"] == "region=EU" and [p["step"] for p in payload["points"]] == [0, 1]


async def test_a_job_matches_the_spec_while_it_runs_and_once_finished(jp_fetch, project):
    # the live run has no notebook snapshot: the job verifies, is refused, and is done (a refusal is a verdict)
    async def call(method: str, url: str, body: str | None = None) -> tuple[int, dict]:
        try:
            response = await jp_fetch("jupyter-mlops", "api", *url.split("/"), method=method, body=body)
            return response.code, json.loads(response.body)
        except HTTPClientError as error:
            return error.code, json.loads(error.response.body)

    code, queued = await call("POST", f"runs/{project.running}/reproduce", "{}")
    assert code == 202
    validate(queued, response_schema("/runs/{run}/reproduce", "post", 202))
    job_url = f"jobs/{queued['job']['id']}"
    for _ in range(3000):  # a hang guard: the loop ends as soon as the job has finished
        code, polled = await call("GET", job_url)
        assert code == 200
        validate(polled, response_schema("/jobs/{job}", "get", 200))
        if polled["job"]["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert polled["job"]["state"] == "done" and polled["job"]["result"]["outcome"] == "refused", polled
    code, refused = await call("DELETE", job_url)
    assert code == 409
    validate(refused, response_schema("/jobs/{job}", "delete", 409))

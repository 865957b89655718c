"""REST ``GET runs/{id}`` exposes the recorded profile of each data input (ADR-082), as ``runs show`` does.

A run of the real server's project records a real CSV through the tracking API (hash, schema and profile into the
SQLite store and the blob store); the reply names its profile by the input's name, equal to the profile the
recording stored and to what ``app.runs.show_run`` (the CLI's ``runs show --format json``) returns, and valid
against docs/openapi.yaml. A run whose inputs were recorded without a profile answers ``{}``.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

import jupyter_mlops as mlops
from jupyter_mlops.app.runs import show_run
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.capture.profile import profile_file
from jupyter_mlops.config import load_settings
from jupyter_mlops.store import open_from_settings
from jupyter_mlops.tracking import context, fluent

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text())


def _validate_detail(payload: dict) -> None:
    # The whole document is the root, so "#/components/schemas/..." references resolve.
    Draft202012Validator({**SPEC["components"]["schemas"]["RunDetail"], "components": SPEC["components"]}).validate(
        payload)


def _record(root: Path) -> tuple[str, Path]:
    data = root / "data" / "churn.csv"
    data.parent.mkdir(exist_ok=True)
    rows = [f"{i},{['EU', 'US', 'APAC'][i % 3]},{i * 0.5},2024-01-{i % 28 + 1:02d}" for i in range(60)]
    data.write_text("id,region,spend,day\n" + "\n".join(rows) + "\n")
    settings = load_settings(start=root, environ={})
    store, blobs = open_from_settings(settings)
    try:
        with mlops.start_run("profiled", store=store, blobs=blobs, auto_capture=False, redact=False) as run:
            run.log_data(str(data), name="churn-data")
    finally:
        fluent.end_run()
        context.drain()
        store.close()
    return run.id, data


async def test_a_run_replies_with_its_data_profile(api, project):
    run_id, data = _record(project.root)
    payload = await api(f"runs/{run_id}")
    _validate_detail(payload)
    assert list(payload["profiles"]) == ["churn-data"]
    profile = payload["profiles"]["churn-data"]
    assert json.loads(json.dumps(profile_file(data))) == profile
    columns = {c["name"]: c for c in profile["columns"]}
    assert (columns["id"]["min"], columns["id"]["max"], profile["rows"]) == (0, 59, 60)
    assert {v for v, _ in columns["region"]["top"]} == {"EU", "US", "APAC"}
    digest = payload["run"]["data_inputs"][0]["schema"]["profile"]
    settings = load_settings(start=project.root, environ={})
    with Workspace.from_settings(settings) as workspace:
        assert workspace.blobs.get_json(digest) == profile
        assert show_run(workspace, run_id).profiles == payload["profiles"]  # the CLI's runs show, the same call


async def test_a_run_without_profiles_replies_with_none(api, project):
    payload = await api(f"runs/{project.run_a}")
    _validate_detail(payload)
    assert payload["run"]["data_inputs"][0]["name"] == "data/train.csv"  # recorded with a schema, no profile
    assert payload["profiles"] == {}

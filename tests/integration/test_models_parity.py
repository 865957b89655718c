"""The model registry answers the same on every face: ``models ... --format json`` equals the REST reply (ADR-057).

Given the server tests' project with two model versions (1.1.0 a child of 1.0.0, champion and production on
1.0.0), each read-only ``models`` command run as a real console command prints exactly the JSON a real Jupyter
server returns for the same thing, for every way of naming a version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from model_fixtures import HOSTILE_NOTE, add_models
from server_fixtures import Project

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def cli_json(project: Project, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    done = subprocess.run([sys.executable, "-m", "jupyter_mlops", "models", *args, "--format", "json"],
                          cwd=project.root, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def models_project(project: Project) -> Project:
    add_models(project.root, project.store_url)
    return project


async def test_list_show_and_history_match_the_cli(api, models_project):
    rest_list = await api("models")
    assert [(m["name"], m["latest"], m["versions"]) for m in rest_list["models"]] == [("churn", "1.1.0", 2)]
    assert rest_list == cli_json(models_project, "list")

    shown = await api("models/churn")
    assert [v["version"] for v in shown["versions"]] == ["1.1.0", "1.0.0"]
    assert shown == cli_json(models_project, "show", "churn")

    history = await api("models/churn/history")
    assert [(e["change"], e["to_value"]) for e in history["history"]] == [("alias", "1.0.0"), ("stage", "production")]
    assert HOSTILE_NOTE in history["history"][0]["note"]
    assert history == cli_json(models_project, "history", "churn")


@pytest.mark.parametrize("ref", ["churn:1.1.0", "churn:latest", "churn@champion"])
async def test_lineage_matches_the_cli_for_every_way_of_naming_a_version(api, models_project, ref):
    rest = await api(f"models/{ref}/lineage")
    assert rest == cli_json(models_project, "lineage", ref)
    assert rest["run"]["name"] in {"fit-one", "fit-two"}
    assert rest["model"]["lineage"]["data"][0]["name"] == "train"


async def test_a_version_child_lineage_carries_its_parent(api, models_project):
    rest = await api("models/churn:1.1.0/lineage")
    assert rest["run"]["name"] == "fit-two"
    (parent,) = rest["parents"]
    assert parent["model"]["version"] == "1.0.0" and parent["run"]["name"] == "fit-one"

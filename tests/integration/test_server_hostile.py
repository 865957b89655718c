"""The REST API against hostile requests, and a real Jupyter server whose store needs a missing driver.

In-process (pytest-jupyter): deeply nested bodies, 30-digit offsets and filters past the limits are 400s with
``{"code", "message"}``, logged as one line without a traceback; markup in tags is stored as text and control
characters in names and tags are refused. In a subprocess: a server started where ``import psycopg`` fails, with a
PostgreSQL store URL holding a password, still loads the extension, answers every API call with the documented
JSON 503 naming the pip extra, and never writes the password to its log or the settings reply.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.error
import urllib.request

import pytest
from jupyter_process import jupyter_process
from model_fixtures import HOSTILE_NOTE, add_models
from tornado.httpclient import HTTPClientError

from jupyter_mlops.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]




async def expect_400(coro, code: str = "INVALID_INPUT") -> str:
    with pytest.raises(HTTPClientError) as info:
        await coro
    assert info.value.code == 400
    payload = json.loads(info.value.response.body)
    assert payload["code"] == code and "\n" not in payload["message"]
    return payload["message"]


async def test_a_deeply_nested_patch_body_is_400(api, project):
    message = await expect_400(api(f"runs/{project.run_a}", "PATCH", "[" * 100_000))
    assert "nested too deeply" in message


async def test_a_30_digit_offset_is_400(api):
    assert "offset" in await expect_400(api("runs", offset="9" * 30))


@pytest.mark.parametrize(
    "text",
    ["(" * 1300 + "name = a" + ")" * 1300, "not " * 900 + "name = a",
     " or ".join(f"name=n{i}" for i in range(300)), "params.lr in (" + ",".join(map(str, range(300))) + ")"],
    ids=["parens", "nots", "or-terms", "in-values"],
)
async def test_filters_past_the_limits_are_400(api, text):
    await expect_400(api("runs", filter=text), "INVALID_FILTER")


async def test_a_bad_request_is_logged_in_one_line_without_a_traceback(api, project, caplog):
    caplog.set_level(logging.WARNING)
    await expect_400(api(f"runs/{project.run_a}", "PATCH", "[" * 100_000))
    await expect_400(api("runs", filter="not " * 900 + "name = a"), "INVALID_FILTER")
    assert not [r for r in caplog.records if r.exc_info or "Uncaught exception" in r.getMessage()]
    lines = [r.getMessage() for r in caplog.records if "jupyter_mlops: 400" in r.getMessage()]
    assert len(lines) == 2 and all("\n" not in line for line in lines), lines


async def test_markup_in_tags_is_text_and_listings_keep_working(api, project):
    reply = await api(f"runs/{project.run_a}", "PATCH", {"tags": ["[/bold]", "[link=https://evil.example]x"]})
    assert sorted(reply["run"]["tags"]) == ["[/bold]", "[link=https://evil.example]x"]
    listed = await api("runs")
    assert any("[/bold]" in r["tags"] for r in listed["runs"])


@pytest.mark.parametrize(
    "body",
    [{"name": "evil\x1b]0;TITLE\x07\x1b[2J"}, {"name": "del\x7f"}, {"tags": ["csi\x9b2J"]}, {"tags": ["rlo\u202e"]}],
    ids=["escape-name", "del-name", "c1-tag", "bidi-tag"],
)
async def test_control_characters_in_names_and_tags_are_400(api, project, body):
    assert "control character" in await expect_400(api(f"runs/{project.run_a}", "PATCH", body))
    with open_store(project.store_url, create=False) as store:
        run = store.get_run(project.run_a)
    assert (run.name, run.tags) == ("base", ("lgbm",))


@pytest.mark.parametrize(
    ("segment", "expect"),
    [("churn%3A1.x", "invalid model reference"), ("churn", "names no version"), ("%3Cscript%3E%3A1.0.0", "invalid"),
     ("churn%40latest", "reserved"), ("a%2F..%2Fb%3A1.0.0", "invalid model reference"), ("x" * 400, "invalid"),
     ("churn%1B%5B2J%3A1.0.0", "invalid model reference"), ("churn%3A99999999999999999999.0.0", "")],
    ids=["bad-version", "no-version", "markup", "latest-alias", "slashes", "long", "escape", "huge-number"],
)
async def test_hostile_model_references_are_400_in_one_line(http_server_client, jp_auth_header, jp_base_url,
                                                             project, segment, expect, caplog):
    caplog.set_level(logging.WARNING)
    with pytest.raises(HTTPClientError) as info:  # the segment goes out exactly as written (already encoded)
        await http_server_client.fetch(f"{jp_base_url}jupyter-mlops/api/models/{segment}/lineage",
                                       headers=jp_auth_header)
    assert info.value.code == 400, info.value.response.body
    payload = json.loads(info.value.response.body)
    assert payload["code"] == "INVALID_INPUT" and "\n" not in payload["message"] and expect in payload["message"]
    assert not [r for r in caplog.records if r.exc_info or "Uncaught exception" in r.getMessage()]


async def test_unknown_models_versions_and_aliases_are_404(api, project):
    add_models(project.root, project.store_url)
    for path in ("models/nope", "models/nope/history", "models/churn:7.0.0/lineage", "models/churn@gone/lineage"):
        with pytest.raises(HTTPClientError) as info:
            await api(path)
        assert info.value.code == 404 and json.loads(info.value.response.body)["code"] == "NOT_FOUND"


async def test_markup_in_a_model_note_comes_back_as_the_same_text(api, project):
    add_models(project.root, project.store_url)
    (event, _stage) = (await api("models/churn/history"))["history"]
    assert HOSTILE_NOTE in event["note"]  # JSON carries it verbatim; the sidebar renders it as text (jest, browser)


# -- a real server without psycopg ------------------------------------------------------------------------------
def _get(url: str) -> tuple[int, str, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), json.loads(error.read())


@pytest.mark.timeout(180)
def test_a_server_without_psycopg_answers_json_503_and_never_logs_the_password(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['psycopg'] = None\n")
    root = tmp_path / "project"
    root.mkdir()
    store_url = "postgresql+psycopg://mlops:hunter2/secret@127.0.0.1:9/runs"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH")) if p),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    env.pop("JUPYTER_MLOPS_STORE", None)
    log = tmp_path / "server.log"
    options = ["--ServerApp.jpserver_extensions={'jupyter_mlops': True}", f"--MlopsServerConfig.store_url={store_url}"]
    with jupyter_process([sys.executable, "-m", "jupyter_server"], root=root, env=env, log=log,
                         options=options) as server:
        base, token = server.url, server.token
        status, kind, payload = _get(f"{base}/jupyter-mlops/api/runs?token={token}")
        assert status == 503 and kind.startswith("application/json"), (status, payload)
        assert payload["code"] == "STORE_UNAVAILABLE" and "jupyter_mlops[postgres]" in str(payload["message"])
        status, _, settings = _get(f"{base}/jupyter-mlops/api/settings?token={token}")
        assert status == 200 and settings["store"] == "postgresql+psycopg://mlops:***@127.0.0.1:9/runs"
    text = log.read_text()
    assert "Experiments API on postgresql+psycopg://mlops:***@127.0.0.1:9/runs" in text
    assert "hunter2" not in text and "Traceback" not in text, text[-3000:]
    assert token not in text  # the one-line log of the 503 names the path, not the query string

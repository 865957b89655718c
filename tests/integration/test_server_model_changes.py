"""Setting a model version's alias and stage over REST (real jupyter_server, real store, the real registry).

Given the two churn versions of ``model_fixtures`` (their runs recorded no code, so their lineage is incomplete),
``POST models/{ref}/alias`` and ``.../stage`` call the same ``app.models`` functions as ``jupyter-mlops models
alias|stage``: promotion is refused with 409 and the registry's message until forced with a reason, which the
append-only history then shows; archiving is never refused; bad bodies are 400 and nothing changes; a
cookie-authenticated POST needs the XSRF token.
"""

from __future__ import annotations

import json

import pytest
from model_fixtures import add_models
from test_server_api import expect_error
from test_server_auth import _login_cookies
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def registry(project):
    add_models(project.root, project.store_url)
    return project


async def history(api) -> list[dict]:
    return (await api("models/churn/history"))["history"]


async def test_promotion_is_refused_until_forced_with_a_reason_and_recorded(api, registry):
    before = await history(api)
    refused = await expect_error(api("models/churn:1.1.0/alias", method="POST", body={"alias": "challenger"}),
                                 409, "CONFLICT")
    assert "lineage incomplete" in refused["message"] and "--force" in refused["message"]
    no_reason = await expect_error(api("models/churn:1.1.0/alias", method="POST",
                                       body={"alias": "challenger", "force": True}), 400, "INVALID_INPUT")
    assert "reason" in no_reason["message"]
    assert await history(api) == before  # nothing was written

    forced = await api("models/churn:1.1.0/alias", method="POST",
                       body={"alias": "challenger", "force": True, "reason": "trial on new data", "note": "week 3"})
    event = forced["event"]
    assert (event["change"], event["label"], event["version"], event["to_value"]) == ("alias", "challenger", "1.1.0",
                                                                                       "1.1.0")
    assert event["forced"] and "trial on new data" in event["note"] and "week 3" in event["note"]
    staged = await api("models/churn@challenger/stage", method="POST",
                       body={"stage": "staging", "force": True, "reason": "trial"})
    assert (staged["event"]["change"], staged["event"]["to_value"], staged["event"]["version"]) == (
        "stage", "staging", "1.1.0")
    archived = await api("models/churn:1.0.0/stage", method="POST", body={"stage": "archived"})
    assert archived["event"]["forced"] is False  # archiving never needs complete lineage
    after = await history(api)
    assert after[:len(before)] == before and [e["to_value"] for e in after[len(before):]] == [
        "1.1.0", "staging", "archived"]
    versions = {v["version"]: v for v in (await api("models/churn"))["versions"]}
    assert versions["1.1.0"]["aliases"] == ["challenger"] and versions["1.1.0"]["stage"] == "staging"
    assert versions["1.0.0"]["stage"] == "archived"


@pytest.mark.parametrize(("url", "body", "status", "words"), [
    ("models/churn:1.1.0/alias", {"alias": "latest"}, 400, "reserved"),
    ("models/churn:1.1.0/alias", {"alias": "no spaces"}, 400, "invalid alias"),
    ("models/churn:1.1.0/alias", {"alias": 3}, 400, "alias must be a string"),
    ("models/churn:1.1.0/alias", {"alias": "x", "force": "yes"}, 400, "force"),
    ("models/churn:1.1.0/alias", {"alias": "x", "bogus": 1}, 400, "bogus"),
    ("models/churn:1.1.0/stage", {"stage": "prod"}, 400, "stage must be one of"),
    ("models/churn/stage", {"stage": "archived"}, 400, "churn"),
    ("models/churn:9.9.9/stage", {"stage": "archived"}, 404, "9.9.9"),
    ("models/nope@champion/alias", {"alias": "x"}, 404, "nope"),
])
async def test_bad_changes_are_refused_and_change_nothing(api, registry, url, body, status, words):
    before = await history(api)
    payload = await expect_error(api(url, method="POST", body=body), status)
    assert words in payload["message"] and "\n" not in payload["message"]
    assert await history(api) == before


async def test_a_change_needs_a_login_and_the_xsrf_token(http_server_client, jp_serverapp, jp_base_url, registry):
    url = f"{jp_base_url}jupyter-mlops/api/models/churn%3A1.0.0/stage"
    body = json.dumps({"stage": "archived"})
    with pytest.raises(HTTPClientError) as anonymous:
        await http_server_client.fetch(url, method="POST", body=body)
    assert anonymous.value.code == 403
    cookies = await _login_cookies(http_server_client, jp_serverapp, jp_base_url)
    without = "; ".join(f"{k}={v}" for k, v in cookies.items() if k != "_xsrf")
    with pytest.raises(HTTPClientError) as no_xsrf:
        await http_server_client.fetch(url, method="POST", body=body, headers={"Cookie": without})
    assert no_xsrf.value.code == 403
    every = "; ".join(f"{k}={v}" for k, v in cookies.items())
    ok = await http_server_client.fetch(url, method="POST", body=body,
                                        headers={"Cookie": every, "X-XSRFToken": cookies["_xsrf"]})
    assert json.loads(ok.body)["event"]["to_value"] == "archived"

"""Authentication, authorization and XSRF on the Experiments REST API (real jupyter_server, real store).

Every endpoint refuses a request without credentials with 403 and a JSON body (never a login redirect); a
browser-style request authenticated by cookie must carry the XSRF token to PATCH; the server's authorizer
is consulted with the ``jupyter_mlops`` resource.
"""

from __future__ import annotations

import json

import pytest
from server_fixtures import Project
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

ENDPOINTS = ["settings", "runs", "runs/{a}", "runs/{a}/metrics/auc", "compare?ids={a},{b}", "diff?a={a}&b={b}",
             "models", "models/churn", "models/churn%3A1.0.0/lineage", "models/churn%40champion/lineage",
             "models/churn/history", "jobs/" + "0" * 32, "runs/{a}/slice?target=model"]




def _url(jp_base_url: str, endpoint: str, project: Project) -> str:
    return f"{jp_base_url}jupyter-mlops/api/" + endpoint.format(a=project.run_a, b=project.run_b, live=project.running)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_unauthenticated_get_is_403(http_server_client, jp_serverapp, jp_base_url, project, endpoint):
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(_url(jp_base_url, endpoint, project), follow_redirects=False)
    assert info.value.code == 403
    assert json.loads(info.value.response.body)["code"] == "FORBIDDEN"


async def test_unauthenticated_patch_is_403(http_server_client, jp_serverapp, jp_base_url, project):
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(_url(jp_base_url, "runs/{a}", project), method="PATCH",
                                       body=json.dumps({"note": "x"}))
    assert info.value.code == 403


async def _login_cookies(http_server_client, jp_serverapp, jp_base_url) -> dict[str, str]:
    # A browser logs in once with the token; afterwards it is authenticated by cookie, not by token.
    response = await http_server_client.fetch(f"{jp_base_url}tree?token={jp_serverapp.identity_provider.token}",
                                              follow_redirects=False, raise_error=False)
    cookies = {}
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return cookies


async def test_cookie_patch_without_xsrf_is_403_and_with_xsrf_works(http_server_client, jp_serverapp, jp_base_url,
                                                                    project):
    cookies = await _login_cookies(http_server_client, jp_serverapp, jp_base_url)
    assert "_xsrf" in cookies and len(cookies) >= 2
    without_xsrf = "; ".join(f"{k}={v}" for k, v in cookies.items() if k != "_xsrf")
    url = _url(jp_base_url, "runs/{a}", project)
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(url, method="PATCH", body=json.dumps({"note": "x"}),
                                       headers={"Cookie": without_xsrf})
    assert info.value.code == 403
    all_cookies = "; ".join(f"{k}={v}" for k, v in cookies.items())
    ok = await http_server_client.fetch(url, method="PATCH", body=json.dumps({"note": "by cookie"}),
                                        headers={"Cookie": all_cookies, "X-XSRFToken": cookies["_xsrf"]})
    assert json.loads(ok.body)["run"]["note"] == "by cookie"


async def test_authorizer_is_consulted(jp_fetch, jp_serverapp, project, monkeypatch):
    seen = []

    def deny(handler, user, action, resource):
        seen.append((action, resource))
        return False

    monkeypatch.setattr(jp_serverapp.authorizer, "is_authorized", deny)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", "api", "runs", project.run_a, method="PATCH", body=json.dumps({"note": "x"}))
    assert info.value.code == 403
    assert seen == [("write", "jupyter_mlops")]


MUTATIONS = [("POST", "runs/{live}/reproduce", "{}", 202), ("DELETE", "jobs/" + "0" * 32, None, 404)]


@pytest.mark.parametrize(("method", "endpoint", "body", "status"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
async def test_reproduce_and_cancel_need_a_login_and_the_xsrf_token(http_server_client, jp_serverapp, jp_base_url,
                                                                     project, method, endpoint, body, status):
    url = _url(jp_base_url, endpoint, project)
    with pytest.raises(HTTPClientError) as anonymous:
        await http_server_client.fetch(url, method=method, body=body)
    assert anonymous.value.code == 403 and json.loads(anonymous.value.response.body)["code"] == "FORBIDDEN"
    cookies = await _login_cookies(http_server_client, jp_serverapp, jp_base_url)
    without_xsrf = "; ".join(f"{k}={v}" for k, v in cookies.items() if k != "_xsrf")
    with pytest.raises(HTTPClientError) as no_xsrf:
        await http_server_client.fetch(url, method=method, body=body, headers={"Cookie": without_xsrf})
    assert no_xsrf.value.code == 403
    all_cookies = "; ".join(f"{k}={v}" for k, v in cookies.items())
    # With the token the request gets through to the handler: 202 queued, or 404 for a job that does not exist.
    answer = await http_server_client.fetch(url, method=method, body=body, raise_error=False,
                                            headers={"Cookie": all_cookies, "X-XSRFToken": cookies["_xsrf"]})
    assert answer.code == status, answer.body

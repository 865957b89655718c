"""The Experiments REST API against a real jupyter_server and a real SQLite store (pytest-jupyter).

Given a project store with two finished runs and a running one, when the sidebar's endpoints are called, then
they answer with the documented shapes, and every malformed, unauthenticated or unknown request gets the right
status with a JSON ``{"code", "message"}`` body.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops import _version
from jupyter_mlops.entities import Metric, SliceMetric
from jupyter_mlops.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


async def expect_error(coro, status: int, code: str | None = None) -> dict:
    with pytest.raises(HTTPClientError) as info:
        await coro
    assert info.value.code == status
    payload = json.loads(info.value.response.body)
    assert payload["message"]
    if code:
        assert payload["code"] == code
    return payload


async def test_settings_reports_version_and_store(api, project):
    reply = await api("settings")
    assert reply["version"] == _version.__version__
    assert reply["store"] == project.store_url


async def test_runs_lists_newest_first_with_total(api, project):
    reply = await api("runs")
    assert [r["name"] for r in reply["runs"]] == ["live", "wider", "base"]
    assert reply["total"] == 3 and reply["offset"] == 0 and reply["limit"] == 50


async def test_runs_filter_sort_and_paging(api, project):
    reply = await api("runs", filter="experiment = 'churn' and params.lr > 0", sort="-params.lr", limit="1")
    assert reply["total"] == 2
    assert [r["id"] for r in reply["runs"]] == [project.run_b]
    second = await api("runs", filter="params.lr > 0", sort="params.lr", limit="1", offset="1")
    assert [r["id"] for r in second["runs"]] == [project.run_b]


async def test_runs_filter_on_running_notebook(api, project):
    reply = await api("runs", filter='status = running and notebook_path = "live.ipynb"')
    assert [r["id"] for r in reply["runs"]] == [project.running]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"filter": "params.lr >>> 3"}, "INVALID_FILTER"),
        ({"limit": "501"}, "INVALID_INPUT"),
        ({"limit": "0"}, "INVALID_INPUT"),
        ({"offset": "-1"}, "INVALID_INPUT"),
        ({"limit": "ten"}, "INVALID_INPUT"),
        ({"sort": "name; drop table runs"}, "INVALID_INPUT"),
    ],
)
async def test_runs_bad_query_is_400(api, params, code):
    await expect_error(api("runs", **params), 400, code)


async def test_bad_filter_reports_position(api):
    payload = await expect_error(api("runs", filter="params.lr >>> 3"), 400, "INVALID_FILTER")
    assert isinstance(payload["position"], int)


async def test_run_detail_has_env_and_code(api, project):
    reply = await api(f"runs/{project.run_a}")
    assert reply["run"]["params"] == {"lr": 0.1, "depth": 4}
    assert reply["run"]["data_inputs"][0]["schema"]["columns"] == [{"name": "a", "dtype": "int64"}]
    assert reply["env"]["python"] == "3.11.7"
    assert [c["source"] for c in reply["code"]["cells"]][0] == "lr = 0.1"


async def test_runs_carry_the_logging_errors_count(api, project):
    with open_store(project.store_url) as store:
        store.patch_run(project.run_a, logging_errors=3)
    reply = await api(f"runs/{project.run_a}")
    assert reply["run"]["logging_errors"] == 3
    listed = {r["id"]: r["logging_errors"] for r in (await api("runs"))["runs"]}
    assert listed[project.run_a] == 3 and sorted(listed.values()) == [0, 0, 3]


async def test_run_detail_by_prefix_and_name(api, project):
    assert (await api(f"runs/{project.run_a[:8]}"))["run"]["id"] == project.run_a
    assert (await api("runs/wider"))["run"]["id"] == project.run_b


async def test_running_run_detail_without_snapshots(api, project):
    reply = await api(f"runs/{project.running}")
    assert reply["run"]["status"] == "running" and reply["env"] is None and reply["code"] is None


async def test_unknown_run_is_404(api):
    await expect_error(api("runs/0123456789abcdef0123456789abcdef"), 404, "NOT_FOUND")
    await expect_error(api("runs/0123456789abcdef0123456789abcdef/metrics/auc"), 404, "NOT_FOUND")


@pytest.mark.parametrize("ref", ["..%2F..%2Fetc%2Fpasswd", "..", ".hidden", "%2Fetc%2Fpasswd", "a%20b", "a%00b"])
async def test_traversal_looking_ids_are_rejected(jp_fetch, ref):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mlops", "api", "runs", ref, method="GET")
    assert info.value.code in (400, 404)
    assert json.loads(info.value.response.body)["code"] in ("INVALID_INPUT", "NOT_FOUND")


async def test_raw_dotdot_path_never_reaches_a_file(http_server_client, jp_base_url, jp_auth_header):
    # A client that does not normalise the path: tornado routes it to the JSON 404, not to any file.
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(f"{jp_base_url}jupyter-mlops/api/runs/../../../etc/passwd",
                                       headers=jp_auth_header)
    assert info.value.code in (400, 404)


async def test_metric_history(api, project):
    reply = await api(f"runs/{project.run_b}/metrics/auc")
    assert reply["key"] == "auc"
    assert [p["step"] for p in reply["points"]] == [0, 1, 2, 3, 4]
    assert reply["points"][-1]["value"] == pytest.approx(0.5 + 0.3 * 4 / 10)


def log_slices(project) -> None:
    """Run b's auc on two slices, over two steps (the label ``device=a,b`` is escaped to ``device=a%2Cb``)."""
    with open_store(project.store_url) as store:
        store.log_batch(project.run_b, sliced=[SliceMetric("auc", label, value, step, 1700000000.0 + step)
                                               for step in (0, 1)
                                               for label, value in (("region=EU", 0.7 + step / 10),
                                                                    ("device=a%2Cb,region=US", 0.6))])


async def test_metric_history_of_a_slice(api, project):
    log_slices(project)
    reply = await api(f"runs/{project.run_b}/metrics/auc", slice="region=EU")
    assert reply["key"] == "auc" and reply["slice"] == "region=EU" and reply["dims"] == {"region": "EU"}
    assert [(p["step"], p["value"]) for p in reply["points"]] == [(0, 0.7), (1, pytest.approx(0.8))]
    escaped = await api(f"runs/{project.run_b}/metrics/auc", slice="device=a%2Cb,region=US")
    assert escaped["dims"] == {"device": "a,b", "region": "US"} and len(escaped["points"]) == 2
    overall = await api(f"runs/{project.run_b}/metrics/auc")  # without ?slice: the unsliced series, unchanged
    assert "slice" not in overall and [p["step"] for p in overall["points"]] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("label", "status", "code"), [
    ("region=APAC", 404, "NOT_FOUND"),  # a well-formed slice the run never logged
    ("", 400, "INVALID_INPUT"),
    ("region", 400, "INVALID_INPUT"),  # not name=value
    ("region=US,device=a%2Cb", 400, "INVALID_INPUT"),  # not canonical: pairs must be sorted by name
    ("region=" + "x" * 2000, 400, "INVALID_INPUT"),
])
async def test_metric_history_of_a_bad_or_unknown_slice(api, project, label, status, code):
    log_slices(project)
    payload = await expect_error(api(f"runs/{project.run_b}/metrics/auc", slice=label), status, code)
    assert "\n" not in payload["message"] and len(payload["message"]) < 200


async def test_metric_history_of_a_slice_of_an_unsliced_metric_is_404(api, project):
    await expect_error(api(f"runs/{project.run_a}/metrics/auc", slice="region=EU"), 404, "NOT_FOUND")
    await expect_error(api("runs/ffffffffffff/metrics/auc", slice="region=EU"), 404, "NOT_FOUND")


async def test_unknown_endpoint_is_json_404(api):
    await expect_error(api("nothing-here"), 404, "NOT_FOUND")


async def test_patch_note_tags_and_name_persist(api, project):
    reply = await api(f"runs/{project.run_a}", "PATCH", {"note": "looks good", "tags": ["lgbm", "best"],
                                                         "name": "base-v2"})
    assert reply["run"]["note"] == "looks good"
    assert sorted(reply["run"]["tags"]) == ["best", "lgbm"]
    with open_store(project.store_url, create=False) as store:
        run = store.get_run(project.run_a)
    assert (run.note, run.name, sorted(run.tags)) == ("looks good", "base-v2", ["best", "lgbm"])


async def test_patch_removes_tags(api, project):
    reply = await api(f"runs/{project.run_a}", "PATCH", {"tags": []})
    assert reply["run"]["tags"] == []


@pytest.mark.parametrize(
    "body",
    ['{"note": ', "[1, 2]", {"colour": "red"}, {"tags": "a,b"}, {"tags": [1]}, {"note": 3}, {"name": "  "}, {}],
)
async def test_patch_bad_body_is_400(api, project, body):
    await expect_error(api(f"runs/{project.run_a}", "PATCH", body), 400, "INVALID_INPUT")


async def test_patch_unknown_run_is_404(api):
    await expect_error(api("runs/ffffffffffffffffffffffffffffffff", "PATCH", {"note": "x"}), 404, "NOT_FOUND")


async def test_diff_between_two_runs(api, project):
    reply = await api("diff", a=project.run_a, b=project.run_b)
    assert (reply["a"], reply["b"]) == (f"run:{project.run_a}", f"run:{project.run_b}")
    assert [(c["change"], c["a_index"], c["b_index"]) for c in reply["changes"]] == [("changed", 0, 0),
                                                                                   ("changed", 1, 1)]
    assert any("+model = fit(lr, depth=4)" in c["source_diff"] for c in reply["changes"])
    assert reply["summary"]["parameters"] == [{"name": "lr", "change": "changed", "old": 0.1, "new": 0.3}]


async def test_compare_code_section_lists_the_diffs_cell_changes(api, project):
    # One engine (ADR-042): the compare's code section and GET diff agree on the same two runs.
    diff = await api("diff", a=project.run_a, b=project.run_b)
    compare = await api("compare", ids=f"{project.run_a},{project.run_b}")
    assert compare["code"] == [{"run": project.run_b, "cells": diff["changes"], "modules": []}]


@pytest.mark.parametrize("ref", ["ffffffffffffffffffffffffffffffff", "train.ipynb"])
async def test_diff_unknown_run_is_404_and_never_reads_a_file(api, project, ref):
    (project.root / "train.ipynb").write_text("{}")  # a file by that name is not a run
    await expect_error(api("diff", a=project.run_a, b=ref), 404, "NOT_FOUND")


@pytest.mark.parametrize("params", [{"a": "x"}, {"a": "../x", "b": "y"}, {}, {"a": "/etc/passwd", "b": "y"},
                                    {"a": "x\u0000y", "b": "y"}, {"a": "x" * 300, "b": "y"}])
async def test_diff_bad_request_is_400(api, params):
    await expect_error(api("diff", **params), 400, "INVALID_INPUT")


@pytest.mark.parametrize("ids", ["", "onlyone", "a,a", "../etc,b"])
async def test_compare_bad_ids_is_400(api, ids):
    await expect_error(api("compare", ids=ids), 400, "INVALID_INPUT")


async def test_compare_unknown_id_is_404(api, project):
    await expect_error(api("compare", ids=f"{project.run_a},ffffffffffffffffffffffffffffffff"), 404, "NOT_FOUND")


async def test_base_url_is_honoured(jp_fetch, jp_base_url):
    # pytest-jupyter serves under a quoted base URL; the API must live below it, not at the root.
    assert quote("@") in jp_base_url
    response = await jp_fetch("jupyter-mlops", "api", "settings")
    assert response.code == 200


async def test_compare_two_runs_with_charts(api, project):
    reply = await api("compare", ids=f"{project.run_a},{project.run_b}")
    assert reply["baseline"] == project.run_a
    assert [r["id"] for r in reply["runs"]] == [project.run_a, project.run_b]
    assert [p["key"] for p in reply["params"] if p["differs"]] == ["lr"]
    assert reply["metrics"][0]["key"] == "auc" and reply["metrics"][0]["best"] == 1
    assert reply["data"][0]["changes"][0]["columns_added"] == ["b"]
    assert reply["code"][0]["run"] == project.run_b and reply["code"][0]["cells"]
    chart = reply["charts"]["auc"]
    assert chart["$schema"].endswith("vega-lite/v5.json")
    assert {row["run"] for row in chart["data"]["values"]} == {"base", "wider"}
    # One differing param: a scatter of it against the metric, not a two-axis parallel-coordinates box.
    params_chart = reply["params_charts"]["auc"]
    assert params_chart["mark"]["type"] == "point"
    assert params_chart["encoding"]["x"]["title"] == "lr"
    assert len(params_chart["data"]["values"]) == 2


async def test_compare_by_names(api, project):
    reply = await api("compare", ids="wider,base")
    assert reply["baseline"] == project.run_b


async def test_compare_charts_are_downsampled_but_metric_endpoint_is_not(api, project):
    with open_store(project.store_url) as store:
        for run_id in (project.run_a, project.run_b):
            store.log_batch(run_id, metrics=[Metric("loss", (s % 17) / 17, s) for s in range(2500)])
    reply = await api("compare", ids=f"{project.run_a},{project.run_b}")
    rows = reply["charts"]["loss"]["data"]["values"]
    # Min/max per bucket at the default budget of 1,000 points (ADR-106), and the reply says so.
    assert all(0 < len(r["step"]) <= reply["max_points"] == 1000 for r in rows)
    assert rows[0]["step"][0] == 0 and rows[0]["step"][-1] == 2499
    assert reply["downsampled"]["loss"][project.run_a] == {"points": 2500, "shown": len(rows[0]["step"])}
    exact = await api("compare", ids=f"{project.run_a},{project.run_b}", points="5000")
    assert [len(r["step"]) for r in exact["charts"]["loss"]["data"]["values"]] == [2500, 2500]
    assert exact["downsampled"] == {}
    full = await api(f"runs/{project.run_a}/metrics/loss")
    assert len(full["points"]) == 2500

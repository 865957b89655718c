"""``GET runs/{id}/slice`` on a real jupyter_server: the cells that produced a metric, and the one error mapping.

The run's code snapshot (tests/sliceable_run.py) holds a dead end, an edited and re-executed cell, a
list mutated in a later cell and an ``exec`` of built code; the reply lists exactly the producing cells as they
ran, says why the ``exec`` cell is kept, and carries the emitted notebook. Unknown runs and metrics are 404s,
malformed or hostile queries 400s, and nothing is written to the project folder.
"""

from __future__ import annotations

import pytest
from sliceable_run import TOTAL_SLICE, add_sliceable_run
from test_server_api import expect_error

pytest_plugins = ["pytest_jupyter.jupyter_server"]


async def test_a_metrics_slice_lists_the_producing_cells_as_they_ran(api, project):
    run_id = add_sliceable_run(project.root)
    before = sorted(p.name for p in project.root.iterdir())
    reply = await api(f"runs/{run_id[:8]}/slice", metric="total")
    assert [(c["execution_count"], c["source"]) for c in reply["cells"]] == TOTAL_SLICE
    assert (reply["run"], reply["run_name"], reply["kind"], reply["target"], reply["recorded"]) == (
        run_id, "sliced", "metric", "total", 30.0)
    assert reply["executed_cells"] == 9 and reply["cells"][-1]["why"] == ["logs total"]
    assert reply["unsure"] == [{"position": 7, "execution_count": 8, "reason": "`exec` of code built at run time"}]
    code = [cell["source"] for cell in reply["notebook"]["cells"] if cell["cell_type"] == "code"]
    assert code == [cell["code"] for cell in reply["emitted"]]
    assert code[0] == "factor = 3" and "plot" not in "\n".join(code) and "values = [1, 2]\n" not in "\n".join(code)
    assert reply["notebook"]["cells"][0]["source"] == reply["title"]
    assert sorted(p.name for p in project.root.iterdir()) == before


async def test_a_variables_slice_by_target(api, project):
    run_id = add_sliceable_run(project.root)
    reply = await api(f"runs/{run_id}/slice", target="values")
    assert reply["kind"] == "variable" and reply["recorded"] is None
    # the parameters cell is always kept; the exec cell ran after the last binding and may have changed `values`
    assert [c["execution_count"] for c in reply["cells"]] == [1, 6, 7, 8]


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"metric": "nope"}, 404, "NOT_FOUND"),
    ({"metric": "values"}, 404, "NOT_FOUND"),
    ({"target": ""}, 400, "INVALID_INPUT"),
    ({}, 400, "INVALID_INPUT"),
    ({"metric": "total", "target": "total"}, 400, "INVALID_INPUT"),
    ({"metric": "bad\x00key"}, 404, "NOT_FOUND"),  # tornado turns control characters into spaces
    ({"metric": "x" * 300}, 400, "INVALID_INPUT"),
    ({"target": "\u202e\x1b[2J"}, 400, "INVALID_INPUT"),
    ({"target": "a.b"}, 400, "INVALID_INPUT"),
])
async def test_bad_queries_are_one_clear_error(api, project, params, status, code):
    run_id = add_sliceable_run(project.root)
    payload = await expect_error(api(f"runs/{run_id}/slice", **params), status, code)
    assert "\n" not in payload["message"]


async def test_unknown_runs_and_runs_without_cells(api, project):
    await expect_error(api("runs/ffffffffffff/slice", metric="total"), 404, "NOT_FOUND")
    await expect_error(api("runs/.hidden/slice", metric="total"), 400, "INVALID_INPUT")
    # the live run has no code snapshot; run a's cells never logged auc
    payload = await expect_error(api(f"runs/{project.running}/slice", target="x"), 400, "INVALID_INPUT")
    assert "no executed notebook cells" in payload["message"]
    await expect_error(api(f"runs/{project.run_a}/slice", metric="auc"), 400, "INVALID_INPUT")
    payload = await expect_error(api(f"runs/{project.run_a}/slice", target="nope"), 400, "INVALID_INPUT")
    assert "no executed cell bound the name 'nope'" in payload["message"]

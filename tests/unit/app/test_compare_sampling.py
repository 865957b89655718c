"""Compare charts downsampled on the server: the budget, the reply's ``downsampled`` map, the cache (ADR-106/108)."""

from __future__ import annotations

import orjson
import pytest

from jupyter_mlops.app import compare
from jupyter_mlops.app.chart_series import chart_series
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.entities import Metric
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.server import schemas
from jupyter_mlops.server.handlers import encode


def _runs(store, lengths):
    ids = []
    for n, length in enumerate(lengths):
        run = store.create_run(name=f"r{n}")
        store.log_params(run.id, {"lr": 0.1 * (n + 1)})
        points = [Metric("loss", 1.0 / (step + 1) + (3.0 if step == length // 2 else 0.0), step, float(step))
                  for step in range(length)]
        store.log_batch(run.id, metrics=[*points, Metric("auc", 0.8 + n / 100, 0, 0.0)])
        ids.append(run.id)
    return ids


def _reply(workspace, ids, **kwargs):
    answer = compare.compare(workspace, ids, **kwargs)
    return orjson.loads(encode(schemas.compare_json(answer.comparison.to_dict(), answer.history_charts,
                                                    answer.params_charts, answer.sampling_json())))


def test_long_histories_are_downsampled_and_the_reply_says_so(store):
    long_id, short_id = _runs(store, [5_000, 150])
    workspace = Workspace.wrapping(store, None)
    reply = _reply(workspace, [long_id, short_id], max_points=200)
    assert reply["max_points"] == 200
    assert list(reply["downsampled"]) == ["loss"] and list(reply["downsampled"]["loss"]) == [long_id]
    shown = reply["downsampled"]["loss"][long_id]["shown"]
    assert reply["downsampled"]["loss"][long_id]["points"] == 5_000
    rows = {row["run"]: row for row in reply["charts"]["loss"]["data"]["values"]}
    long_row, short_row = rows["r0"], rows["r1"]
    assert len(long_row["step"]) == shown <= 200
    assert long_row["step"][0] == 0 and long_row["step"][-1] == 4_999 and max(long_row["value"]) > 3.0
    assert short_row["step"] == list(range(150))  # within budget: exact
    assert "auc" not in reply["charts"]  # logged once per run: no history chart
    # The exact history stays one call away.
    assert len(store.metric_history(long_id, "loss")) == 5_000


def test_default_budget_leaves_short_histories_exact(store):
    ids = _runs(store, [50, 60])
    reply = _reply(Workspace.wrapping(store, None), ids)
    assert reply["max_points"] == 1000 and reply["downsampled"] == {}


def test_the_cache_serves_an_unchanged_history_and_rereads_one_that_grew(store):
    (run_id,) = _runs(store, [2_000])
    first = chart_series(store, [(run_id, "loss")], 100)[(run_id, "loss")]
    again = chart_series(store, [(run_id, "loss")], 100)[(run_id, "loss")]
    assert again == first and first.total == 2_000
    store.log_batch(run_id, metrics=[Metric("loss", -7.0, 2_000, 2_000.0)])
    grown = chart_series(store, [(run_id, "loss")], 100)[(run_id, "loss")]
    assert grown.total == 2_001 and grown.steps[-1] == 2_000 and min(grown.values) == -7.0


def test_points_out_of_range_is_a_clear_error(store):
    ids = _runs(store, [10, 10])
    with pytest.raises(InvalidInput, match="points must be between 4 and 100000"):
        compare.compare(Workspace.wrapping(store, None), ids, max_points=3)
    with pytest.raises(InvalidInput, match="points"):
        schemas.parse_points("0")
    assert schemas.parse_points(None) == 1000 and schemas.parse_points("250") == 250

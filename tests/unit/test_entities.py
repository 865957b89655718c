"""The bottom layer: entity wire shapes and the error → HTTP table."""

from __future__ import annotations

import json

from jupyter_mlops import errors
from jupyter_mlops.entities import DataInput, Run, RunStatus


def test_data_input_round_trips_through_the_wire_shape():
    original = DataInput("train", "xxh3_128:ab", "file", "data/train.csv", 10, {"columns": [], "rows": 3}, "input")
    assert DataInput.from_dict(json.loads(json.dumps(original.to_dict()))) == original
    assert DataInput.from_dict({"name": "x", "hash": "h"}) == DataInput("x", "h")


def test_run_to_dict_is_plain_json_with_duration_from_heartbeat_while_running():
    run = Run("id1", "r", "e", RunStatus.RUNNING, 100.0, heartbeat=130.0, tags=("a",), params={"lr": [1, 2]},
              data_inputs=(DataInput("d", "h"),))
    wire = json.loads(json.dumps(run.to_dict()))
    assert wire["status"] == "running" and wire["duration"] == 30.0 and wire["tags"] == ["a"]
    assert wire["data_inputs"][0]["name"] == "d" and wire["params"] == {"lr": [1, 2]}
    assert Run("id2", "r", "e", RunStatus.FINISHED, 100.0).duration is None


def test_every_error_code_has_an_http_status_and_bad_input_exits_2():
    assert errors.http_status(errors.NotFound("x")) == 404
    assert errors.http_status(errors.FilterSyntaxError("bad", "a = ", 4)) == 400
    assert errors.FilterSyntaxError("bad", "a = ", 4).to_dict()["position"] == 4
    assert errors.InvalidInput("x").exit_code == errors.NotebookError("x").exit_code == 2
    assert errors.NotFound("x").exit_code == 1

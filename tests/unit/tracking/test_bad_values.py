"""Values the store cannot hold are refused (or made storable) at the call, with one line, harming nothing else."""

from __future__ import annotations

import dataclasses

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.tracking.view import RunView


def _one_line(info: pytest.ExceptionInfo[InvalidInput]) -> str:
    message = info.value.message
    assert "\n" not in message and len(message) < 200
    return message


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: mlops.log_metric("x", 1.0, step=2**63), "64-bit range"),
        (lambda: mlops.log_metric("x", 1.0, step=-(2**63) - 1), "64-bit range"),
        (lambda: mlops.log_metric("m", 10**400), "too large"),
        (lambda: mlops.log_metric("m", 10**5000), "too large"),
        (lambda: mlops.log_metrics({"ok": 1.0, "big": 10**400}), "too large"),
        (lambda: mlops.log_metric("x", "abc"), "must be a number"),
        (lambda: mlops.log_metric("", 1.0), "non-empty"),
        (lambda: mlops.log_param("deep", _nested(1000)), "nested more than"),
        (lambda: mlops.log_params({"ok": 1, "bigint": 2**5000}), "bits"),
        (lambda: mlops.log_param("wide", list(range(100_001))), "items"),
    ],
)
def test_a_bad_value_fails_its_call_only(project, call, expected):
    with mlops.start_run("bad") as run:
        for step in range(1000):
            run.log_metric("loss", float(step))
        run.log_param("lr", 0.1)
        with pytest.raises(InvalidInput) as info:
            call()
        assert expected in _one_line(info)
        run.log_metric("after", 1.0)
    view = mlops.get_run(run.id)
    assert len(view.metric_history("loss")) == 1000
    assert view.params == {"lr": 0.1}
    assert set(view.metrics) == {"loss", "after"}  # log_metrics is all or nothing
    assert view.status == "finished" and view.logging_errors == 0


def test_a_list_that_contains_itself_is_refused_in_one_line(project):
    circular: list[object] = [1]
    circular.append(circular)
    looped: dict[str, object] = {}
    looped["self"] = looped
    with mlops.start_run("loop") as run:
        for value in (circular, looped):
            with pytest.raises(InvalidInput) as info:
                run.log_param("cfg", value)
            assert "contains itself" in _one_line(info)
        run.log_param("fine", [1, [2, [3]]])
    assert mlops.get_run(run.id).params == {"fine": [1, [2, [3]]]}


def test_lone_surrogates_are_escaped_not_lost(project):
    with mlops.start_run("text") as run:
        run.log_param("data", "caf\udce9.csv")  # what Python makes of a Latin-1 file name in sys.argv
        run.log_param("odd\ud800", {"k\udce9": ["v\udfff"]})
        for step in range(3):
            run.log_metric("acc\udce9", 0.5, step=step)
    view = mlops.get_run(run.id)
    assert view.params == {"data": "caf\\xe9.csv", "odd\\ud800": {"k\\xe9": ["v\\udfff"]}}
    assert [m.step for m in view.metric_history("acc\\xe9")] == [0, 1, 2]
    assert view.logging_errors == 0


def test_extreme_but_valid_values_are_stored(project):
    with mlops.start_run("edges") as run:
        run.log_metric("x", float("inf"), step=2**63 - 1)
        run.log_metric("y", float("nan"), step=-(2**63))
        run.log_param("big", 10**400)  # JSON keeps it exactly; it is no float, so it has no numeric column
    view = mlops.get_run(run.id)
    assert [m.step for m in view.metric_history("x")] == [2**63 - 1]
    assert view.params["big"] == 10**400


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_lost_or_damaged_snapshot_leaves_that_view_empty(stores):
    """``get_run(...).code``/``.env`` read snapshots as every face does: a gone or broken blob is None, not a crash."""
    store, blobs, _ = stores
    with mlops.start_run("snapshots") as run:
        run.log_metric("m", 1.0)
    digest = blobs.put_json({"python": "3.11"})
    view = RunView(dataclasses.replace(store.get_run(run.id), env_hash=digest), store, blobs)
    assert view.env == {"python": "3.11"}
    blobs.path_of(digest).write_bytes(b"\xff not json")
    assert view.env is None
    blobs.path_of(digest).unlink()
    assert view.env is None
    assert RunView(dataclasses.replace(view.run, env_hash=blobs.put_json([1, 2])), store, blobs).env is None

"""Run lifecycle primitives: create/get/update/delete, tags, heartbeat and the derived crashed status."""

from __future__ import annotations

import pytest

from jupyter_mlops.entities import RunStatus
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound


def test_create_run_defaults_and_generated_name(make_store, clock):
    store = make_store(clock=clock)
    run = store.create_run(start_time=clock.now - 5)
    assert len(run.id) == 32 and int(run.id, 16) >= 0
    assert run.name and run.experiment == "default"
    assert run.status is RunStatus.RUNNING
    assert run.start_time == run.heartbeat == clock.now - 5 and run.end_time is None
    assert run.tags == () and run.params == {} and run.metrics == {} and run.flags == {}


def test_create_run_records_everything_given(store):
    run = store.create_run(name="lgbm", experiment="churn", tags=["b", "a", "a"], note="first",
                           notebook_path="nb/train.ipynb", reproduction_of=None, run_id="f" * 32)
    got = store.get_run("f" * 32)
    assert got == run
    assert (got.name, got.experiment, got.tags, got.note, got.notebook_path) == (
        "lgbm", "churn", ("a", "b"), "first", "nb/train.ipynb")


def test_duplicate_run_id_is_a_conflict(store):
    store.create_run(run_id="c" * 32)
    with pytest.raises(Conflict):
        store.create_run(run_id="c" * 32)


def test_get_unknown_run_is_not_found(store):
    with pytest.raises(NotFound, match="no run with id"):
        store.get_run("0" * 32)


def test_experiments_are_created_once_and_listed_by_name(store):
    first = store.get_or_create_experiment("zeta")
    again = store.get_or_create_experiment("zeta")
    store.create_run(experiment="alpha")
    assert first == again
    assert [e.name for e in store.list_experiments()] == ["alpha", "zeta"]
    with pytest.raises(InvalidInput):
        store.get_or_create_experiment("  ")


def test_flag_cells_are_kept_beside_the_flags(store):
    run = store.create_run(name="x")
    store.update_run(run.id, flags={"out_of_order": True, "cells": {"out_of_order": [4, 2, 5]}})
    updated = store.update_run(run.id, flags={"cells_rerun": True, "cells": {"cells_rerun": [2]}})
    assert updated.flags == {"out_of_order": True, "cells_rerun": True}  # only flags, never the cell lists
    assert updated.flag_cells == {"out_of_order": [4, 2, 5], "cells_rerun": [2]}
    assert store.get_run(run.id).to_dict()["flag_cells"] == {"out_of_order": [4, 2, 5], "cells_rerun": [2]}
    with pytest.raises(InvalidInput):
        store.update_run(run.id, flags={"cells": {"out_of_order": ["four"]}})


def test_update_run_sets_fields_and_merges_flags(store):
    run = store.create_run(name="x")
    store.update_run(run.id, flags={"out_of_order": True}, git_commit="abc123", git_dirty=True)
    updated = store.update_run(run.id, flags={"kernel_restarted": False}, note="hello", name="y",
                               code_hash="xxh3_128:00", env_hash="xxh3_128:11", notebook_hash="xxh3_128:22")
    assert updated.flags == {"out_of_order": True, "kernel_restarted": False}
    assert (updated.git_commit, updated.git_dirty, updated.note, updated.name) == ("abc123", True, "hello", "y")
    assert (updated.code_hash, updated.env_hash, updated.notebook_hash) == ("xxh3_128:00", "xxh3_128:11",
                                                                           "xxh3_128:22")


def test_update_run_rejects_unknown_fields_and_bad_values(store):
    run = store.create_run()
    with pytest.raises(InvalidInput, match="cannot update run field"):
        store.update_run(run.id, colour="red")
    with pytest.raises(InvalidInput, match="unknown run status"):
        store.update_run(run.id, status="exploded")
    with pytest.raises(InvalidInput):
        store.update_run(run.id, name="")
    with pytest.raises(NotFound):
        store.update_run("0" * 32, note="x")


def test_end_run_finishes_and_duration(store):
    run = store.create_run(start_time=10.0)
    ended = store.end_run(run.id, RunStatus.FAILED, end_time=25.0)
    assert ended.status is RunStatus.FAILED and ended.end_time == 25.0 and ended.duration == 15.0


def test_delete_run_removes_everything(store):
    keep = store.create_run(name="keep")
    gone = store.create_run(name="gone", tags=["t"])
    for run in (keep, gone):
        store.log_params(run.id, {"lr": 0.1})
        store.log_metric(run.id, "auc", 0.5)
    store.delete_run(gone.id)
    with pytest.raises(NotFound):
        store.get_run(gone.id)
    with pytest.raises(NotFound):
        store.delete_run(gone.id)
    assert store.search_runs().total == 1
    assert store.get_run(keep.id).metrics == {"auc": 0.5}


def test_tags_add_remove_and_validate(store):
    run = store.create_run(tags=["a"])
    assert store.set_tags(run.id, add=["c", "b", "c"], remove=["a"]) == ("b", "c")
    store.set_tag(run.id, "b")
    assert store.get_run(run.id).tags == ("b", "c")
    with pytest.raises(InvalidInput):
        store.set_tags(run.id, add=[" "])
    with pytest.raises(NotFound):
        store.set_tags("0" * 32, add=["x"])


def test_crashed_is_derived_from_a_stale_heartbeat(make_store, clock):
    store = make_store(clock=clock, stale_after=30.0)
    alive = store.create_run(name="alive")
    dead = store.create_run(name="dead")
    done = store.create_run(name="done")
    store.end_run(done.id, end_time=clock.now)
    clock.advance(20)
    store.heartbeat(alive.id)
    clock.advance(20)  # dead's heartbeat is now 40 s old, alive's 20 s
    assert store.get_run(alive.id).status is RunStatus.RUNNING
    assert store.get_run(dead.id).status is RunStatus.CRASHED
    assert store.get_run(done.id).status is RunStatus.FINISHED
    assert [r.name for r in store.search_runs("status = crashed").items] == ["dead"]
    assert [r.name for r in store.search_runs("status = running").items] == ["alive"]
    assert {r.name for r in store.search_runs("status != crashed").items} == {"alive", "done"}


def test_heartbeat_leaves_ended_runs_alone_and_checks_the_id(make_store, clock):
    store = make_store(clock=clock)
    run = store.create_run()
    store.end_run(run.id, end_time=clock.now)
    store.heartbeat(run.id, at=clock.now + 100)
    assert store.get_run(run.id).heartbeat == clock.now
    with pytest.raises(NotFound):
        store.heartbeat("0" * 32)


def test_resolve_run_by_id_prefix_and_name(store):
    a = store.create_run(name="alpha", run_id="abcd" + "0" * 28)
    b = store.create_run(name="beta", run_id="abce" + "0" * 28)
    store.create_run(name="twin")
    store.create_run(name="twin")
    assert store.resolve_run(a.id) == a.id
    assert store.resolve_run("abcd") == a.id
    assert store.resolve_run("beta") == b.id
    with pytest.raises(Conflict, match="ambiguous"):
        store.resolve_run("twin")
    with pytest.raises(NotFound):
        store.resolve_run("nothing-like-it")
    with pytest.raises(InvalidInput):
        store.resolve_run("")


def test_short_prefix_is_not_used(store):
    run = store.create_run(run_id="abcd" + "0" * 28)
    with pytest.raises(NotFound):
        store.resolve_run("abc")
    assert store.resolve_run("ABCD") == run.id

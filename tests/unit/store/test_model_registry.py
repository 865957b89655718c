"""Model versions in the store, on SQLite and PostgreSQL: numbering, immutability, aliases and their history."""

from __future__ import annotations

import pytest

from jupyter_mlops.entities import DataInput, ModelLineage
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound


def lineage(run_id: str | None, data: str = "d1", schema: str = "s1") -> ModelLineage:
    return ModelLineage(run_id=run_id, data=(DataInput("train.csv", "xxh3_128:" + "ab" * 16),),
                        params={"lr": 0.1}, metrics={"auc": 0.9}, data_fingerprint=data, schema_fingerprint=schema)


def register(store, run_id, name="churn", version=None, parents=(), **fingerprints):
    return store.create_model_version(name, artifact_hash="xxh3_128:" + "cd" * 16, format="pickle",
                                      flavor="python", size=10, lineage=lineage(run_id, **fingerprints),
                                      parents=parents, version=version, created_by="ana")


def test_versions_follow_the_rule_for_each_kind_of_change(store):
    run = store.create_run(name="r")
    assert register(store, run.id).version == "1.0.0"  # first version
    assert register(store, run.id).version == "1.0.1"  # same data and schema: code or params changed
    assert register(store, run.id).version == "1.0.2"
    assert register(store, run.id, data="d2").version == "1.1.0"  # data changed, schema did not
    assert register(store, run.id, data="d2").version == "1.1.1"
    assert register(store, run.id, data="d3", schema="s2").version == "2.0.0"  # schema or signature changed
    assert register(store, run.id, name="other").version == "1.0.0"  # numbering is per model
    assert [v.version for v in store.model_versions("churn")] == ["2.0.0", "1.1.1", "1.1.0", "1.0.2", "1.0.1",
                                                                  "1.0.0"]


def test_latest_is_the_highest_version_not_the_last_registered(store):
    run = store.create_run(name="r")
    register(store, run.id, version="3.0.0")
    register(store, run.id, version="1.5.0")
    assert store.resolve_model("churn:latest").version == "3.0.0"
    # Automatic numbering continues from the highest version too.
    assert register(store, run.id).version == "3.0.1"


def test_an_explicit_version_is_allowed_once_and_never_overwritten(store):
    run = store.create_run(name="r")
    first = register(store, run.id, version="1.2.0")
    with pytest.raises(Conflict) as info:
        store.create_model_version("churn", artifact_hash="xxh3_128:" + "ef" * 16, format="pickle",
                                   flavor="python", size=99, lineage=lineage(run.id), version="1.2.0")
    assert "already has version 1.2.0" in info.value.message and "\n" not in info.value.message
    again = store.get_model_version("churn", "1.2.0")
    assert again == first and again.artifact_hash == "xxh3_128:" + "cd" * 16 and again.size == 10
    assert len(store.model_versions("churn")) == 1


@pytest.mark.parametrize("bad", ["1.2", "x.y.z", "01.0.0", "1.0.0.0", "-1.0.0", ""])
def test_a_malformed_version_is_refused_in_one_line(store, bad):
    run = store.create_run(name="r")
    with pytest.raises(InvalidInput) as info:
        register(store, run.id, version=bad)
    assert "MAJOR.MINOR.PIPELINE" in info.value.message and "\n" not in info.value.message
    assert store.model_versions() == []


def test_a_version_records_its_lineage_and_changes_only_its_stage(store):
    run = store.create_run(name="r")
    first = register(store, run.id)
    assert first.lineage == lineage(run.id) and first.created_by == "ana" and first.run_id == run.id
    store.set_model_stage("churn", "1.0.0", "production", who="bo")
    after = store.get_model_version("churn", "1.0.0")
    assert after.stage == "production"
    assert (after.artifact_hash, after.lineage, after.created, after.size) == (
        first.artifact_hash, first.lineage, first.created, first.size)


def test_alias_and_stage_changes_are_appended_with_who_when_from_to_and_note(store, make_store, clock):
    timed = make_store(clock=clock)
    run = timed.create_run(name="r")
    register(timed, run.id)
    register(timed, run.id, data="d2")
    timed.set_model_alias("churn", "champion", "1.0.0", who="ana", note="first")
    clock.advance(60)
    timed.set_model_alias("churn", "champion", "1.1.0", who="bo", note="better auc")
    clock.advance(60)
    timed.set_model_stage("churn", "1.1.0", "staging", who="bo")
    timed.set_model_stage("churn", "1.1.0", "production", who="cy", note="go", forced=True)
    history = timed.model_history("churn")
    assert [(e.change, e.label, e.version, e.from_value, e.to_value, e.who, e.note, e.forced) for e in history] == [
        ("alias", "champion", "1.0.0", None, "1.0.0", "ana", "first", False),
        ("alias", "champion", "1.1.0", "1.0.0", "1.1.0", "bo", "better auc", False),
        ("stage", "stage", "1.1.0", "none", "staging", "bo", "", False),
        ("stage", "stage", "1.1.0", "staging", "production", "cy", "go", True),
    ]
    assert [e.at - history[0].at for e in history] == [0, 60, 120, 120]
    assert timed.resolve_model("churn@champion").version == "1.1.0"
    assert timed.get_model_version("churn", "1.1.0").aliases == ("champion",)
    assert timed.get_model_version("churn", "1.0.0").aliases == ()
    # Append-only: later changes never rewrite earlier rows.
    timed.set_model_alias("churn", "champion", "1.0.0", who="dee", note="rollback")
    assert timed.model_history("churn")[:4] == history and len(timed.model_history("churn")) == 5


def test_references_resolve_and_unknown_ones_fail_in_one_line(store):
    run = store.create_run(name="r")
    register(store, run.id)
    register(store, run.id, data="d2")
    store.set_model_alias("churn", "champion", "1.0.0", who="ana")
    assert store.resolve_model("churn:1.1.0").version == "1.1.0"
    assert store.resolve_model("churn:latest").version == "1.1.0"
    assert store.resolve_model("churn@champion").version == "1.0.0"
    for ref, expected in [("nope:latest", "no model named 'nope'"), ("churn:9.0.0", "has no version 9.0.0"),
                          ("churn@gold", "has no alias 'gold' (aliases: champion)"),
                          ("nope@champion", "no model named 'nope'")]:
        with pytest.raises(NotFound) as info:
            store.resolve_model(ref)
        assert expected in info.value.message and "\n" not in info.value.message
    for ref in ("churn:x.y", "churn", "churn@", ":1.0.0", "a b:1.0.0", "churn@latest"):
        with pytest.raises(InvalidInput):
            store.resolve_model(ref)


def test_aliases_and_stages_need_an_existing_version_and_a_known_stage(store):
    run = store.create_run(name="r")
    register(store, run.id)
    with pytest.raises(NotFound):
        store.set_model_alias("churn", "champion", "2.0.0", who="ana")
    with pytest.raises(InvalidInput):
        store.set_model_stage("churn", "1.0.0", "prod", who="ana")
    with pytest.raises(NotFound):
        store.model_history("nope")
    assert store.model_history("churn") == []


def test_parents_must_be_registered_versions(store):
    run = store.create_run(name="r")
    register(store, run.id, name="features")
    child = register(store, run.id, parents=["features:1.0.0"])
    assert child.parents == ("features:1.0.0",)
    with pytest.raises(NotFound):
        register(store, run.id, name="other", parents=["features:2.0.0"])
    with pytest.raises(InvalidInput):
        register(store, run.id, name="other", parents=["features@champion"])
    assert [v.name for v in store.model_versions()] == ["churn", "features"]


def test_deleting_the_run_keeps_its_model_versions_and_their_recorded_lineage(store):
    run = store.create_run(name="r")
    register(store, run.id)
    store.delete_run(run.id)
    kept = store.get_model_version("churn", "1.0.0")
    assert kept.run_id is None and kept.lineage.run_id == run.id


def test_an_unknown_run_is_refused(store):
    with pytest.raises(NotFound):
        register(store, "f" * 32)
    assert store.model_versions() == []


def test_removing_an_alias_appends_a_row_and_frees_the_name(store, make_store, clock):
    timed = make_store(clock=clock)
    run = timed.create_run(name="r")
    register(timed, run.id)
    timed.set_model_alias("churn", "champion", "1.0.0", who="ana")
    clock.advance(60)
    event = timed.remove_model_alias("churn", "champion", who="bo", note="retired")
    assert (event.change, event.label, event.version, event.from_value, event.to_value) == (
        "alias", "champion", "1.0.0", "1.0.0", None)
    history = timed.model_history("churn")
    assert [(e.label, e.from_value, e.to_value, e.who, e.note) for e in history] == [
        ("champion", None, "1.0.0", "ana", ""), ("champion", "1.0.0", None, "bo", "retired")]
    assert history[1].at - history[0].at == 60
    assert timed.get_model_version("churn", "1.0.0").aliases == ()
    with pytest.raises(NotFound, match="has no alias 'champion'"):
        timed.resolve_model("churn@champion")
    with pytest.raises(NotFound, match="has no alias 'champion'"):
        timed.remove_model_alias("churn", "champion", who="bo")
    with pytest.raises(NotFound, match="no model named 'nope'"):
        timed.remove_model_alias("nope", "champion", who="bo")
    assert len(timed.model_history("churn")) == 2  # a refused removal records nothing
    timed.set_model_alias("churn", "champion", "1.0.0", who="cy")  # the alias can be given again
    assert timed.model_history("churn")[-1].from_value is None

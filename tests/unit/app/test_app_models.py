"""Model use cases over a real store (SQLite and PostgreSQL): promotion checks, forced promotion, lineage, listing."""

from __future__ import annotations

import pytest

from jupyter_mlops.app import models
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.entities import DataInput, ModelLineage
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound

DATA = (DataInput("train.csv", "xxh3_128:" + "ab" * 16, path="train.csv"),)


@pytest.fixture
def workspace(store, blobs, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_USER", "ana")
    return Workspace.wrapping(store, blobs)


def register(workspace, name="churn", data=DATA, flags=None, code="xxh3_128:" + "01" * 16, git_dirty=False,
             parents=(), run_code=None):
    store = workspace.store
    run = store.create_run(name=f"{name}-run")
    store.update_run(run.id, **({"flags": flags} if flags else {}), **({"code_hash": run_code} if run_code else {}))
    lineage = ModelLineage(run_id=run.id, data=data, code_hash=code, git_commit="abc123", git_dirty=git_dirty,
                           data_fingerprint="d", schema_fingerprint="s")
    return store.create_model_version(name, artifact_hash="xxh3_128:" + "cd" * 16, format="pickle",
                                      flavor="python", size=1, lineage=lineage, parents=parents)


def test_a_complete_lineage_is_promoted_and_recorded_with_the_user(workspace):
    register(workspace)
    event = models.set_alias(workspace, "churn:1.0.0", "champion", note="best so far")
    assert (event.who, event.from_value, event.to_value, event.note, event.forced) == (
        "ana", None, "1.0.0", "best so far", False)
    assert models.resolve_version(workspace, "churn@champion").version == "1.0.0"
    models.set_stage(workspace, "churn@champion", "production")
    assert [e.to_value for e in models.model_history(workspace, "churn")] == ["1.0.0", "production"]


@pytest.mark.parametrize(("kwargs", "gap"), [
    ({"data": ()}, "no data input hashes"),
    ({"code": None, "git_dirty": True}, "dirty git tree and no code snapshot"),
    ({"flags": {"out_of_order": True, "edited_after_run": False}}, "notebook-state flags raised: out_of_order"),
])
def test_promotion_refuses_an_incomplete_lineage_unless_forced_with_a_reason(workspace, kwargs, gap):
    register(workspace, **kwargs)
    for promote in (lambda **kw: models.set_alias(workspace, "churn:latest", "champion", **kw),
                    lambda **kw: models.set_stage(workspace, "churn:1.0.0", "production", **kw)):
        with pytest.raises(Conflict) as info:
            promote()
        assert gap in info.value.message and "--force" in info.value.message and "\n" not in info.value.message
        with pytest.raises(InvalidInput, match="needs a reason"):
            promote(force=True)
        with pytest.raises(InvalidInput, match="needs a reason"):
            promote(force=True, reason="   ")
    assert models.model_history(workspace, "churn") == []  # nothing recorded by a refusal
    event = models.set_alias(workspace, "churn:1.0.0", "champion", force=True, reason="hotfix for incident 12")
    assert event.forced and "hotfix for incident 12" in event.note and gap in event.note
    stored = models.model_history(workspace, "churn")
    assert [(e.forced, e.note) for e in stored] == [(True, event.note)]


def test_archiving_needs_no_complete_lineage(workspace):
    register(workspace, data=())
    assert models.set_stage(workspace, "churn:1.0.0", "archived").to_value == "archived"
    with pytest.raises(InvalidInput, match="stage must be one of"):
        models.set_stage(workspace, "churn:1.0.0", "gold")


def test_flags_and_code_the_run_records_after_registration_count(workspace):
    version = register(workspace, code=None, run_code="xxh3_128:" + "02" * 16)
    # Registered before the run's code snapshot existed: the run's later snapshot completes the lineage.
    assert version.lineage.code_hash is None
    detail = models.show_model(workspace, "churn:1.0.0")[0]
    assert detail.lineage.code_hash == "xxh3_128:" + "02" * 16 and detail.gaps == []
    workspace.store.update_run(version.run_id, flags={"edited_after_run": True})
    assert models.show_model(workspace, "churn:1.0.0")[0].gaps == ["notebook-state flags raised: edited_after_run"]
    with pytest.raises(Conflict):
        models.set_alias(workspace, "churn:1.0.0", "champion")


def test_lineage_graph_follows_parents_and_a_deleted_run(workspace):
    register(workspace, name="features")
    child = register(workspace, parents=["features:1.0.0"])
    graph = models.version_lineage(workspace, "churn:latest")
    assert graph.run is not None and graph.run.id == child.run_id
    assert [p.detail.version.ref for p in graph.parents] == ["features:1.0.0"]
    workspace.store.delete_run(graph.parents[0].detail.version.run_id)
    again = models.version_lineage(workspace, "churn:1.0.0")
    assert again.parents[0].run is None and again.parents[0].detail.lineage.run_id is not None


def test_list_and_show(workspace):
    register(workspace)
    register(workspace)
    models.set_alias(workspace, "churn:1.0.0", "champion")
    [summary] = models.list_models(workspace)
    assert (summary.name, summary.latest, summary.versions, summary.aliases) == (
        "churn", "1.0.1", 2, {"champion": "1.0.0"})
    assert [d.version.version for d in models.show_model(workspace, "churn")] == ["1.0.1", "1.0.0"]
    with pytest.raises(NotFound, match="no model named 'nope'"):
        models.show_model(workspace, "nope")
    with pytest.raises(NotFound, match="no alias 'gold'"):
        models.resolve_version(workspace, "churn@gold")
    with pytest.raises(InvalidInput):
        models.resolve_version(workspace, "churn:x.y")

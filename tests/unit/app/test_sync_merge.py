"""The merge rules of sync (ADR-085) on bundles as the store reads them: convergent, idempotent, documented."""

from __future__ import annotations

from jupyter_mlops.app.sync_merge import merge_models, merge_runs, same_models, same_run
from jupyter_mlops.store.transfer import BUNDLE_TABLES, ModelState, RunBundle


def bundle(*, status: str = "running", end: float | None = None, heartbeat: float = 10.0, note: str = "",
           **rows: list[tuple]) -> RunBundle:
    run = {"id": "r1", "name": "r", "experiment": "default", "status": status, "start_time": 1.0, "end_time": end,
           "heartbeat": heartbeat, "note": note, "summary": "{}"}
    return RunBundle(run=run, revision=1, rows={t.name: list(rows.get(t.name, [])) for t in BUNDLE_TABLES})


def test_merging_is_symmetric_idempotent_and_finished_beats_crashed() -> None:
    crashed = bundle(status="running", heartbeat=500.0, metrics=[("loss", 0, 1.0, 2.0)],
                     latest_metrics=[("loss", 1.0, 0, 2.0)])
    finished = bundle(status="finished", end=100.0, heartbeat=100.0,
                      metrics=[("loss", 0, 1.0, 2.0), ("loss", 1, 0.5, 3.0)], latest_metrics=[("loss", 0.5, 1, 3.0)])
    one, two = merge_runs(crashed, finished), merge_runs(finished, crashed)
    assert same_run(one, two)
    assert one.run["status"] == "finished" and one.run["end_time"] == 100.0
    assert sorted(one.rows["metrics"]) == [("loss", 0, 1.0, 2.0), ("loss", 1, 0.5, 3.0)]  # each point once
    assert one.rows["latest_metrics"] == [("loss", 0.5, 1, 3.0)]
    assert same_run(merge_runs(one, finished), one) and same_run(merge_runs(one, one), one)


def test_tags_union_with_tombstones_and_a_later_readd_wins() -> None:
    here = bundle(tags=[("a",), ("b",), ("mine",)], tag_changes=[("c", False, 5.0), ("mine", True, 6.0)])
    there = bundle(tags=[("a",), ("c",), ("b",)], tag_changes=[("b", False, 7.0), ("c", True, 4.0)])
    merged = merge_runs(here, there)
    assert [t for (t,) in merged.rows["tags"]] == ["a", "mine"]  # b removed there, c removed here (later)
    readd = bundle(tags=[("a",), ("b",), ("mine",)], tag_changes=[("b", True, 8.0)])
    assert [t for (t,) in merge_runs(readd, merged).rows["tags"]] == ["a", "b", "mine"]
    tie = bundle(tags=[("x",)], tag_changes=[("x", True, 9.0)])
    gone = bundle(tag_changes=[("x", False, 9.0)])
    assert merge_runs(tie, gone).rows["tags"] == [] == merge_runs(gone, tie).rows["tags"]  # a tie: removal wins


def test_note_last_writer_wins_and_the_other_stays_in_history() -> None:
    here = bundle(note="laptop", note_history=[("laptop", 20.0)])
    there = bundle(note="team", note_history=[("team", 30.0)])
    merged = merge_runs(here, there)
    assert merged.run["note"] == "team"
    assert merged.rows["note_history"] == [("laptop", 20.0), ("team", 30.0)]
    never_edited = bundle(note="typed at start")
    again = merge_runs(never_edited, here)
    assert again.run["note"] == "laptop" and ("typed at start", 1.0) in again.rows["note_history"]


def test_params_take_the_value_logged_last() -> None:
    here = bundle(params=[("lr", "0.1", 0.1, "0.1", "api")], param_history=[("lr", "0.1", "api", 5.0)])
    there = bundle(params=[("lr", "0.2", 0.2, "0.2", "api")],
                   param_history=[("lr", "0.1", "api", 5.0), ("lr", "0.2", "api", 6.0)])
    merged = merge_runs(here, there)
    assert merged.rows["params"] == [("lr", "0.2", 0.2, "0.2", "api")]
    assert merged.rows["param_history"] == [("lr", "0.1", "api", 5.0), ("lr", "0.2", "api", 6.0)]
    assert merged.run["summary"] == '{"params": {"lr": 0.2}, "metrics": {}}'


def _version(version: str, stage: str = "none") -> tuple:
    return ("m", version, 1, 0, 0, None, "xxh3:1", "pickle", "python", 1, "{}", "", "", "[]", stage, 1.0, "me")


def _event(version: str, change: str, label: str, to: str | None, at: float) -> tuple:
    return ("m", version, change, label, None, to, "me", at, "", False)


def test_registry_stages_and_aliases_follow_the_latest_event() -> None:
    here = ModelState(versions=[_version("1.0.0", "production")], aliases=[("m", "champion", "1.0.0")],
                      events=[_event("1.0.0", "stage", "stage", "production", 5.0),
                              _event("1.0.0", "alias", "champion", "1.0.0", 5.0)])
    there = ModelState(versions=[_version("1.0.0", "archived"), _version("1.1.0")], aliases=[],
                       events=[_event("1.0.0", "stage", "stage", "archived", 9.0),
                               _event("1.0.0", "alias", "champion", None, 8.0)])
    merged = merge_models(here, there)
    assert [(v[1], v[14]) for v in merged.versions] == [("1.0.0", "archived"), ("1.1.0", "none")]
    assert merged.aliases == []  # removed there after it was set here
    assert len(merged.events) == 4
    assert same_models(merge_models(there, here), merged) and same_models(merge_models(merged, here), merged)

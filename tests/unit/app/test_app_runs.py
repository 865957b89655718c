"""Run use cases over a real SQLite workspace: choosing runs, listing, snapshots, export."""

from __future__ import annotations

import pytest

from jupyter_mlops.app import runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.entities import SliceMetric
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore, read_snapshot


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # settings from this folder, not the repository's pyproject
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    with open_store(url) as store:
        for i, name in enumerate(("first", "second", "third")):
            run = store.create_run(name=name, experiment="a" if i < 2 else "b", start_time=1_700_000_000.0 + i)
            store.end_run(run.id)
    with Workspace.from_url(url) as opened:
        yield opened


def names(workspace: Workspace, ids: list[str]) -> list[str]:
    return [workspace.store.get_run(run_id).name for run_id in ids]


@pytest.mark.parametrize(("refs", "last", "filter_text", "message"), [
    (["first"], 2, None, "give runs or --last N, not both"),
    ([], None, None, r"name the runs \(RUN RUN ...\) or use --last N"),
    (["first"], None, "experiment = 'a'", "--filter works with --last N"),
    ([], 0, None, "--last needs a positive number of runs, got 0"),
])
def test_choose_runs_refuses_what_the_rule_forbids(workspace, refs, last, filter_text, message):
    with pytest.raises(InvalidInput, match=message):
        runs.choose_runs(workspace, refs, last, filter_text)


def test_choose_runs_by_name_prefix_or_last_n(workspace):
    third = workspace.store.resolve_run("third")
    assert names(workspace, runs.choose_runs(workspace, ["second", third[:6], "second"])) == ["second", "third"]
    assert names(workspace, runs.choose_runs(workspace, last=2)) == ["second", "third"]  # oldest first
    assert names(workspace, runs.choose_runs(workspace, last=5, filter_text="experiment = 'a'")) == ["first", "second"]
    assert runs.choose_runs(workspace, last=2, filter_text="experiment = 'none'") == []
    with pytest.raises(NotFound):
        runs.choose_runs(workspace, ["no-such-run"])


def test_the_plain_list_reads_the_file_without_opening_the_store(workspace):
    page = runs.list_runs(workspace, limit=2)
    assert [r.name for r in page.items] == ["third", "second"] and page.total == 3
    assert not workspace.is_open  # the cold-start path: sqlite3 only
    filtered = runs.list_runs(workspace, "experiment = 'b'")
    assert [r.name for r in filtered.items] == ["third"] and workspace.is_open


def test_read_snapshot_gives_none_for_what_is_not_a_snapshot(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    good, scalar = blobs.put_json({"cells": []}), blobs.put_json([1, 2])
    cache: dict = {}
    assert read_snapshot(blobs, good, cache) == {"cells": []} and good in cache
    assert read_snapshot(blobs, scalar) is None  # a snapshot is an object
    assert read_snapshot(blobs, "xxh3_128:" + "0" * 32) is None  # missing
    assert read_snapshot(blobs, None) is None and read_snapshot(None, good) is None
    blobs.path_of(good).write_bytes(b"{not json")
    assert read_snapshot(blobs, good) is None  # unreadable


def test_edit_show_export_delete(workspace):
    edited = runs.edit_run(workspace, "first", add_tags=["keep"], note="token=ghp_" + "a" * 36)
    assert list(edited.tags) == ["keep"] and "ghp_" not in (edited.note or "")  # secrets masked like a tracked run's
    detail = runs.show_run(workspace, "first")
    assert detail.run.id == edited.id and detail.env is None and detail.code is None
    document = runs.export_run(workspace, "first")
    assert document["format"] == runs.EXPORT_FORMAT and document["run"]["name"] == "first"
    found = runs.find_runs(workspace, ["first", "second"])
    assert runs.delete_runs(workspace, [r.id for r in found]) == 2
    assert [r.name for r in runs.list_runs(workspace, "name ~ '*'").items] == ["third"]


def test_slice_metric_history_is_one_slice_by_step(workspace):
    run_id = workspace.store.resolve_run("first")
    workspace.store.log_batch(run_id, sliced=[SliceMetric("auc", label, 0.5 + step / 10, step)
                                              for step in (1, 0) for label in ("region=EU", "region=US")])
    points = runs.slice_metric_history(workspace, "first", "auc", "region=EU")
    assert [(p.slice, p.step, p.value) for p in points] == [("region=EU", 0, 0.5), ("region=EU", 1, 0.6)]
    with pytest.raises(NotFound, match="no metric 'auc' on slice 'region=APAC'"):
        runs.slice_metric_history(workspace, "first", "auc", "region=APAC")
    with pytest.raises(NotFound):
        runs.slice_metric_history(workspace, "second", "auc", "region=EU")  # a run without slices
    with pytest.raises(InvalidInput, match="not a canonical slice label"):
        runs.slice_metric_history(workspace, "first", "auc", "region=US,device=x")
    exported = runs.export_run(workspace, "first")["slice_history"]
    assert {label: [p["step"] for p in series] for label, series in exported["auc"].items()} == {
        "region=EU": [0, 1], "region=US": [0, 1]}

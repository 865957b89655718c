"""The standard-library reader behind a cold ``runs list`` answers exactly what the store answers, or steps aside."""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path

import pytest

from jupyter_mlops.entities import Artifact, DataInput, RunStatus
from jupyter_mlops.store import layout, migrations, open_store, quick_list

V1 = Path(__file__).parents[2] / "data" / "stores" / "v1.db"


def test_it_is_written_for_the_schema_this_code_writes():
    # One definition of the schema version, shared by the migrations and this SQLAlchemy-free reader.
    assert quick_list.SCHEMA_VERSION is layout.SCHEMA_VERSION is migrations.SCHEMA_VERSION
    assert tuple(m.name for m in migrations.MIGRATIONS) == layout.MIGRATION_NAMES
    assert layout.SCHEMA_VERSION == len(layout.MIGRATION_NAMES)


@pytest.fixture
def varied(tmp_path):
    """A SQLite store whose runs use every column the reader decodes; returns its file."""
    path = tmp_path / "mlops.db"
    with open_store(f"sqlite:///{path}") as store:
        a = store.create_run(name="a", experiment="churn", tags=["z", "baseline"], note="first",
                             notebook_path="nb.ipynb", start_time=1_700_000_000.0)
        store.log_params(a.id, {"lr": 0.1, "layers": [64, 32], "opt": "adam", "flag": True})
        store.log_metrics(a.id, {"auc": 0.9, "loss": math.nan})
        store.log_data_inputs(a.id, [DataInput("train", "xxh3_128:aa", path="data/train.csv", size=10,
                                               schema={"columns": [{"name": "x", "dtype": "int64"}], "rows": 3}),
                                     DataInput("model", "xxh3_128:bb", kind="object", role="output")])
        store.log_artifacts(a.id, [Artifact("out/b.png", "xxh3_128:cc", 5), Artifact("out/a.csv", "xxh3_128:dd", 7)])
        store.update_run(a.id, git_commit="deadbeef", git_dirty=True, flags={"out_of_order": True},
                         code_hash="xxh3_128:01", notebook_hash="xxh3_128:02", env_hash="xxh3_128:03")
        store.end_run(a.id, end_time=1_700_000_100.0)
        b = store.create_run(name="b", experiment="fraud", start_time=1_700_000_200.0, reproduction_of=a.id)
        store.end_run(b.id, RunStatus.FAILED, end_time=1_700_000_300.0)
        store.create_run(name="stale", start_time=1_700_000_400.0)  # running, heartbeat long past: crashed
        for n in range(4):  # same start time: the id decides the order
            store.create_run(name=f"tie-{n}", start_time=1_700_000_500.0, tags=[f"t{n}"])
        store.create_run(name="live")  # running now
    return path


@pytest.mark.parametrize(("limit", "offset"), [(None, 0), (50, 0), (3, 0), (3, 3), (3, 6), (2, 100), (0, 0),
                                               (None, 4)])
def test_every_page_equals_the_stores(varied, limit, offset, monkeypatch):
    monkeypatch.setattr(quick_list, "_CHUNK", 2)  # children of one page span several IN lists
    quick = quick_list.newest_runs(varied, limit=limit, offset=offset, stale_after=30.0)
    with open_store(f"sqlite:///{varied}", create=False) as store:
        full = store.search_runs(limit=limit, offset=offset)
    assert quick is not None
    assert (quick.total, quick.offset, quick.limit) == (full.total, full.offset, full.limit)
    assert [r.to_dict() for r in quick.items] == [r.to_dict() for r in full.items]


def test_runs_come_back_whole(varied):
    page = quick_list.newest_runs(varied, limit=None, offset=0, stale_after=30.0)
    assert page is not None
    by_name = {r.name: r for r in page.items}
    a = by_name["a"]
    assert a.params == {"lr": 0.1, "layers": [64, 32], "opt": "adam", "flag": True}
    assert a.metrics["auc"] == 0.9 and math.isnan(a.metrics["loss"])
    assert a.tags == ("baseline", "z") and [d.name for d in a.data_inputs] == ["train", "model"]
    assert a.data_inputs[0].schema == {"columns": [{"name": "x", "dtype": "int64"}], "rows": 3}
    assert [x.path for x in a.artifacts] == ["out/a.csv", "out/b.png"]
    assert (a.git_dirty, a.flags, a.note) == (True, {"out_of_order": True}, "first")
    assert by_name["stale"].status is RunStatus.CRASHED and by_name["live"].status is RunStatus.RUNNING
    assert by_name["b"].status is RunStatus.FAILED


def test_an_older_schema_is_left_to_the_store_which_migrates_it(tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(V1, old)
    assert quick_list.newest_runs(old, limit=50, offset=0, stale_after=30.0) is None
    open_store(f"sqlite:///{old}").close()
    page = quick_list.newest_runs(old, limit=50, offset=0, stale_after=30.0)
    assert page is not None and page.total == 2


def test_files_it_cannot_read_are_left_to_the_store(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("not a database" * 100)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    for path in (text, empty, tmp_path / "missing.db", tmp_path):
        assert quick_list.newest_runs(path, limit=50, offset=0, stale_after=30.0) is None
    assert text.read_text() == "not a database" * 100 and not (tmp_path / "missing.db").exists()

"""Schema migrations: the shipped v1 store upgrades without loss; pending() only reads; newer stores are refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pg
import pytest
from sqlalchemy import create_engine, inspect, update

from jupyter_mlops.errors import SchemaTooNew
from jupyter_mlops.store import migrations, open_store
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.sql import SqlStore

V1 = Path(__file__).parents[2] / "data" / "stores" / "v1.db"


@pytest.fixture
def v1_copy(tmp_path):
    target = tmp_path / "old" / "mlops.db"
    target.parent.mkdir()
    shutil.copy(V1, target)
    return target


def test_opening_a_v1_store_migrates_without_data_loss(v1_copy):
    raw = sqlite3.connect(v1_copy)
    before = {t: raw.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "params", "metrics")}
    raw.close()
    store = open_store(f"sqlite:///{v1_copy}")
    try:
        assert store.migrate() == []  # open_store already applied 0002 to 0006
        run = store.get_run("a" * 32)
        assert (run.name, run.experiment, run.note, run.tags) == ("old-0", "churn", "from v1", ("legacy",))
        assert run.params == {"lr": 0.1, "model.num_leaves": 31, "optimizer": "adam"}
        assert run.metrics == {"auc": 0.8} and run.flags == {"out_of_order": False}
        assert run.logging_errors == 0  # 0006: runs made before the count existed read as complete
        assert [m.value for m in store.metric_history(run.id, "auc")] == pytest.approx([0.7, 0.75, 0.8])
        # 0002 seeded the history with the value each param had
        assert [(p.value, p.source) for p in store.param_history(run.id, "lr")] == [(0.1, "papermill")]
        assert store.search_runs("params.lr > 0.15 and tag = legacy").total == 1
        store.log_param(run.id, "lr", 0.5)
        assert [p.value for p in store.param_history(run.id, "lr")] == [0.1, 0.5]
        after = {t: store.search_runs().total for t in ("runs",)}
        assert after["runs"] == before["runs"] == 2
    finally:
        store.close()
    raw = sqlite3.connect(v1_copy)
    assert raw.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == before["metrics"]
    assert raw.execute("SELECT schema_version FROM schema_info").fetchone()[0] == migrations.SCHEMA_VERSION
    assert [r[0] for r in raw.execute("SELECT name FROM migrations ORDER BY name")] == [
        m.name for m in migrations.MIGRATIONS]
    # 0005 swapped the tag index for a covering one
    assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tags'"
                                      " AND sql IS NOT NULL")] == ["ix_tags_tag_run"]
    raw.close()


def test_pending_only_reads(v1_copy):
    store = SqlStore(f"sqlite:///{v1_copy}")
    try:
        data = v1_copy.read_bytes()
        later = ["0002_param_history", "0003_run_summary", "0004_covering_indexes", "0005_covering_tag_index",
                 "0006_run_logging_errors", "0007_model_versions", "0008_external_ids", "0010_metric_slices",
                 "0011_sync", "0015_scale_indexes", "0016_param_text_index",
                 "0017_metric_rollups"]
        assert store.pending_migrations() == later
        assert store.pending_migrations() == later
        assert v1_copy.read_bytes() == data
        assert store.migrate() == later
        assert store.pending_migrations() == []
    finally:
        store.close()


def test_fresh_store_applies_every_migration_and_matches_the_schema(store_url, tmp_path):
    store = SqlStore(store_url)
    try:
        assert store.pending_migrations() == []
        inspector = inspect(store.engine)
        for table in s.metadata.sorted_tables:
            stored = {c["name"] for c in inspector.get_columns(table.name)}
            assert stored == set(table.columns.keys()), table.name
            indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            assert {i.name for i in table.indexes} <= indexes, table.name
    finally:
        store.close()


def test_a_newer_store_is_refused_in_one_line(v1_copy):
    open_store(f"sqlite:///{v1_copy}").close()
    engine = create_engine(f"sqlite:///{v1_copy}")
    with engine.begin() as conn:
        conn.execute(update(s.schema_info).values(schema_version=migrations.SCHEMA_VERSION + 1))
    engine.dispose()
    with pytest.raises(SchemaTooNew) as info:
        open_store(f"sqlite:///{v1_copy}")
    assert "newer than this jupyter_mlops" in info.value.message and "\n" not in info.value.message


def test_an_unknown_migration_name_is_refused(v1_copy):
    raw = sqlite3.connect(v1_copy)
    raw.execute("INSERT INTO migrations (name, applied_at) VALUES ('0099_from_the_future', 0)")
    raw.commit()
    raw.close()
    with pytest.raises(SchemaTooNew):
        open_store(f"sqlite:///{v1_copy}")


def test_postgres_store_migrates_from_empty(pg_url):
    url = pg.create_database(pg_url, "mlops_migrate_fresh")
    store = SqlStore(url)
    try:
        assert store.pending_migrations() == [m.name for m in migrations.MIGRATIONS]
        assert store.migrate() == [m.name for m in migrations.MIGRATIONS]
        assert store.migrate() == []
    finally:
        store.close()


_OPEN = """
import sys
from jupyter_mlops.store import open_store
open_store(sys.argv[1]).close()
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_opening_a_new_store_at_once_migrate_it_once(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'race' / 'mlops.db'}"
    else:
        url = pg.create_database(request.getfixturevalue("pg_url"), "mlops_migrate_race")
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN, url], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    store = SqlStore(url)
    try:
        with store.engine.connect() as conn:
            assert migrations.applied(conn) == [m.name for m in migrations.MIGRATIONS]
    finally:
        store.close()


def test_covering_indexes_replace_the_narrow_ones_and_filters_use_them(v1_copy):
    open_store(f"sqlite:///{v1_copy}").close()
    raw = sqlite3.connect(v1_copy)
    try:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"ix_latest_metrics_key_value_run", "ix_params_key_num_run", "ix_params_key_text_run"} <= names
        assert not {"ix_latest_metrics_key_value", "ix_params_key_num"} & names
        plan = " ".join(str(r) for r in raw.execute(
            "EXPLAIN QUERY PLAN SELECT run_id FROM params WHERE key = 'optimizer' AND text_value = 'adam'"))
        assert "COVERING INDEX ix_params_key_text_run" in plan
    finally:
        raw.close()

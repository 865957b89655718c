"""Migration 0007: a store made by the previous schema (integer-versioned ``models``) upgrades without loss."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from jupyter_mlops.store import migrations, open_store
from jupyter_mlops.store.layout import MIGRATION_NAMES

V1 = Path(__file__).parents[2] / "data" / "stores" / "v1.db"


def previous_schema_store(tmp_path: Path) -> Path:
    """The shipped v1 store brought to schema 6 (every migration before 0007), with a legacy model row."""
    target = tmp_path / "old" / "mlops.db"
    target.parent.mkdir()
    shutil.copy(V1, target)
    from sqlalchemy import insert

    from jupyter_mlops.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{target}")
    try:
        def upto_six(conn):
            for migration in migrations.MIGRATIONS[1:6]:
                migration.apply(conn)
                conn.execute(insert(migrations.s.migrations).values(name=migration.name, applied_at=0.0))
            migrations._write_version(conn)
        store._write(upto_six)
    finally:
        store.close()
    raw = sqlite3.connect(target)
    raw.execute("UPDATE schema_info SET schema_version = 6")
    raw.execute("INSERT INTO models (name, version, run_id, artifact_hash, stage, created) VALUES "
                "('churn', 3, ?, 'xxh3_128:00ff', 'production', 1700000000.0)", ("a" * 32,))
    raw.commit()
    raw.close()
    return target


def test_a_previous_schema_store_upgrades_keeping_runs_and_models(tmp_path):
    path = previous_schema_store(tmp_path)
    raw = sqlite3.connect(path)
    assert [r[0] for r in raw.execute("SELECT name FROM migrations ORDER BY name")] == list(MIGRATION_NAMES[:6])
    runs_before = raw.execute("SELECT id, name, summary FROM runs ORDER BY id").fetchall()
    metrics_before = raw.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    raw.close()

    store = open_store(f"sqlite:///{path}")
    try:
        assert store.pending_migrations() == []
        kept = store.get_model_version("churn", "3.0.0")
        assert (kept.run_id, kept.artifact_hash, kept.stage, kept.created) == (
            "a" * 32, "xxh3_128:00ff", "production", 1700000000.0)
        assert [(e.from_value, e.to_value, e.who) for e in store.model_history("churn")] == [
            ("none", "production", "migration 0007")]
        # New versions continue the numbering of the migrated ones.
        assert store.resolve_model("churn:latest").version == "3.0.0"
        assert store.get_run("a" * 32).metrics == {"auc": 0.8}
    finally:
        store.close()
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT id, name, summary FROM runs ORDER BY id").fetchall() == runs_before
    assert raw.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == metrics_before
    assert raw.execute("SELECT schema_version FROM schema_info").fetchone()[0] == migrations.SCHEMA_VERSION
    assert raw.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'models'").fetchone()[0] == 0
    raw.close()


def test_a_fresh_store_has_no_legacy_table(tmp_path):
    path = tmp_path / "new" / "mlops.db"
    open_store(f"sqlite:///{path}").close()
    raw = sqlite3.connect(path)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    raw.close()
    assert {"model_versions", "model_aliases", "model_events"} <= tables and "models" not in tables

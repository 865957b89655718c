"""Migration 0011 (ADR-084) on a store made before it, on SQLite and PostgreSQL, and what it starts recording."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from jupyter_mlops.store import open_store
from jupyter_mlops.store.layout import SCHEMA_VERSION


def test_0011_upgrades_an_older_store_and_keeps_its_runs(store_url: str) -> None:
    with open_store(store_url) as store:
        kept = store.create_run(name="before", tags=["a"], note="old note")
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:  # the store as 0010 left it: fixed test DDL
            for table in ("sync_remotes", "sync_runs", "note_history", "tag_changes"):
                conn.execute(text(f"DROP TABLE {table}"))
            conn.execute(text("ALTER TABLE runs DROP COLUMN revision"))
            conn.execute(text("DELETE FROM migrations WHERE name = '0011_sync'"))
            conn.execute(text(f"UPDATE schema_info SET schema_version = {SCHEMA_VERSION - 1}"))
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        run = store.get_run(kept.id)
        assert (run.name, run.tags, run.note) == ("before", ("a",), "old note")
        store.set_tags(kept.id, remove=["a"])
        store.update_run(kept.id, note="new note")
        bundle = store.read_bundles([kept.id])[0]  # type: ignore[attr-defined]
        assert bundle.revision == 2  # 0 from the migration, then two changes
        assert bundle.rows["tag_changes"] == [("a", False, bundle.rows["tag_changes"][0][2])]
        assert [note for note, _ in bundle.rows["note_history"]] == ["old note", "new note"]
    engine = create_engine(store_url)
    try:
        assert {"sync_runs", "sync_remotes", "tag_changes", "note_history"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_every_change_to_a_run_bumps_its_revision(store_url: str) -> None:
    from jupyter_mlops.entities import Artifact, DataInput

    with open_store(store_url) as store:
        run = store.create_run(name="r")

        def revision() -> int:
            return int(store.run_revisions()[run.id])  # type: ignore[attr-defined]

        seen = [revision()]
        for change in (lambda: store.log_metric(run.id, "m", 1.0), lambda: store.log_param(run.id, "p", 1),
                       lambda: store.set_tags(run.id, add=["x"]), lambda: store.update_run(run.id, note="n"),
                       lambda: store.log_data_inputs(run.id, [DataInput(name="d", kind="file", hash="xxh3:1")]),
                       lambda: store.log_artifacts(run.id, [Artifact(path="a", hash="xxh3:2", size=1)])):
            change()
            seen.append(revision())
        assert seen == sorted(set(seen)) and len(seen) == 7

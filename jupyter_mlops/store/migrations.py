"""Named, ordered, transactional forward migrations and the ``schema_version`` row.

Each migration runs inside the caller's write transaction, together with the bookkeeping rows that record it, so
a failure leaves the store exactly as it was. :func:`pending` only reads. A store whose ``schema_version`` is
higher than :data:`SCHEMA_VERSION` (or that lists migrations this code does not know) was written by a newer
jupyter_mlops and is refused with :class:`~jupyter_mlops.errors.SchemaTooNew` rather than guessed at.

Concurrency: on SQLite the caller's ``BEGIN IMMEDIATE`` serialises migrators; on PostgreSQL a transaction-level
advisory lock does. Either way the applied list is re-read after the lock is held, so two processes opening a
fresh store at once apply each migration exactly once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    update,
)

from jupyter_mlops.errors import SchemaTooNew
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.layout import MIGRATION_NAMES, SCHEMA_VERSION

# Any constant works; it only has to be the same for every jupyter_mlops process using one database.
_PG_LOCK_ID = 0x6D6C6F7073  # "mlops"


@dataclass(frozen=True)
class Migration:
    """One forward step of the schema.

    Attributes:
        name: stable, ordered name (``0001_initial``); never renamed once released.
        apply: performs the change on a connection that is already inside a transaction.
    """

    name: str
    apply: Callable[[Connection], None]


_INITIAL_TABLES = (
    s.schema_info,
    s.migrations,
    s.experiments,
    s.runs,
    s.params,
    s.metrics,
    s.latest_metrics,
    s.tags,
    s.data_inputs,
    s.artifacts,
    s.hash_cache,
)


def _initial(conn: Connection) -> None:
    s.metadata.create_all(conn, tables=list(_INITIAL_TABLES))


def _param_history(conn: Connection) -> None:
    # Version 1 kept only the latest value of each param; seed the history with it, stamped at run start.
    s.param_history.create(conn)
    seed = select(s.params.c.run_id, s.params.c.key, s.params.c.value, s.params.c.source, s.runs.c.start_time).join(
        s.runs, s.runs.c.id == s.params.c.run_id
    )
    conn.execute(
        insert(s.param_history).from_select(["run_id", "key", "value", "source", "logged_at"], seed)
    )


def _run_summary(conn: Connection) -> None:
    # Stores made before 0003 lack runs.summary; stores made since get it from 0001 (which creates current shapes).
    if "summary" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN summary TEXT"))  # fixed DDL, no values
    summaries: dict[str, dict[str, dict[str, Any]]] = {}
    for run_id, key, value in conn.execute(select(s.params.c.run_id, s.params.c.key, s.params.c.value)):
        summaries.setdefault(run_id, {"params": {}, "metrics": {}})["params"][key] = json.loads(value)
    m = s.latest_metrics.c
    for run_id, key, number in conn.execute(select(m.run_id, m.key, m.value)):
        summaries.setdefault(run_id, {"params": {}, "metrics": {}})["metrics"][key] = (
            math.nan if number is None else number)
    stmt = update(s.runs).where(s.runs.c.id == bindparam("run")).values(summary=bindparam("text"))
    rows = [{"run": run_id, "text": json.dumps(summary)} for run_id, summary in summaries.items()]
    if rows:
        conn.execute(stmt, rows)


def _covering_indexes(conn: Connection) -> None:
    # Filters compile to semi-joins on (key, value): with run_id in the index they never touch the table. Fixed DDL.
    conn.execute(text("DROP INDEX IF EXISTS ix_latest_metrics_key_value"))
    conn.execute(text("DROP INDEX IF EXISTS ix_params_key_num"))
    for index in (*s.latest_metrics.indexes, *s.params.indexes):
        index.create(conn, checkfirst=True)  # stores made since 0004 already have them from 0001
    if conn.dialect.name == "sqlite":
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_params_key_text_run ON params (key, text_value, run_id)"))


def _covering_tag_index(conn: Connection) -> None:
    # ``tag = x`` semi-joins read (tag -> run_id) from the index alone: 3x faster over 2,000 tagged runs. Fixed DDL.
    conn.execute(text("DROP INDEX IF EXISTS ix_tags_tag"))
    for index in s.tags.indexes:
        index.create(conn, checkfirst=True)


def _run_logging_errors(conn: Connection) -> None:
    # Stores made since 0006 get the column from 0001 (current shapes); older ones start every run at 0. Fixed DDL.
    if "logging_errors" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN logging_errors INTEGER NOT NULL DEFAULT 0"))


# The integer-versioned ``models`` table that 0001 created up to 0006: read (and dropped) only by 0007.
_legacy_models = Table(
    "models", MetaData(),
    Column("name", String(250), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("run_id", String(32)),
    Column("artifact_hash", String(100), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("created", Float, nullable=False),
)


def _model_versions(conn: Connection) -> None:
    # Versions become MAJOR.MINOR.PIPELINE with lineage, aliases and an append-only history (ADR-053/054).
    # Nothing ever wrote the old table, but a store that holds rows keeps them: version N becomes N.0.0, its
    # lineage only the run, and its stage an event stamped by the migration, so no history starts mid-way.
    for table in s.MODEL_TABLES:
        table.create(conn, checkfirst=True)
    if not inspect(conn).has_table("models"):
        return
    old = _legacy_models.c
    for row in conn.execute(select(_legacy_models).order_by(old.name, old.version)).all():
        version = f"{int(row.version)}.0.0"
        stage = row.stage if row.stage in ("staging", "production", "archived") else "none"
        conn.execute(insert(s.model_versions).values(
            name=row.name, version=version, major=int(row.version), minor=0, pipeline=0, run_id=row.run_id,
            artifact_hash=row.artifact_hash, format="pickle", flavor="python", size=0,
            lineage=json.dumps({"run_id": row.run_id}), data_fingerprint="", schema_fingerprint="", parents="[]",
            stage=stage, created=row.created, created_by="migration 0007"))
        if stage != "none":
            conn.execute(insert(s.model_events).values(
                name=row.name, version=version, change="stage", label="stage", from_value="none", to_value=stage,
                who="migration 0007", at=time.time(), note="stage carried over from the integer-versioned table",
                forced=False))
    _legacy_models.drop(conn)


def _external_ids(conn: Connection) -> None:
    # The mapping of imported/exported runs and model versions to another tracking system's ids (ADR-062).
    s.external_ids.create(conn, checkfirst=True)


def _metric_slices(conn: Connection) -> None:
    # New tables only (ADR-070): the unsliced tables, and every statement over them, are untouched.
    for table in s.SLICE_TABLES:
        table.create(conn, checkfirst=True)


def _sync(conn: Connection) -> None:
    # Run revisions, tag tombstones, note history and the per-remote watermark (ADR-084..086). Stores made since
    # 0011 get runs.revision from 0001 (current shapes); older runs start at 0, which no sync has recorded. Fixed DDL.
    if "revision" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0"))
    for table in s.SYNC_TABLES:
        table.create(conn, checkfirst=True)


def _scale_indexes(conn: Connection) -> None:
    # ADR-107: the metric index covers step, timestamp and value, so a chart's history (and every history read)
    # never touches the table; it replaces (run_id, key, step), which it extends. Fixed DDL.
    for index in s.metrics.indexes:
        index.create(conn, checkfirst=True)  # stores made since 0015 already have it from 0001
    conn.execute(text("DROP INDEX IF EXISTS ix_metrics_run_key_step"))


def _param_text_index(conn: Connection) -> None:
    # ADR-114: PostgreSQL gets the (key, text_value, run_id) index SQLite has had since 0004, for the values short
    # enough to fit a B-tree entry, and statistics of key and text_value together: per-column statistics guessed
    # 455 runs for `key = 'lr' AND text_value = '0.1'` (25,249 real) and chose a nested loop. The same statistics
    # on (key, num_value) were tried and left out: they made ADR-107's plan of deep pages 5x slower. Fixed DDL.
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_params_key_short_text_run ON params (key, text_value, run_id) "
                      f"WHERE length(text_value) < {s.SHORT_TEXT_CHARS:d}"))
    # Most-common-value lists over both columns need PostgreSQL 12; older servers keep the per-column estimate.
    if (conn.dialect.server_version_info or (0,)) >= (12,):
        conn.execute(text("CREATE STATISTICS IF NOT EXISTS st_params_key_text (mcv) ON key, text_value FROM params"))
    conn.execute(text("ANALYZE params"))  # the statistics exist from now on, not from autovacuum's next visit


def _metric_rollups(conn: Connection) -> None:
    # ADR-116: new, derived tables. Existing histories get no rollup here (building one reads every point): each gets
    # an invalid state, so the write path never starts a rollup from their newest points only; their charts read raw
    # points as before until ``jupyter-mlops runs rollups`` (``Store.build_rollups``) builds them.
    for table in s.ROLLUP_TABLES:
        table.create(conn, checkfirst=True)
    m = s.latest_metrics.c
    seed = select(m.run_id, m.key, literal(False), literal(0), literal(0))
    conn.execute(insert(s.metric_rollup_state).from_select(["run_id", "key", "valid", "blocks", "pending"], seed))


#: The steps, named in :data:`.layout.MIGRATION_NAMES` (which the SQLAlchemy-free quick listing reads too).
MIGRATIONS: tuple[Migration, ...] = tuple(
    Migration(name, apply)
    for name, apply in zip(
        MIGRATION_NAMES,
        (_initial, _param_history, _run_summary, _covering_indexes, _covering_tag_index, _run_logging_errors,
         _model_versions, _external_ids, _metric_slices, _sync, _scale_indexes, _param_text_index,
         _metric_rollups),
        strict=True,
    )
)


def applied(conn: Connection) -> list[str]:
    """Names of the migrations recorded in this database, in order (empty for a new database)."""
    if not inspect(conn).has_table("migrations"):
        return []
    return list(conn.scalars(select(s.migrations.c.name).order_by(s.migrations.c.name)))


def stored_version(conn: Connection) -> int:
    """The ``schema_version`` recorded in the database (0 for a new database)."""
    if not inspect(conn).has_table("schema_info"):
        return 0
    version = conn.scalar(select(s.schema_info.c.schema_version).where(s.schema_info.c.id == 1))
    return int(version or 0)


def check_not_too_new(conn: Connection, where: str) -> None:
    """Refuse a database written by a newer jupyter_mlops.

    Raises:
        SchemaTooNew: its schema version, or a migration it lists, is unknown to this code.
    """
    version = stored_version(conn)
    known = {m.name for m in MIGRATIONS}
    unknown = [name for name in applied(conn) if name not in known]
    if version > SCHEMA_VERSION or unknown:
        raise SchemaTooNew(
            f"store {where} has schema version {version}, newer than this jupyter_mlops understands "
            f"({SCHEMA_VERSION}); upgrade jupyter_mlops to use it"
        )


def pending(conn: Connection) -> list[str]:
    """Names of the migrations this database still needs, in order; reads only."""
    done = set(applied(conn))
    return [m.name for m in MIGRATIONS if m.name not in done]


def migrate(conn: Connection, where: str) -> list[str]:
    """Apply every pending migration inside the caller's write transaction.

    Args:
        conn: a connection inside a write transaction (``BEGIN IMMEDIATE`` on SQLite).
        where: the store's (redacted) URL, for error messages.

    Returns:
        The names applied, in order; empty when the database was up to date.

    Raises:
        SchemaTooNew: the database is newer than this code.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_ID)))
    check_not_too_new(conn, where)
    todo = [m for m in MIGRATIONS if m.name in set(pending(conn))]
    for migration in todo:
        migration.apply(conn)
        conn.execute(insert(s.migrations).values(name=migration.name, applied_at=time.time()))
    if todo:
        _write_version(conn)
    return [m.name for m in todo]


def _write_version(conn: Connection) -> None:
    exists = conn.scalar(select(s.schema_info.c.id).where(s.schema_info.c.id == 1))
    if exists is None:
        conn.execute(insert(s.schema_info).values(id=1, schema_version=SCHEMA_VERSION))
    else:
        conn.execute(update(s.schema_info).where(s.schema_info.c.id == 1).values(schema_version=SCHEMA_VERSION))

"""The current relational schema, as SQLAlchemy Core tables (one definition for SQLite and PostgreSQL).

Assumptions:
    * Times are epoch seconds (``Float``), ids of runs are ``uuid4().hex`` strings.
    * Param values are stored as JSON text (``value``) plus two derived columns used only for searching:
      ``num_value`` (the number, for numeric params and numeric-looking strings) and ``text_value`` (the string
      itself for strings, the JSON text otherwise).
    * A NaN metric value is stored as SQL NULL (SQLite cannot store NaN); +/-inf are stored as themselves.
    * ``runs.summary`` is a denormalised JSON copy of a run's params and latest metrics
      (``{"params": {...}, "metrics": {...}}``), rewritten by every ``log_batch`` in the same transaction. Listing
      10,000 runs then reads 10,000 rows instead of 300,000; the ``params`` and ``latest_metrics`` tables stay the
      source of truth for filtering and sorting (they carry the indexes).
    * The tables here are the current shape. Migration ``0001_initial`` creates the current shape of the tables it
      lists, so every later migration that adds a column must first check whether the column already exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# The ids, keys and names that appear in WHERE clauses are bounded strings; free text (notes, JSON) is Text.
_ID = String(32)
_KEY = String(250)

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("schema_version", Integer, nullable=False),
)

migrations = Table(
    "migrations",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", Float, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _KEY, nullable=False, unique=True),
    Column("created", Float, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", _KEY, nullable=False),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("heartbeat", Float),
    Column("notebook_path", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("code_hash", String(100)),
    Column("notebook_hash", String(100)),
    Column("env_hash", String(100)),
    Column("note", Text, nullable=False, default=""),
    Column("reproduction_of", _ID),
    Column("flags", Text),  # JSON object of notebook-state flags
    Column("summary", Text),  # JSON {"params": {...}, "metrics": {...}}: see the module docstring
    # Values and points the tracker could not store (bad value, full disk); > 0 means the run is incomplete.
    Column("logging_errors", Integer, nullable=False, default=0, server_default="0"),
    # Bumped by every write that changes the run (migration 0011, ADR-084): sync compares it with the revision
    # it recorded per remote, so an up-to-date push reads one join instead of every run.
    Column("revision", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_runs_start_time", "start_time"),
    Index("ix_runs_name", "name"),
    Index("ix_runs_experiment", "experiment_id"),
)


def _run_fk() -> ForeignKey:
    return ForeignKey("runs.id", ondelete="CASCADE")


params = Table(
    "params",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("key", _KEY, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("num_value", Float),
    Column("text_value", Text),
    Column("source", String(50), nullable=False, default="api"),
    # run_id last: the filter's semi-join (``run_id IN (SELECT run_id ... WHERE key = ? AND num_value > ?)``) is
    # then answered from the index alone. Text params get (key, text_value, run_id) on SQLite (migration 0004);
    # PostgreSQL refuses B-tree entries over ~2.7 kB and param values have no length limit, so there the index
    # holds only values shorter than SHORT_TEXT_CHARS (migration 0016, ADR-114).
    Index("ix_params_key_num_run", "key", "num_value", "run_id"),
)

#: PostgreSQL's ``(key, text_value, run_id)`` index on ``params`` holds the values shorter than this, in characters
#: (migration 0016): the longest entry, a 250-character key and a 399-character value of 4-byte UTF-8 characters,
#: is 2,652 bytes, under B-tree's 2,704. A filter's ``params.x = "text"`` states the same bound when its literal is
#: shorter, so the planner may use the partial index (``filter_sql``). Fixed: the index's predicate says it.
SHORT_TEXT_CHARS = 400

param_history = Table(
    "param_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", _ID, _run_fk(), nullable=False),
    Column("key", _KEY, nullable=False),
    Column("value", Text, nullable=False),  # JSON
    Column("source", String(50), nullable=False),
    Column("logged_at", Float, nullable=False),
    Index("ix_param_history_run_key", "run_id", "key"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("run_id", _ID, _run_fk(), nullable=False),
    Column("key", _KEY, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Float),  # NULL means NaN
    Column("timestamp", Float, nullable=False),
    # Covering (migration 0015): a chart's history, ordered by step then time, is read from the index alone.
    Index("ix_metrics_series", "run_id", "key", "step", "timestamp", "value"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("key", _KEY, primary_key=True),
    Column("value", Float),  # NULL means NaN
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_latest_metrics_key_value_run", "key", "value", "run_id"),  # covering, see params
)

def _block_summary(*, steps_known: bool) -> list[Column[Any]]:
    """The columns summarising a block of a history: its step range, first/last values, lowest and highest."""
    return [Column("step_lo", BigInteger, nullable=not steps_known),
            Column("step_hi", BigInteger, nullable=not steps_known),
            Column("first_value", Float), Column("last_value", Float),
            Column("min_value", Float), Column("min_step", BigInteger),
            Column("max_value", Float), Column("max_step", BigInteger)]


# Rollups of long metric histories (migration 0017, ADR-116): derived from ``metrics`` and rebuilt from it, never
# copied by sync. Each row summarises one closed block of consecutive points in step order (``rollup.BLOCK`` of
# them, more when points share the last step); NULL values mean NaN, min/max are over finite values only.
metric_rollups = Table(
    "metric_rollups",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("key", _KEY, primary_key=True),
    Column("block", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    *_block_summary(steps_known=True),
)

# Per history: the closed blocks cover every point up to ``covered_step`` (NULL: no block yet); the ``pending``
# points after it form the open block, summarised in the same columns as a block (so no write reads points back);
# ``valid`` false once a point arrived below the open block's last step (a back-fill: readers use raw points).
metric_rollup_state = Table(
    "metric_rollup_state",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("key", _KEY, primary_key=True),
    Column("valid", Boolean, nullable=False),
    Column("blocks", Integer, nullable=False),
    Column("covered_step", BigInteger),
    Column("pending", Integer, nullable=False),
    *_block_summary(steps_known=False),  # the open block's: no steps while it is empty
)

ROLLUP_TABLES = (metric_rollups, metric_rollup_state)

# Metrics measured on slices of the data (migration 0010, ADR-070): apart from ``metrics``/``latest_metrics``, so
# every query, the filter language and the listing of unsliced metrics stay as they were. ``slice`` is the
# canonical label (``entities.slice_label``, at most 1,000 UTF-8 bytes); runs.summary["slices"] copies the latest.
slice_metrics = Table(
    "slice_metrics",
    metadata,
    Column("run_id", _ID, _run_fk(), nullable=False),
    Column("key", _KEY, nullable=False),
    Column("slice", String(1000), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Float),  # NULL means NaN
    Column("timestamp", Float, nullable=False),
    Index("ix_slice_metrics_run_key_slice_step", "run_id", "key", "slice", "step"),
)

latest_slice_metrics = Table(
    "latest_slice_metrics",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("key", _KEY, primary_key=True),
    Column("slice", String(1000), primary_key=True),
    Column("value", Float),  # NULL means NaN
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Float, nullable=False),
)

SLICE_TABLES = (slice_metrics, latest_slice_metrics)

tags = Table(
    "tags",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("tag", _KEY, primary_key=True),
    Index("ix_tags_tag_run", "tag", "run_id"),  # covering, like the others: `tag = x` never reads the table
)

data_inputs = Table(
    "data_inputs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", _ID, _run_fk(), nullable=False),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("path", Text),
    Column("hash", String(100), nullable=False),
    Column("size", BigInteger),
    Column("schema", Text),  # JSON
    Index("ix_data_inputs_run", "run_id"),
    Index("ix_data_inputs_hash", "hash"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("hash", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
)

# Model versions (migration 0007; the integer-versioned ``models`` table of 0001 was folded into it). A version's
# row is written once: only ``stage`` changes afterwards, and every change of a stage or an alias appends a row
# to ``model_events`` in the same transaction. The store has no statement that updates or deletes an event.
model_versions = Table(
    "model_versions",
    metadata,
    Column("name", _KEY, primary_key=True),
    Column("version", String(32), primary_key=True),  # MAJOR.MINOR.PIPELINE
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("pipeline", Integer, nullable=False),
    Column("run_id", _ID, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("artifact_hash", String(100), nullable=False),
    Column("format", String(16), nullable=False),
    Column("flavor", String(50), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("lineage", Text, nullable=False),  # JSON: ModelLineage.to_dict()
    Column("data_fingerprint", String(100), nullable=False),
    Column("schema_fingerprint", String(100), nullable=False),
    Column("parents", Text, nullable=False),  # JSON list of NAME:VERSION
    Column("stage", String(16), nullable=False, default="none"),
    Column("created", Float, nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_model_versions_order", "name", "major", "minor", "pipeline"),
    Index("ix_model_versions_run", "run_id"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", _KEY, primary_key=True),
    Column("alias", _KEY, primary_key=True),
    Column("version", String(32), nullable=False),
)

model_events = Table(
    "model_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _KEY, nullable=False),
    Column("version", String(32), nullable=False),
    Column("change", String(16), nullable=False),  # alias | stage
    Column("label", _KEY, nullable=False),  # the alias, or "stage"
    Column("from_value", String(32)),
    Column("to_value", String(32)),
    Column("who", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("forced", Boolean, nullable=False, default=False),
    Index("ix_model_events_name", "name", "id"),
)

MODEL_TABLES = (model_versions, model_aliases, model_events)

# Which run or model version of another tracking system (MLflow) is which of ours (migration 0008, ADR-062). A
# run's row is written in the transaction that writes the run, so a killed import leaves neither. ``location`` is
# the other store's address with any password masked; ``revision`` digests what the remote record looked like
# when it was copied (status, end time, counts), so a re-import copies only what changed since.
external_ids = Table(
    "external_ids",
    metadata,
    Column("system", String(32), primary_key=True),  # mlflow
    Column("location", String(500), primary_key=True),
    Column("kind", String(16), primary_key=True),  # run | model_version
    Column("remote_id", _KEY, primary_key=True),
    Column("local_id", _KEY, nullable=False),
    Column("revision", String(200), nullable=False, default=""),
    Column("at", Float, nullable=False),
    Index("ix_external_ids_local", "kind", "local_id"),
)

# Offline-first sync (migration 0011, ADR-084..086). ``tag_changes`` keeps the last add or removal of each tag of a
# run (a removal is a tombstone, so a tag deleted on one side stays deleted after a merge); ``note_history`` keeps
# every note a run had, stamped, so a note replaced by a merge is never lost; ``sync_runs`` is the watermark of the
# local store per remote: the revision of each run on both sides when it was last synced; ``sync_remotes`` the
# time of the last push and pull per remote. ``remote`` is the remote's URL with any password masked.
tag_changes = Table(
    "tag_changes",
    metadata,
    Column("run_id", _ID, _run_fk(), primary_key=True),
    Column("tag", _KEY, primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("at", Float, nullable=False),
)

note_history = Table(
    "note_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", _ID, _run_fk(), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_note_history_run", "run_id"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("remote", String(500), primary_key=True),
    Column("run_id", _ID, primary_key=True),
    Column("local_revision", Integer, nullable=False),
    Column("remote_revision", Integer, nullable=False),
    Column("at", Float, nullable=False),
)

sync_remotes = Table(
    "sync_remotes",
    metadata,
    Column("remote", String(500), primary_key=True),
    Column("pushed_at", Float),
    Column("pulled_at", Float),
)

SYNC_TABLES = (tag_changes, note_history, sync_runs, sync_remotes)

hash_cache = Table(
    "hash_cache",
    metadata,
    Column("path", String(2000), primary_key=True),
    Column("algorithm", String(32), primary_key=True),
    Column("device", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("digest", String(200), nullable=False),
)

#: Tables that hold run data, children first (the order a delete or a truncate must follow).
RUN_CHILD_TABLES = (params, param_history, metrics, latest_metrics, slice_metrics, latest_slice_metrics, tags,
                    data_inputs, artifacts, tag_changes, note_history)

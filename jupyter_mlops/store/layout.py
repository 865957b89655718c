"""The stored schema's version, by name, for every reader of the store. Standard library only.

:mod:`.migrations` (SQLAlchemy) applies these migrations in this order, and :mod:`.quick_list` (``sqlite3``, for a
fast cold ``runs list``) reads only a database at exactly this version: both take the list from here, so adding a
migration moves both at once and the quick listing steps aside until its statements are checked against the new
schema (tests/unit/store/test_quick_list.py compares it with the full store on one database).
"""

from __future__ import annotations

#: Every migration this code knows, in the order they run; a name is never changed once released.
MIGRATION_NAMES = (
    "0001_initial",
    "0002_param_history",
    "0003_run_summary",
    "0004_covering_indexes",
    "0005_covering_tag_index",
    "0006_run_logging_errors",
    "0007_model_versions",
    "0008_external_ids",
    "0010_metric_slices",  # 0009 was reserved for work that needed no migration (ADR-070)
    "0011_sync",
    "0015_scale_indexes",  # 0012-0014 were reserved for parallel work that needed none; the order is this list
    "0016_param_text_index",
    "0017_metric_rollups",
)

#: The schema version this code writes: the number of migrations it knows.
SCHEMA_VERSION = len(MIGRATION_NAMES)

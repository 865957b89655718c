"""Make a store look as an older version left it: a migration's record removed and the version one step back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from jupyter_mlops.store.layout import SCHEMA_VERSION


def forget_migration(conn: Any, name: str) -> None:
    """Unrecord migration ``name`` (its DDL undone by the caller) so the next open applies it again."""
    conn.execute(text("DELETE FROM migrations WHERE name = :name"), {"name": name})
    conn.execute(text("UPDATE schema_info SET schema_version = :v"), {"v": SCHEMA_VERSION - 1})

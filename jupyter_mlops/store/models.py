"""The model registry on SQL: model versions, aliases and their append-only history (ADR-053, ADR-054).

:class:`SqlModels` is a mixin of :class:`~jupyter_mlops.store.sql.SqlStore` (it uses its ``_read``/``_write``
transactions), kept apart so each module has one job. Every statement is Core with bound parameters.

Assumptions:
    * A version row is inserted once and only its ``stage`` is ever updated; each stage or alias change appends
      one ``model_events`` row in the same transaction as the change, so the history cannot miss one. Nothing
      here updates or deletes an event.
    * Automatic numbering reads the newest version inside the write transaction (SQLite's ``BEGIN IMMEDIATE``
      serialises writers; on PostgreSQL two racing registrations of one model collide on the primary key and
      the loser gets a one-line Conflict, never a duplicate).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, select, update

from jupyter_mlops.entities import ModelEvent, ModelLineage, ModelVersion
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.model_rules import (
    check_model_name,
    check_stage,
    format_version,
    next_version,
    parse_model_ref,
    parse_version,
)

T = TypeVar("T")
_V = s.model_versions.c
_A = s.model_aliases.c
_E = s.model_events.c
_NEWEST_FIRST = (_V.major.desc(), _V.minor.desc(), _V.pipeline.desc())


class SqlModels:
    """Model-registry primitives of the :class:`~jupyter_mlops.store.base.Store` contract, on SQL."""

    clock: Callable[[], float]
    _read: Callable[..., Any]
    _write: Callable[..., Any]

    def create_model_version(self, name: str, *, artifact_hash: str, format: str,  # noqa: A002
                             flavor: str, size: int, lineage: ModelLineage, parents: Sequence[str] = (),
                             version: str | None = None, created_by: str = "") -> ModelVersion:
        """Register a new immutable version (see :meth:`Store.create_model_version`)."""
        check_model_name(name)
        explicit = None if version is None else parse_version(version)
        parent_refs = [parse_model_ref(p) for p in parents]
        if any(not p.version for p in parent_refs):
            raise InvalidInput("parents must be NAME:VERSION (resolve aliases and 'latest' first)")
        now = self.clock()

        def work(conn: Connection) -> ModelVersion:
            for parent in parent_refs:
                _version_row(conn, parent.name, str(parent.version))
            newest = conn.execute(select(_V.major, _V.minor, _V.pipeline, _V.schema_fingerprint,
                                         _V.data_fingerprint).where(_V.name == name)
                                  .order_by(*_NEWEST_FIRST).limit(1)).first()
            if explicit is not None:
                parts = explicit
                taken = conn.scalar(select(_V.version).where(_V.name == name, _V.version == format_version(parts)))
                if taken is not None:
                    raise Conflict(f"model {name!r} already has version {taken}; versions are immutable, "
                                   "register a new one")
            else:
                parts = next_version(None if newest is None else (newest.major, newest.minor, newest.pipeline),
                                     "" if newest is None else newest.schema_fingerprint,
                                     "" if newest is None else newest.data_fingerprint,
                                     lineage.schema_fingerprint, lineage.data_fingerprint)
            row = dict(
                name=name, version=format_version(parts), major=parts[0], minor=parts[1], pipeline=parts[2],
                run_id=lineage.run_id, artifact_hash=artifact_hash, format=format, flavor=flavor, size=int(size),
                lineage=json.dumps(lineage.to_dict(), default=str), data_fingerprint=lineage.data_fingerprint,
                schema_fingerprint=lineage.schema_fingerprint, parents=json.dumps([str(p) for p in parent_refs]),
                stage="none", created=now, created_by=created_by,
            )
            if lineage.run_id is not None and conn.scalar(select(s.runs.c.id).where(
                    s.runs.c.id == lineage.run_id)) is None:
                raise NotFound(f"no run with id {lineage.run_id!r}")
            conn.execute(insert(s.model_versions).values(**row))
            return _entity(conn, conn.execute(select(s.model_versions).where(
                _V.name == name, _V.version == row["version"])).one())
        result: ModelVersion = self._write(work)
        return result

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """One version; NotFound names the model's newest version when the asked one is unknown."""
        wanted = format_version(parse_version(version))
        result: ModelVersion = self._read(lambda conn: _entity(conn, _version_row(conn, name, wanted)))
        return result

    def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Versions of one model (or all, by name), newest first."""
        query = select(s.model_versions)
        query = (query.where(_V.name == name) if name is not None else query).order_by(_V.name, *_NEWEST_FIRST)

        def work(conn: Connection) -> list[ModelVersion]:
            rows = conn.execute(query).all()
            aliases = _aliases(conn, None if name is None else [name])
            return [_entity(conn, row, aliases) for row in rows]
        result: list[ModelVersion] = self._read(work)
        return result

    def model_alias(self, name: str, alias: str) -> str:
        """The version an alias points at."""
        def work(conn: Connection) -> str:
            return _alias_version(conn, name, alias)
        result: str = self._read(work)
        return result

    def remove_model_alias(self, name: str, alias: str, *, who: str, note: str = "") -> ModelEvent:
        """Remove ``alias``; the removal (its version -> none) is appended to the history in the same transaction."""
        def work(conn: Connection) -> ModelEvent:
            current = _alias_version(conn, name, alias)
            conn.execute(delete(s.model_aliases).where(_A.name == name, _A.alias == alias))
            return _append_event(conn, ModelEvent(name, current, "alias", alias, current, None, who, self.clock(),
                                                  note))
        result: ModelEvent = self._write(work)
        return result

    def set_model_alias(self, name: str, alias: str, version: str, *, who: str, note: str = "",
                        forced: bool = False) -> ModelEvent:
        """Point ``alias`` at ``version``; the move is appended to the history in the same transaction."""
        check_model_name(alias, "alias")
        wanted = format_version(parse_version(version))

        def work(conn: Connection) -> ModelEvent:
            _version_row(conn, name, wanted)
            current = conn.scalar(select(_A.version).where(_A.name == name, _A.alias == alias))
            if current is None:
                conn.execute(insert(s.model_aliases).values(name=name, alias=alias, version=wanted))
            elif current != wanted:
                conn.execute(update(s.model_aliases).where(_A.name == name, _A.alias == alias)
                             .values(version=wanted))
            return _append_event(conn, ModelEvent(name, wanted, "alias", alias, current, wanted, who, self.clock(),
                                                  note, forced))
        result: ModelEvent = self._write(work)
        return result

    def set_model_stage(self, name: str, version: str, stage: str, *, who: str, note: str = "",
                        forced: bool = False) -> ModelEvent:
        """Move ``version`` to ``stage``; the change is appended to the history in the same transaction."""
        check_stage(stage)
        wanted = format_version(parse_version(version))

        def work(conn: Connection) -> ModelEvent:
            before = _version_row(conn, name, wanted).stage
            conn.execute(update(s.model_versions).where(_V.name == name, _V.version == wanted).values(stage=stage))
            return _append_event(conn, ModelEvent(name, wanted, "stage", "stage", before, stage, who, self.clock(),
                                                  note, forced))
        result: ModelEvent = self._write(work)
        return result

    def model_history(self, name: str) -> list[ModelEvent]:
        """Every alias and stage change, oldest first."""
        def work(conn: Connection) -> list[ModelEvent]:
            _require_model(conn, name)
            rows = conn.execute(select(s.model_events).where(_E.name == name).order_by(_E.id)).all()
            return [ModelEvent(r.name, r.version, r.change, r.label, r.from_value, r.to_value, r.who, r.at,
                               r.note or "", bool(r.forced)) for r in rows]
        result: list[ModelEvent] = self._read(work)
        return result


def _alias_version(conn: Connection, name: str, alias: str) -> str:
    found = conn.scalar(select(_A.version).where(_A.name == name, _A.alias == alias))
    if found is None:
        _require_model(conn, name)
        known = sorted(conn.scalars(select(_A.alias).where(_A.name == name)))
        hint = f" (aliases: {', '.join(known)})" if known else " (it has no aliases yet)"
        raise NotFound(f"model {name!r} has no alias {alias!r}{hint}")
    return str(found)


def _require_model(conn: Connection, name: str) -> None:
    if conn.scalar(select(_V.name).where(_V.name == name).limit(1)) is None:
        raise NotFound(f"no model named {name!r}")


def _version_row(conn: Connection, name: str, version: str) -> Any:
    row = conn.execute(select(s.model_versions).where(_V.name == name, _V.version == version)).first()
    if row is None:
        _require_model(conn, name)
        newest = conn.scalar(select(_V.version).where(_V.name == name).order_by(*_NEWEST_FIRST).limit(1))
        raise NotFound(f"model {name!r} has no version {version} (newest: {newest})")
    return row


def _aliases(conn: Connection, names: list[str] | None) -> dict[tuple[str, str], list[str]]:
    query = select(_A.name, _A.version, _A.alias).order_by(_A.alias)
    if names is not None:
        query = query.where(_A.name.in_(names))
    out: dict[tuple[str, str], list[str]] = {}
    for name, version, alias in conn.execute(query):
        out.setdefault((name, version), []).append(alias)
    return out


def _entity(conn: Connection, row: Any, aliases: dict[tuple[str, str], list[str]] | None = None) -> ModelVersion:
    if aliases is None:
        aliases = _aliases(conn, [row.name])
    return ModelVersion(
        name=row.name, version=row.version, artifact_hash=row.artifact_hash, format=row.format, flavor=row.flavor,
        size=int(row.size), run_id=row.run_id, lineage=ModelLineage.from_dict(json.loads(row.lineage)),
        parents=tuple(json.loads(row.parents)), stage=row.stage,
        aliases=tuple(aliases.get((row.name, row.version), ())),
        created=row.created, created_by=row.created_by,
    )


def _append_event(conn: Connection, event: ModelEvent) -> ModelEvent:
    conn.execute(insert(s.model_events).values(
        name=event.name, version=event.version, change=event.change, label=event.label,
        from_value=event.from_value, to_value=event.to_value, who=event.who, at=event.at or time.time(),
        note=event.note, forced=event.forced))
    return event

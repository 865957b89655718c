"""The one JSON shape of the model registry, shared by ``jupyter-mlops models ... --format json`` and the REST API.

Written once here so the CLI and the sidebar's ``GET models...`` replies cannot drift apart (ADR-057): each
function turns the answer of a :mod:`jupyter_mlops.app.models` use case into plain dicts and lists. Non-finite
metrics are left as floats; each face writes them as ``null`` (the CLI through ``json_safe``, the server
through orjson).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_mlops.app.models import Lineage, ModelSummary, VersionDetail
    from jupyter_mlops.entities import ModelEvent

__all__ = ["detail_json", "history_json", "lineage_json", "models_json", "versions_json"]


def models_json(found: list[ModelSummary]) -> dict[str, Any]:
    """``models list``: ``{"models": [{name, latest, versions, aliases, stages, updated}]}``."""
    return {"models": [vars(m) for m in found]}


def detail_json(detail: VersionDetail) -> dict[str, Any]:
    """One version: its fields, its effective lineage and the reasons it is incomplete (``lineage_gaps``)."""
    return {**detail.version.to_dict(), "lineage": detail.lineage.to_dict(), "lineage_gaps": detail.gaps}


def versions_json(details: list[VersionDetail]) -> dict[str, Any]:
    """``models show``: ``{"versions": [...]}``, newest first."""
    return {"versions": [detail_json(d) for d in details]}


def lineage_json(graph: Lineage) -> dict[str, Any]:
    """``models lineage``: ``{"model", "run" (id, name, status, or null when deleted/none), "parents": [...]}``."""
    run = graph.run
    return {"model": detail_json(graph.detail),
            "run": None if run is None else {"id": run.id, "name": run.name, "status": run.status.value},
            "parents": [lineage_json(p) for p in graph.parents]}


def history_json(events: list[ModelEvent]) -> dict[str, Any]:
    """``models history``: ``{"history": [...]}``, oldest first."""
    return {"history": [e.to_dict() for e in events]}

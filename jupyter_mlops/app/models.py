"""Model registry use cases: list, show, lineage, alias, stage, history, and resolving a reference.

Each function is one behaviour over a :class:`~jupyter_mlops.app.workspace.Workspace`, written once for every
face. Wherever a version is named, the one parser of :mod:`jupyter_mlops.store.model_rules` reads it:
``NAME:MAJOR.MINOR.PIPELINE``, ``NAME:latest`` or ``NAME@ALIAS``. Promotion (an alias or the ``staging`` and
``production`` stages) refuses a version whose lineage is incomplete unless forced with a reason, which goes into
the append-only history (ADR-054).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jupyter_mlops.errors import Conflict, InvalidInput
from jupyter_mlops.store.model_rules import check_model_name, check_stage, parse_model_ref
from jupyter_mlops.tracking.models import current_user, effective_lineage, lineage_gaps

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import ModelEvent, ModelLineage, ModelVersion, Run

__all__ = [
    "Lineage",
    "ModelSummary",
    "VersionDetail",
    "model_history",
    "list_models",
    "remove_alias",
    "resolve_version",
    "set_alias",
    "set_stage",
    "show_model",
    "version_lineage",
]

#: Stages that promote a version (archiving one never needs complete lineage).
PROMOTING_STAGES = ("staging", "production")


@dataclass(frozen=True)
class ModelSummary:
    """One registered model: its newest version, how many versions, its aliases and staged versions."""

    name: str
    latest: str
    versions: int
    aliases: dict[str, str]
    stages: dict[str, str]
    updated: float


@dataclass(frozen=True)
class VersionDetail:
    """One version with the lineage the checks use (run facts filled in) and why it is incomplete, if it is."""

    version: ModelVersion
    lineage: ModelLineage
    gaps: list[str]


@dataclass(frozen=True)
class Lineage:
    """The graph behind a version: its data and run, and its parents' lineage in turn."""

    detail: VersionDetail
    run: Run | None
    parents: list[Lineage] = field(default_factory=list)


def resolve_version(workspace: Workspace, ref: str) -> ModelVersion:
    """The version ``ref`` names (``NAME:VERSION``, ``NAME:latest``, ``NAME@ALIAS``).

    Raises:
        InvalidInput: a malformed reference.
        NotFound: an unknown model, version or alias.
    """
    return workspace.store.resolve_model(parse_model_ref(ref))


def list_models(workspace: Workspace) -> list[ModelSummary]:
    """Every registered model, by name."""
    grouped: dict[str, list[ModelVersion]] = {}
    for version in workspace.store.model_versions():
        grouped.setdefault(version.name, []).append(version)
    return [ModelSummary(
        name=name, latest=versions[0].version, versions=len(versions),
        aliases={alias: v.version for v in versions for alias in v.aliases},
        stages={v.version: v.stage for v in versions if v.stage != "none"},
        updated=max(v.created for v in versions),
    ) for name, versions in sorted(grouped.items())]


def show_model(workspace: Workspace, ref: str) -> list[VersionDetail]:
    """``NAME``: every version, newest first; ``NAME:VERSION`` (or ``:latest``, ``@ALIAS``): that one version.

    Raises:
        InvalidInput: a malformed reference.
        NotFound: an unknown model, version or alias.
    """
    parsed = parse_model_ref(ref, need_version=False)
    store = workspace.store
    if parsed.names_a_version:
        versions = [store.resolve_model(parsed)]
    else:
        versions = store.model_versions(parsed.name)
        if not versions:
            store.resolve_model(f"{parsed.name}:latest")  # the one "no model named ..." error
    return [_detail(workspace, v) for v in versions]


def version_lineage(workspace: Workspace, ref: str) -> Lineage:
    """The lineage graph of one version: data -> run -> model, and the same for each parent model."""
    from jupyter_mlops.errors import NotFound

    store = workspace.store
    detail = _detail(workspace, resolve_version(workspace, ref))
    run = None
    if detail.version.run_id:
        try:
            run = store.get_run(detail.version.run_id)
        except NotFound:
            run = None
    # A parent was registered before its child, so the graph has no cycle.
    parents = [version_lineage(workspace, parent) for parent in detail.version.parents]
    return Lineage(detail=detail, run=run, parents=parents)


def set_alias(workspace: Workspace, ref: str, alias: str, *, force: bool = False, reason: str = "",
              note: str = "") -> ModelEvent:
    """Point ``alias`` (e.g. ``champion``) at the version ``ref`` names, recording who, when, from -> to and why.

    Raises:
        Conflict: the version's lineage is incomplete and ``force`` is not set (the message lists what is missing).
        InvalidInput: ``force`` without a ``reason``; a malformed reference or alias.
    """
    version = resolve_version(workspace, ref)
    forced, text = _check_promotion(workspace, version, f"alias {alias!r}", force, reason, note)
    return workspace.store.set_model_alias(version.name, alias, version.version, who=current_user(), note=text,
                                           forced=forced)


def remove_alias(workspace: Workspace, name: str, alias: str, *, note: str = "") -> ModelEvent:
    """Remove ``alias`` from model ``name``, recording who, when, which version held it, and why (``note``).

    Never refused: taking an alias away promotes nothing (as archiving is never refused).

    Raises:
        NotFound: no such model, or it has no such alias.
        InvalidInput: a malformed name or alias.
    """
    model = parse_model_ref(name, need_version=False).name
    check_model_name(alias, "alias")
    return workspace.store.remove_model_alias(model, alias, who=current_user(), note=note)


def set_stage(workspace: Workspace, ref: str, stage: str, *, force: bool = False, reason: str = "",
              note: str = "") -> ModelEvent:
    """Move the version ``ref`` names to ``staging``, ``production`` or ``archived``, recording the change.

    Raises:
        Conflict: promoting (staging, production) a version whose lineage is incomplete, without ``force``.
        InvalidInput: an unknown stage; ``force`` without a ``reason``; a malformed reference.
    """
    check_stage(stage)
    version = resolve_version(workspace, ref)
    forced, text = False, note
    if stage in PROMOTING_STAGES:
        forced, text = _check_promotion(workspace, version, f"stage {stage!r}", force, reason, note)
    return workspace.store.set_model_stage(version.name, version.version, stage, who=current_user(), note=text,
                                           forced=forced)


def model_history(workspace: Workspace, name: str) -> list[ModelEvent]:
    """Every alias and stage change of a model, oldest first (the history is append-only).

    Raises:
        NotFound: no model of that name.
    """
    return workspace.store.model_history(parse_model_ref(name, need_version=False).name)


def _detail(workspace: Workspace, version: ModelVersion) -> VersionDetail:
    lineage = effective_lineage(workspace.store, version)
    return VersionDetail(version=version, lineage=lineage, gaps=lineage_gaps(lineage))


def _check_promotion(workspace: Workspace, version: ModelVersion, target: str, force: bool, reason: str,
                     note: str) -> tuple[bool, str]:
    """``(forced, history note)``; refuses an incomplete lineage unless forced with a reason."""
    reason = " ".join(str(reason or "").split())
    if force and not reason:
        raise InvalidInput("--force needs a reason (--reason TEXT): it is recorded in the model's history")
    gaps = lineage_gaps(effective_lineage(workspace.store, version))
    if not gaps:
        return False, note
    if not force:
        raise Conflict(f"refusing to give {version.ref} {target}: lineage incomplete ({'; '.join(gaps)}); "
                       "pass --force with --reason to promote it anyway")
    forced_note = f"forced ({'; '.join(gaps)}): {reason}"
    return True, f"{forced_note}; {note}" if note else forced_note

"""Diff the artifacts of two runs: one use case for the CLI (``diff-artifact``) and the REST API (ADR-104).

:func:`diff_artifacts` resolves both runs, pairs their artifacts by name (one name, or every name either run has)
and diffs each pair by kind through :mod:`jupyter_mlops.comparing.artifacts`. A blob is read only when both runs
have the artifact, the hashes differ, and it is within its kind's size limit: identical artifacts cost nothing.

Errors: an unknown run or artifact name raises (``NotFound``); when one named artifact cannot be diffed (too
large, binary posing as text, invalid JSON) that is ``InvalidInput`` with one line. Over every artifact of two
runs, such a problem is that artifact's ``error`` and the others are still diffed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_mlops.comparing.artifacts import MAX_BYTES, ArtifactDiffError, diff_bytes, kind_of
from jupyter_mlops.errors import NotFound

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import Artifact, Run

__all__ = ["ArtifactDiff", "ArtifactDiffs", "diff_artifacts"]


@dataclass
class ArtifactDiff:
    """One artifact of two runs: ``status`` is ``identical``, ``changed``, ``added`` or ``removed``.

    ``diff`` is the kind's summary (:mod:`jupyter_mlops.comparing.artifacts`), None when nothing was diffed
    (identical, one-sided, or ``error``); ``images`` the PNGs of an image diff (``overlay``, ``side_by_side``).
    """

    name: str
    kind: str
    status: str
    hashes: tuple[str | None, str | None]
    sizes: tuple[int | None, int | None]
    diff: dict[str, Any] | None = None
    error: str | None = None
    images: dict[str, bytes] = field(default_factory=dict)

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        """JSON shape; with ``images``, the PNGs as base64 under ``images``."""
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "status": self.status,
                                "hashes": list(self.hashes), "sizes": list(self.sizes), "diff": self.diff,
                                "error": self.error}
        if images and self.images:
            data["images"] = {key: base64.b64encode(png).decode("ascii") for key, png in self.images.items()}
        return data


@dataclass
class ArtifactDiffs:
    """The artifact diffs of run ``b`` against run ``a``, by name."""

    a: str
    b: str
    artifacts: list[ArtifactDiff]

    def to_dict(self, images: bool = False) -> dict[str, Any]:
        """JSON shape (``jupyter-mlops diff-artifact --format json``, ``GET artifact-diff``)."""
        return {"a": self.a, "b": self.b, "artifacts": [item.to_dict(images) for item in self.artifacts]}


def _run(workspace: Workspace, ref: str) -> Run:
    store = workspace.store
    return store.get_run(store.resolve_run(ref.strip()))


def _read(workspace: Workspace, artifact: Artifact, kind: str) -> bytes:
    limit = MAX_BYTES.get(kind)
    if limit is not None and artifact.size > limit:
        raise ArtifactDiffError(f"artifact {artifact.path!r} is {artifact.size:,} bytes, over the {limit:,} byte "
                                f"limit of a {kind} diff")
    try:
        return bytes(workspace.blobs.get_bytes(artifact.hash))
    except NotFound:
        raise ArtifactDiffError(f"artifact {artifact.path!r}: its blob {artifact.hash} is missing from the blob "
                                "store") from None
    except OSError as exc:
        raise ArtifactDiffError(f"artifact {artifact.path!r}: cannot read its blob: {exc.strerror}") from None


def _pair(workspace: Workspace, name: str, left: Artifact | None, right: Artifact | None) -> ArtifactDiff:
    hashes = (left.hash if left else None, right.hash if right else None)
    sizes = (left.size if left else None, right.size if right else None)
    if left is None or right is None:
        return ArtifactDiff(name, kind_of(name), "added" if left is None else "removed", hashes, sizes)
    if left.hash == right.hash:
        return ArtifactDiff(name, kind_of(name), "identical", hashes, sizes)
    kind = kind_of(name)
    if kind == "binary":  # no suffix told: sniff the baseline's first bytes
        kind = kind_of(name, _read(workspace, left, "text")[:8192] if left.size <= MAX_BYTES["text"] else b"\x00")
    a, b = _read(workspace, left, kind), _read(workspace, right, kind)
    summary, images = diff_bytes(kind, a, b, name)
    return ArtifactDiff(name, kind, "changed", hashes, sizes, summary, images=images)


def diff_artifacts(workspace: Workspace, run_a: str, run_b: str, names: Sequence[str] = ()) -> ArtifactDiffs:
    """Diff the artifacts of run ``run_b`` against run ``run_a``.

    Args:
        workspace: the project's stores.
        run_a: the baseline run (id, unique prefix or unique name).
        run_b: the run compared with it.
        names: artifact names (``log_artifact``'s paths) to diff; default every name either run has.

    Raises:
        NotFound: a run does not exist, or neither run has a named artifact.
        Conflict: a run reference is ambiguous.
        InvalidInput: a named artifact cannot be diffed (the one line says why).
    """
    first, second = _run(workspace, run_a), _run(workspace, run_b)
    left = {a.path: a for a in first.artifacts}
    right = {a.path: a for a in second.artifacts}
    chosen = list(dict.fromkeys(names)) if names else sorted(left.keys() | right.keys())
    out = []
    for name in chosen:
        if name not in left and name not in right:
            known = ", ".join(sorted(left.keys() | right.keys())[:10]) or "none"
            raise NotFound(f"neither run has an artifact {name!r} (artifacts: {known})")
        try:
            out.append(_pair(workspace, name, left.get(name), right.get(name)))
        except ArtifactDiffError as exc:
            if names:
                raise
            out.append(ArtifactDiff(name, kind_of(name), "changed", (left[name].hash, right[name].hash),
                                    (left[name].size, right[name].size), error=exc.message))
    return ArtifactDiffs(first.id, second.id, out)

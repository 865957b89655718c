"""The local modules a reproduction restores: the versions the run loaded, put first on the kernel's import path.

Assumptions (ADR-103):
    * A run's code snapshot lists the project's own modules it loaded (``modules``: import name, path relative to
      its import root, blob hash; ADR-102). A reproduction writes each recorded source to ``path`` inside a private
      folder that the kernel puts first on ``sys.path`` before any cell runs, so ``import utils`` finds the
      recorded version whatever ``utils.py`` in the notebook's folder says now. The project's files are never
      written.
    * Each module is also compared with its file as it is now (the recorded ``file``): ``same``, ``differs``,
      ``missing`` (the file is gone), or ``unavailable`` when the recorded source could not be read back (not
      stored, too large when loaded): then the current file is what runs, and the verdict says so.
    * A recorded path that is not a plain relative ``.py`` path (a tampered snapshot) is never written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_mlops.capture.redact import redact_source
from jupyter_mlops.comparing.modules import snapshot_modules
from jupyter_mlops.errors import InvalidInput, NotFound

__all__ = ["ModuleRestore", "RestoredModule", "recorded_modules", "write_modules"]

SAME, DIFFERS, MISSING, UNAVAILABLE = "same", "differs", "missing", "unavailable"


@dataclass(frozen=True)
class RestoredModule:
    """One recorded module: ``status`` compares the current file with the recorded version."""

    name: str
    path: str
    status: str

    @property
    def restored(self) -> bool:
        """Whether the recorded version is what the reproduction imports."""
        return self.status != UNAVAILABLE

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (in ``Reproduction.to_dict()["modules"]``)."""
        return {"name": self.name, "path": self.path, "status": self.status, "restored": self.restored}


@dataclass(frozen=True)
class ModuleRestore:
    """What to write (``sources``: relative path → bytes) and what was found (``modules``)."""

    sources: Mapping[str, bytes]
    modules: tuple[RestoredModule, ...]

    @property
    def differing(self) -> list[RestoredModule]:
        """Modules whose current file differs from (or lacks) the recorded version."""
        return [m for m in self.modules if m.status in (DIFFERS, MISSING)]


def _safe_path(path: Any) -> str | None:
    if not isinstance(path, str) or not path.endswith(".py") or "\\" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in pure.parts):
        return None
    return pure.as_posix()


def _current_status(file: Any, recorded: bytes) -> str:
    if not isinstance(file, str) or not os.path.isfile(file):
        return MISSING
    try:
        current = Path(file).read_bytes()
    except OSError:
        return MISSING
    # A redacted run stored the masked source: the same file masks to the same bytes.
    return SAME if recorded in (current, redact_source(current)) else DIFFERS


def recorded_modules(blobs: Any, code: Mapping[str, Any] | None) -> ModuleRestore:
    """The recorded module versions of a code snapshot, read from ``blobs``, and how the current files compare."""
    sources: dict[str, bytes] = {}
    found = []
    for name, entry in sorted(snapshot_modules(code).items()):
        path = _safe_path(entry.get("path"))
        if path is None:
            continue
        data = None
        digest = entry.get("hash")
        if isinstance(digest, str) and blobs is not None:
            try:
                data = blobs.get_bytes(digest)
            except (NotFound, InvalidInput, OSError):
                data = None
        if data is None:
            found.append(RestoredModule(name, path, UNAVAILABLE))
            continue
        sources[path] = data
        found.append(RestoredModule(name, path, _current_status(entry.get("file"), data)))
    return ModuleRestore(sources, tuple(found))


def write_modules(folder: Path, sources: Mapping[str, bytes]) -> None:
    """Write the recorded sources under ``folder`` (paths were checked by :func:`recorded_modules`)."""
    for path, data in sources.items():
        target = folder.joinpath(*PurePosixPath(path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

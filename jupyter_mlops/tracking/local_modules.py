"""The local modules of a run: every version of the project's own modules the kernel loaded while it was open.

Assumptions:
    * Which modules are local, and when one was (re)loaded, is :mod:`jupyter_mlops.capture.modules` (ADR-102).
    * :meth:`ModuleRecorder.observe` is on the cell's path: it scans (microseconds when nothing was imported) and
      reads each new version's bytes right away, keyed by the file's ``(path, mtime_ns, size)``, so the version kept
      is the one just loaded even when the next cell edits the file (a read queued behind the capture thread's
      environment snapshot read the edit, once). Only a cell that imports or reloads a local module pays a read;
      storing (redaction, hash, blob write) happens when a snapshot is written, on the writer thread.
    * A run's modules are those loaded when it started (imported before ``%track start``, still in use) plus every
      version loaded while it is open. Its code snapshot lists each module once, with the last version loaded and,
      when it was reloaded during the run, the earlier versions' hashes in load order (``versions``).
    * Sources are stored through ``ActiveRun.put_module_source`` (redacted, content-addressed: once per version);
      each version is stored once per run, however many heartbeats refresh the snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from jupyter_mlops.capture.modules import LoadedModule, ModuleWatch, SourceReader

__all__ = ["ModuleRecorder"]


class _Version:
    """One load of a module and, once read, its source bytes."""

    __slots__ = ("data", "digest", "loaded", "read", "size")

    def __init__(self, loaded: LoadedModule) -> None:
        self.loaded = loaded
        self.data: bytes | None = None
        self.size: int | None = None
        self.read = False
        self.digest: tuple[int, str] | None = None  # (id of the put function's owner, blob hash)


class ModuleRecorder:
    """Watches one interpreter's local modules and lists the versions a run loaded.

    Args:
        watch: the module watch (default: this interpreter's ``sys.modules``).
    """

    def __init__(self, watch: ModuleWatch | None = None) -> None:
        self._watch = watch
        self._reader = SourceReader()
        self._current: dict[str, _Version] = {}
        self._run: dict[str, list[_Version]] | None = None
        self._lock = threading.Lock()

    def observe(self) -> None:
        """Note modules loaded or reloaded since the last call (cheap; on the cell's path). Never raises."""
        if self._watch is None:
            self._watch = ModuleWatch()
        for loaded in self._watch.scan():
            version = _Version(loaded)
            with self._lock:
                self._current[loaded.name] = version
                if self._run is not None:
                    self._run.setdefault(loaded.name, []).append(version)
            self._read(version)

    def start_run(self) -> None:
        """A run starts: its modules are those loaded now, plus whatever loads until :meth:`stop_run`."""
        self.observe()
        with self._lock:
            self._run = {name: [version] for name, version in self._current.items()}

    def stop_run(self) -> None:
        """The run ended: stop collecting versions for it."""
        with self._lock:
            self._run = None

    def entries(self, put: Callable[[bytes], str], owner: Any) -> list[dict[str, Any]]:
        """The run's modules for its code snapshot, each version stored with ``put`` (once per ``owner``)."""
        with self._lock:
            chosen = {name: list(versions) for name, versions in (self._run or {}).items()}
        out = []
        for name in sorted(chosen):
            hashes = [self._digest(version, put, owner) for version in chosen[name]]
            last = chosen[name][-1]
            entry: dict[str, Any] = {"name": name, "path": last.loaded.path, "file": last.loaded.file,
                                     "hash": hashes[-1], "size": last.size}
            if last.data is None:
                entry["skipped"] = "missing, unreadable or larger than 2 MiB when it was loaded"
            distinct = [h for i, h in enumerate(hashes) if h is not None and h not in hashes[:i]]
            if len(distinct) > 1:
                entry["versions"] = distinct
            out.append(entry)
        return out

    def _read(self, version: _Version) -> None:
        if not version.read:
            data = self._reader.read(version.loaded.file)
            version.data, version.size, version.read = data, (len(data) if data is not None else None), True

    def _digest(self, version: _Version, put: Callable[[bytes], str], owner: Any) -> str | None:
        self._read(version)
        if version.data is None:
            return None
        if version.digest is None or version.digest[0] != id(owner):
            version.digest = (id(owner), put(version.data))
        return version.digest[1]

"""The project's own modules a run imported: which loaded modules are local, and when one was (re)loaded.

A change to ``utils.py`` changes what a notebook computes as surely as a change to a cell, so a run records the
source of every *local* module it had loaded (ADR-102). The rule:

* a module is local when its ``__file__`` is a ``.py`` source file under a *root* and under no *installed* folder;
* roots are the project root (``config.find_project_root`` from the working directory), the working directory and
  every ``sys.path`` entry that is not an installed folder (``sys.path.insert(0, "../src")`` makes ``src`` a root);
* installed folders are the interpreter's prefixes (``sys.prefix``, ``sys.base_prefix``, ``sys.exec_prefix``: a
  ``.venv`` inside the project is installed code), the ``sysconfig`` stdlib/purelib/platlib paths, the site
  folders, and any folder named ``site-packages`` or ``dist-packages``;
* ``__main__`` (a script's own source is its code snapshot already) and this package (the tracker, not the
  project's code) are never local; nor are compiled extensions (``.so``/``.pyd``: no source to diff).

Assumptions:
    * :meth:`ModuleWatch.scan` runs on the kernel's cell path after every cell, so it must cost microseconds: it
      walks ``sys.modules`` only when its size changed (new imports), and otherwise checks the few local modules
      it knows. A reload (``importlib.reload``, IPython's ``autoreload``) keeps the module object but replaces its
      ``__spec__``; a module deleted from ``sys.modules`` and imported again is a new object: both count as a new
      version.
    * A module's source is read when it is first seen after a (re)load, off the cell's path, keyed by the file's
      ``(path, mtime_ns, size)``: the version read is the one loaded unless the file was edited in the moment
      between the import and that read. Later edits without a reload are not what the kernel runs, and are not
      read.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.config import find_project_root

__all__ = [
    "MAX_MODULE_BYTES",
    "LoadedModule",
    "ModuleWatch",
    "SourceReader",
    "installed_folders",
    "module_path",
]

#: Larger module files are recorded by hash only (a generated table is no code a person diffs).
MAX_MODULE_BYTES = 2 << 20
#: Top-level packages that are never the project's code.
NEVER_LOCAL = frozenset({"__main__", "jupyter_mlops"})
_INSTALLED_NAMES = frozenset({"site-packages", "dist-packages"})


@dataclass(frozen=True, slots=True)
class LoadedModule:
    """One load of a local module: its import name, its file and its path relative to its import root.

    ``path`` is where the module lives for ``import name`` (``pkg/utils.py``, ``pkg/__init__.py``): what
    ``reproduce`` writes into a folder it puts first on the kernel's ``sys.path``.
    """

    name: str
    file: str
    path: str


def module_path(name: str, file: str) -> str:
    """The path of ``file`` relative to the folder ``import name`` finds it from.

    Example:
        >>> module_path("pkg.utils", "/p/src/pkg/utils.py"), module_path("pkg", "/p/src/pkg/__init__.py")
        ('pkg/utils.py', 'pkg/__init__.py')
    """
    parts = name.split(".")
    if os.path.basename(file) == "__init__.py":
        return "/".join([*parts, "__init__.py"])
    return "/".join(parts[:-1] + [parts[-1] + ".py"])


def installed_folders() -> tuple[str, ...]:
    """Folders whose modules are installed code (interpreter prefixes, stdlib, site folders), resolved."""
    found: set[str] = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            found.add(sysconfig.get_path(key))
        except KeyError:
            continue
    try:
        found.update(site.getsitepackages())
        found.add(site.getusersitepackages())
    except AttributeError:  # an embedded or virtualenv-old site module
        pass
    # Both spellings: a module's ``__file__`` usually names the unresolved one, which is checked before resolving.
    return tuple(sorted({form for folder in found if folder for form in (folder, os.path.realpath(folder))}))


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class ModuleWatch:
    """Finds the local modules of one interpreter's ``sys.modules``, and their new versions, cheaply per call.

    Args:
        modules: the module table to watch (``sys.modules``).
        path: the import path (``sys.path``), re-read when it changes.
        cwd: the working directory (default: the process's, at each classification).
    """

    def __init__(self, modules: Mapping[str, Any] | None = None, path: list[str] | None = None,
                 cwd: str | None = None) -> None:
        self._modules = sys.modules if modules is None else modules
        self._path = sys.path if path is None else path
        self._cwd = cwd
        self._count = -1
        self._seen: set[str] = set()
        # name -> (id of the module object, id of its __spec__) as last seen: a change is a new load.
        self._local: dict[str, tuple[int, int]] = {}
        self._roots: tuple[str, ...] = ()
        self._roots_key: tuple[Any, ...] | None = None
        self._installed = installed_folders()

    def scan(self) -> list[LoadedModule]:
        """Local modules loaded (or reloaded) since the last scan; the first scan returns every loaded one."""
        modules = self._modules
        found: list[LoadedModule] = []
        for name, (module_id, spec_id) in self._local.items():
            module = modules.get(name)
            if module is None:
                continue  # removed: an import that brings it back is a new object, seen below or next time
            if id(module) != module_id or id(getattr(module, "__spec__", None)) != spec_id:
                self._local[name] = (id(module), id(getattr(module, "__spec__", None)))
                found.append(LoadedModule(name, str(module.__file__), module_path(name, str(module.__file__))))
        if len(modules) != self._count:
            # A copy (one C call, atomic under the GIL): another thread may import while this walks it.
            table = dict(modules)
            self._count = len(table)
            fresh = table.keys() - self._seen
            self._seen.update(fresh)
            for name in sorted(fresh):
                module = table.get(name)
                loaded = self._classify(name, module) if module is not None else None
                if loaded is not None:
                    self._local[name] = (id(module), id(getattr(module, "__spec__", None)))
                    found.append(loaded)
        return found

    def _classify(self, name: str, module: Any) -> LoadedModule | None:
        if name.partition(".")[0] in NEVER_LOCAL:
            return None
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not file.endswith(".py"):
            return None
        if any(_under(file, folder) for folder in self._installed):
            return None  # most modules: installed code, told without resolving the path
        real = os.path.realpath(file)
        if any(_under(real, folder) for folder in self._installed) or _INSTALLED_NAMES & set(Path(real).parts):
            return None
        if not any(_under(real, root) for root in self.roots()):
            return None
        return LoadedModule(name, real, module_path(name, real))

    def roots(self) -> tuple[str, ...]:
        """The folders local modules live under (project root, working directory, non-installed ``sys.path``)."""
        cwd = self._cwd or os.getcwd()
        key = (cwd, tuple(self._path))
        if key != self._roots_key:
            self._roots_key = key
            candidates = {cwd, str(find_project_root(cwd))}
            candidates.update(os.path.join(cwd, entry) if not os.path.isabs(entry) else entry
                              for entry in self._path if isinstance(entry, str))
            roots = set()
            for folder in candidates:
                real = os.path.realpath(folder)
                if not os.path.isdir(real) or _INSTALLED_NAMES & set(Path(real).parts):
                    continue
                if any(_under(real, installed) for installed in self._installed):
                    continue
                roots.add(real)
            self._roots = tuple(sorted(roots))
        return self._roots


class SourceReader:
    """Reads module files once per ``(path, mtime_ns, size)``; thread-safe.

    ``read(file)`` returns the bytes, or None when the file is gone or larger than :data:`MAX_MODULE_BYTES`.
    """

    def __init__(self, max_bytes: int = MAX_MODULE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._cache: dict[tuple[str, int, int], bytes | None] = {}
        self._lock = threading.Lock()

    def read(self, file: str) -> bytes | None:
        """The file's bytes as they are now (None when missing, unreadable or too large)."""
        try:
            st = os.stat(file)
        except OSError:
            return None
        key = (file, st.st_mtime_ns, st.st_size)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        data: bytes | None = None
        if st.st_size <= self.max_bytes:
            try:
                data = Path(file).read_bytes()
            except OSError:
                data = None
        with self._lock:
            self._cache[key] = data
        return data

"""Importing modules in a notebook's fresh kernel before its first cell runs (``--preload``), leaving no trace.

Most of a small notebook's time in a fresh kernel is importing numpy/pandas (issue 15). A prestarted kernel
waits while other notebooks execute; importing the notebook's packages there moves that time off the critical
path. Isolation is unchanged: the kernel is still a fresh process for this one notebook, shut down after it.

What the notebook can observe is only ``sys.modules``: the imports run in one ``execute_request`` with
``silent=True`` (no execution count, no ``In``/``Out``/``_`` entries, no ``pre/post_run_cell`` events) and are
done inside a *user expression* that calls ``exec`` in a private dict, so no name is bound in the user
namespace: a notebook that uses ``np`` without ``import numpy as np`` still fails with NameError. Side effects
of importing a module (warnings printed at import time, ``matplotlib`` backends chosen) happen before the
notebook runs and are not shown in it. A module that fails to import is left out and reported; the notebook
then imports it itself, and fails there if it must.

``--preload auto`` takes each notebook's own top-level ``import``/``from`` statements (code cells that run, IPython
magic lines ignored) and keeps only modules that resolve outside the project folder — the standard library and
installed packages (a site-packages folder inside the project, such as ``.venv``, counts as installed). Local
modules are never preloaded: they are the code under test, a notebook may write or edit them before importing
them, and their import-time side effects (files, connections, ``os.chdir``) belong to the cell that imports them
(ADR-073). Resolution uses nb-smoke's own interpreter's search path and the notebook's folder, which the kernel
puts first; the standard library only: no module is imported in nb-smoke itself.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.machinery
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.smoke.kernel import Kernel

#: The ``--preload`` item meaning "the modules each notebook imports".
AUTO = "auto"
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_EXPRESSION_KEY = "nb_smoke_preload"
#: Run by ``exec`` in a private dict inside the kernel (the kernel may be any Python: standard library only).
_KERNEL_SOURCE = """\
import importlib
failed = {}
for i, name in enumerate(names):
    try:
        importlib.import_module(name)
    except KeyboardInterrupt:
        failed.update(dict.fromkeys(names[i:], 'KeyboardInterrupt: preload took too long'))
        break
    except BaseException as exc:
        failed[name] = (type(exc).__name__ + ': ' + str(exc))[:300]
"""
_SITE_DIRS = frozenset({"site-packages", "dist-packages"})
#: Seconds to wait for the reply once a preload that outran its time was interrupted.
_INTERRUPT_GRACE = 5.0


@dataclass(frozen=True)
class Preload:
    """What ``--preload`` asked for.

    Attributes:
        modules: modules named explicitly, preloaded for every Python notebook.
        auto: also each notebook's own imports that resolve outside the project folder.
    """

    modules: tuple[str, ...] = ()
    auto: bool = False


@dataclass
class PreloadResult:
    """What a kernel's preload did: modules imported, modules that failed (with the error), seconds."""

    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``preload`` entry of a notebook in the JSON report."""
        return {"loaded": self.loaded, "failed": self.failed, "seconds": round(self.seconds, 3)}


def parse_preload(value: str | None, flag: str = "--preload") -> Preload | None:
    """``numpy,pandas`` / ``auto`` / ``auto,scipy`` → :class:`Preload` (None when not given).

    Raises:
        InvalidInput: an empty list or an item that is not a dotted module name (nothing is imported to check).
    """
    if value is None:
        return None
    items = [item.strip() for item in str(value).split(",")]
    if not any(items):
        raise InvalidInput(f"{flag}: expected module names separated by commas, or 'auto'; got {value!r}")
    bad = [item for item in items if item != AUTO and not _MODULE.match(item)]
    if bad:
        raise InvalidInput(f"{flag}: {bad[0]!r} is not a module name (expected e.g. numpy,pandas or auto)")
    modules = tuple(dict.fromkeys(item for item in items if item != AUTO))
    return Preload(modules=modules, auto=AUTO in items)


def modules_for(preload: Preload | None, nb: Any, notebook: Path, project: Path) -> list[str]:
    """The modules to import in ``notebook``'s kernel: the named ones, then (``auto``) its installed imports."""
    if preload is None:
        return []
    names = list(preload.modules)
    if preload.auto:
        folder = notebook.resolve().parent
        names += [name for name in imported_modules(nb) if is_installed(name, folder, project)]
    return list(dict.fromkeys(names))


def imported_modules(nb: Any) -> list[str]:
    """Absolute modules named by top-level ``import``/``from`` statements of the code cells that run, in order.

    Top level includes the bodies of top-level ``try``/``with`` blocks; imports under ``if`` or in functions may
    never run and are left out. A cell magic cell is skipped; line magics and shell lines are ignored.
    """
    found: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or "skip-smoke" in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        tree = _parse("".join(source) if isinstance(source, list) else str(source))  # a list: the file's JSON
        if tree is not None:
            found.extend(_imports(tree.body))
    return list(dict.fromkeys(found))


def _parse(source: str) -> ast.Module | None:
    if source.lstrip().startswith("%%"):
        return None
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None


def _imports(body: list[ast.stmt]) -> list[str]:
    names: list[str] = []
    for node in body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Try | ast.With):
            names.extend(_imports(node.body))
    return names


def is_installed(name: str, folder: Path, project: Path) -> bool:
    """Whether ``name``'s top-level module resolves to the standard library or an installed package.

    False for a module the notebook's folder provides (the kernel finds it first), one under ``project`` other
    than in a site-packages folder, and one that is not found at all.
    """
    try:
        return _installed(name.partition(".")[0], folder, project)
    except (ImportError, ValueError, OSError):  # a broken path entry or finder: do not guess, leave it out
        return False


def _installed(top: str, folder: Path, project: Path) -> bool:
    if top in sys.builtin_module_names or importlib.machinery.FrozenImporter.find_spec(top) is not None:
        return True
    if importlib.machinery.PathFinder.find_spec(top, [str(folder)]) is not None:
        return False
    search = [entry for entry in sys.path if entry and Path(entry).resolve() != folder]
    spec = importlib.machinery.PathFinder.find_spec(top, search)
    if spec is None:
        return False
    places = [spec.origin] if spec.origin and spec.origin != "namespace" else []
    places += list(spec.submodule_search_locations or [])
    return bool(places) and not any(_is_local(Path(place).resolve(), project.resolve()) for place in places)


def _is_local(path: Path, project: Path) -> bool:
    return path.is_relative_to(project) and not _SITE_DIRS.intersection(path.relative_to(project).parts)


def kernel_expression(names: list[str]) -> str:
    """The user expression that imports ``names`` in a private namespace and evaluates to the failures."""
    if not all(_MODULE.match(name) for name in names):
        raise ValueError(f"not module names: {names!r}")
    return f"(lambda ns: (exec({_KERNEL_SOURCE!r}, ns), ns['failed'])[1])({{'names': {names!r}}})"


async def preload(kernel: Kernel, names: list[str], timeout: float) -> PreloadResult:
    """Import ``names`` in ``kernel`` silently, before anything else executes there; never raises.

    Args:
        kernel: a kernel just started (nothing has executed on it yet).
        names: module names (already validated).
        timeout: seconds the imports may take; past it the kernel is interrupted (the import under way fails
            with KeyboardInterrupt and is reported) so the notebook does not wait behind it.
    """
    began = monotonic()
    result = PreloadResult()
    try:
        reply = await _execute(kernel, kernel_expression(names), timeout)
    except Exception as exc:  # noqa: BLE001 - a preload that cannot run leaves the notebook to import for itself
        result.failed = {name: f"not preloaded: {type(exc).__name__}: {exc}"[:300] for name in names}
    else:
        result.failed = _failures(reply, names)
    result.loaded = [name for name in names if name not in result.failed]
    result.seconds = monotonic() - began
    return result


async def _execute(kernel: Kernel, expression: str, timeout: float) -> dict[str, Any]:
    msg_id = kernel.client.execute("", silent=True, store_history=False, allow_stdin=False,
                                   user_expressions={_EXPRESSION_KEY: expression})
    waiting = asyncio.ensure_future(_reply(kernel.client, msg_id))
    done, _ = await asyncio.wait({waiting}, timeout=timeout)
    if not done:
        await kernel.manager.interrupt_kernel()
        done, _ = await asyncio.wait({waiting}, timeout=_INTERRUPT_GRACE)
    if not done:
        waiting.cancel()
        raise TimeoutError(f"imports took more than {timeout:g}s")
    return waiting.result()


async def _reply(client: Any, msg_id: str) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = await client.get_shell_msg()
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg


def _failures(reply: dict[str, Any], names: list[str]) -> dict[str, str]:
    content = reply.get("content", {})
    answer = content.get("user_expressions", {}).get(_EXPRESSION_KEY, {})
    if content.get("status") != "ok" or answer.get("status") != "ok":
        why = answer.get("ename") or content.get("ename") or content.get("status") or "no reply"
        return {name: f"not preloaded: {why}" for name in names}
    try:
        failed = ast.literal_eval(answer.get("data", {}).get("text/plain", ""))
    except (SyntaxError, ValueError):
        return {name: "not preloaded: unreadable reply" for name in names}
    return {str(k): str(v) for k, v in failed.items()} if isinstance(failed, dict) else {}

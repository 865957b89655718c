"""Context providers: what a run learns about where it runs (notebook, git, environment, script).

A provider is a row in a small registry (:data:`PROVIDERS`): a name, a function from a :class:`CaptureRequest`
to run facts, and whether it is slow enough to run off the caller's path. Run facts are a dict with any of the
keys ``notebook_path``, ``tags``, ``params``, ``reproduction_of``, ``git_commit``, ``git_dirty``, ``env_hash``,
``code_hash``.
Third parties add providers with :func:`register` or the ``jupyter_mlops.context`` entry-point group.

Assumptions:
    * Every provider may fail (no git, unreadable file, odd platform): :func:`resolve` catches each failure,
      logs one warning and records the gap — capture never raises into the user's code.
    * Environment snapshots are cached per process by ``capture.env``; git state is cached for
      :data:`GIT_TTL_SECONDS` per project root, because ``git status``/``git diff`` cost tens of milliseconds and
      a tight loop of short runs must not fork git each time. A run's git state is therefore at most that old.
    * Slow providers run on one shared daemon thread (:func:`submit`), drained at interpreter exit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from jupyter_mlops.config import ENV_RUN_CONTEXT
from jupyter_mlops.errors import InvalidInput

__all__ = [
    "CaptureRequest",
    "ContextProvider",
    "KernelContext",
    "PROVIDERS",
    "get_provider",
    "kernel_context",
    "papermill_input_notebook",
    "register",
    "resolve",
    "submit",
]

logger = logging.getLogger(__name__)

GIT_TTL_SECONDS = 2.0
_warned: set[str] = set()


@dataclass(frozen=True)
class KernelContext:
    """What a kernel knows about the notebook it runs.

    Attributes:
        notebook_path: absolute path of the notebook file, or None when the kernel cannot know it.
        tags: run tags handed over by our runners (e.g. ``["smoke"]``).
        parameters: parameters our runner injected (papermill ``-p``).
        source: where the path came from: ``runner``, ``jupyter-server``, ``ipykernel``, ``vscode``, ``papermill``
            (the papermill command that started the kernel) or ``none``.
        reproduction_of: the run that ``jupyter-mlops reproduce`` is re-executing (its runs link back to it).
    """

    notebook_path: str | None = None
    tags: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    source: str = "none"
    reproduction_of: str | None = None


def kernel_context(user_ns: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> KernelContext:
    """Find the notebook path, tags and parameters a kernel was handed.

    Looks at, first match wins: ``JUPYTER_MLOPS_CONTEXT`` (JSON our runners set), ``JPY_SESSION_NAME`` (set by
    jupyter_server), ``__session__`` (copied by ipykernel into the namespace), ``__vsc_ipynb_file__`` (VS Code),
    and, inside a kernel (``user_ns`` given), the ``papermill`` command line of the parent process.

    Args:
        user_ns: the kernel's user namespace (``get_ipython().user_ns``), or None outside a kernel.
        environ: environment mapping (default ``os.environ``).

    Returns:
        A :class:`KernelContext`; fields are empty where nothing is known.

    Example:
        >>> kernel_context({}, {"JPY_SESSION_NAME": "/home/me/nb.ipynb"}).notebook_path
        '/home/me/nb.ipynb'
    """
    env = os.environ if environ is None else environ
    ns = user_ns or {}
    handed: dict[str, Any] = {}
    raw = env.get(ENV_RUN_CONTEXT)
    if raw:
        try:
            loaded = json.loads(raw)
            handed = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            _warn_once(ENV_RUN_CONTEXT, f"{ENV_RUN_CONTEXT} is not valid JSON; ignored")
    tags = tuple(str(t) for t in handed.get("tags") or ())
    parameters = handed.get("parameters") if isinstance(handed.get("parameters"), dict) else {}
    origin = handed.get("reproduction_of")
    reproduction_of = origin if isinstance(origin, str) and origin else None
    candidates = (
        (handed.get("notebook_path"), "runner"),
        (env.get("JPY_SESSION_NAME"), "jupyter-server"),
        (ns.get("__session__"), "ipykernel"),
        (ns.get("__vsc_ipynb_file__"), "vscode"),
    )
    for value, source in candidates:
        if isinstance(value, str) and value.endswith(".ipynb"):
            return KernelContext(str(Path(value).expanduser().absolute()), tags, dict(parameters or {}), source,
                                 reproduction_of)
    if user_ns is not None:  # a kernel: the papermill CLI that started it names the notebook on its command line
        path = _parent_papermill_notebook()
        if path is not None:
            return KernelContext(path, tags, dict(parameters or {}), "papermill", reproduction_of)
    return KernelContext(None, tags, dict(parameters or {}), "none", reproduction_of)


#: papermill CLI options that take two values / none; every other option takes one (``--cwd DIR``).
_PAPERMILL_TWO_VALUES = frozenset({"-p", "--parameters", "-r", "--parameters_raw"})
_PAPERMILL_FLAGS = frozenset({
    "-h", "--help", "--help-notebook", "--inject-input-path", "--inject-output-path", "--inject-paths",
    "--request-save-on-cell-execute", "--no-request-save-on-cell-execute", "--prepare-only", "--prepare-execute",
    "--progress-bar", "--no-progress-bar", "--log-output", "--no-log-output", "--report-mode", "--no-report-mode",
    "--version",
})


def papermill_input_notebook(cmdline: list[str], cwd: str, launch_dir: str | None = None) -> str | None:
    """The input notebook named on a papermill command line, as an existing absolute path.

    Args:
        cmdline: the process's argv, e.g. ``["python", "/venv/bin/papermill", "--cwd", "x", "in.ipynb", "out"]``.
        cwd: the working directory of that process now.
        launch_dir: where it was started (the shell's ``PWD``), if known: with ``--cwd`` papermill changes its
            own directory while it executes, so a relative path is tried there first.

    Returns:
        The path, or None when ``cmdline`` is not a papermill command or names no existing ``.ipynb`` input.
    """
    starts = [i + 1 for i, arg in enumerate(cmdline) if Path(arg).name == "papermill"]
    if not starts:
        return None
    args, position = cmdline[starts[0]:], 0
    moved = any(arg == "--cwd" or arg.startswith("--cwd=") for arg in args)
    while position < len(args):
        arg = args[position]
        if arg.startswith("-") and arg != "-":
            position += 1 if "=" in arg or arg in _PAPERMILL_FLAGS else 3 if arg in _PAPERMILL_TWO_VALUES else 2
            continue
        # the first positional argument is the input notebook (papermill also reads URLs: those are no path)
        if not arg.endswith(".ipynb") or "://" in arg:
            return None
        bases = [launch_dir, cwd] if moved and launch_dir else [cwd]
        for base in bases:
            path = os.path.normpath(os.path.join(base, os.path.expanduser(arg)))
            if os.path.isfile(path):
                return path
        return None
    return None


def _parent_papermill_notebook() -> str | None:
    # Plain `papermill in.ipynb out.ipynb` hands the kernel neither the path nor a context variable; the
    # kernel's parent process is that papermill command (see docs/kernel-context.md in the shared docs).
    try:
        import psutil

        parent = psutil.Process(os.getppid())
        cmdline = parent.cmdline()
        if not any(Path(arg).name == "papermill" for arg in cmdline):
            return None
        return papermill_input_notebook(cmdline, parent.cwd(), parent.environ().get("PWD"))
    except Exception:  # no psutil, no permission, parent gone: the path stays unknown
        return None


@dataclass(frozen=True)
class CaptureRequest:
    """What providers may look at.

    Attributes:
        project_root: folder whose git state is recorded.
        blobs: blob store for snapshots (anything with ``put_json``/``put_bytes``), or None.
        user_ns: kernel namespace, or None outside a kernel.
        environ: environment mapping.
        redact: mask secrets in what providers store (the script snapshot).
        main_file: the running script (``__main__.__file__``), read when the request is made: by the time a
            background provider runs, interpreter exit may already have cleared it (short scripts lost their
            script snapshot that way).
        main_loader: ``__main__.__loader__``, read then too: its ``get_source`` gives the code that runs, which
            ``reproduce`` hands a replayed script while the file on disk may say something else.
        command: how the process was started (``argv``, ``cwd``, ``python``), read when the request is made,
            before the program can change its directory; a script run records it so ``reproduce`` can replay it.
    """

    project_root: Path
    blobs: Any = None
    user_ns: Mapping[str, Any] | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    redact: bool = True
    main_file: str | None = field(default_factory=lambda: _main_file())
    main_loader: Any = field(default_factory=lambda: getattr(sys.modules.get("__main__"), "__loader__", None))
    command: dict[str, Any] = field(default_factory=lambda: _command())


def _main_file() -> str | None:
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.abspath(main) if isinstance(main, str) else None


def _command() -> dict[str, Any]:
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed under the process
        cwd = None
    return {"argv": [str(arg) for arg in sys.argv], "cwd": cwd, "python": sys.executable}


Facts = dict[str, Any]


@dataclass(frozen=True)
class ContextProvider:
    """A registry row: ``collect(request) -> facts``; ``background`` ones run off the caller's path."""

    name: str
    collect: Callable[[CaptureRequest], Facts]
    background: bool = False


def _kernel_facts(request: CaptureRequest) -> Facts:
    ctx = kernel_context(request.user_ns, request.environ)
    facts: Facts = {}
    if ctx.notebook_path:
        facts["notebook_path"] = ctx.notebook_path
    if ctx.tags:
        facts["tags"] = list(ctx.tags)
    if ctx.parameters:
        facts["params"] = dict(ctx.parameters)
    if ctx.reproduction_of:
        facts["reproduction_of"] = ctx.reproduction_of
    return facts


_git_cache: dict[str, tuple[float, Any]] = {}
_git_lock = threading.Lock()


def _git_facts(request: CaptureRequest) -> Facts:
    from jupyter_mlops.capture import git

    key = str(request.project_root)
    with _git_lock:
        hit = _git_cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < GIT_TTL_SECONDS:
            state = hit[1]
        else:
            state = git.git_state(request.project_root)
            _git_cache[key] = (time.monotonic(), state)
    if state is None:
        return {}
    return {"git_commit": state.commit, "git_dirty": bool(state.dirty), "_git": _git_dict(state)}


def _git_dict(state: Any) -> dict[str, Any]:
    return {name: getattr(state, name, None) for name in ("commit", "branch", "dirty", "diff")}


_env_cache: dict[int, dict[str, Any]] = {}


def _env_facts(request: CaptureRequest) -> Facts:
    from jupyter_mlops.capture import env

    snapshot = _env_cache.get(0)
    if snapshot is None:
        snapshot = _env_cache[0] = env.snapshot()
    return {"_env": snapshot}


def _script_facts(request: CaptureRequest) -> Facts:
    # Outside a kernel the "code that ran" is the main script; a kernel's code comes from its notebook session.
    if request.user_ns is not None or request.blobs is None:
        return {}
    main = request.main_file
    if not main or not str(main).endswith(".py") or not Path(main).is_file():
        return {}
    source = _main_source(request.main_loader) or Path(main).read_text(encoding="utf-8", errors="replace")
    command = dict(request.command)
    argv: list[str] = list(command.get("argv") or [])
    redacted: list[int] = []
    if request.redact:
        from jupyter_mlops.capture import redact

        source = redact.redact_text(source)
        argv, redacted = redact.redact_argv(argv)
    command.update(argv=argv, redacted=redacted)
    cell = {"index": 0, "source": source, "execution_count": None, "cell_id": None, "path": str(Path(main).resolve())}
    snapshot: dict[str, Any] = {"cells": [cell], "script": cell["path"], "command": command}
    modules = _script_modules(request)
    if modules:
        snapshot["modules"] = modules
    return {"code_hash": request.blobs.put_json(snapshot)}


def _script_modules(request: CaptureRequest) -> list[dict[str, Any]]:
    # A script's local modules are those it imported before its run started (ADR-102): imports at the top.
    from jupyter_mlops.capture import modules
    from jupyter_mlops.capture import redact as redaction

    def put(data: bytes) -> str:
        return str(request.blobs.put_bytes(redaction.redact_source(data) if request.redact else data))

    try:
        loaded = modules.ModuleWatch().scan()
    except Exception as exc:  # the script's own source is still its code
        _warn_once("modules", f"local module capture failed: {exc}")
        return []
    reader = modules.SourceReader()
    out = []
    for item in sorted(loaded, key=lambda m: m.name):
        data = reader.read(item.file)
        entry: dict[str, Any] = {"name": item.name, "path": item.path, "file": item.file,
                                 "hash": put(data) if data is not None else None,
                                 "size": len(data) if data is not None else None}
        if data is None:
            entry["skipped"] = "missing, unreadable or larger than 2 MiB"
        out.append(entry)
    return out


def _main_source(loader: Any) -> str | None:
    # A replayed script (``reproduce``) runs recorded source whose loader says so; a plain script's loader reads
    # the file, as the fallback does.
    try:
        source = loader.get_source("__main__")
    except Exception:  # no loader, or one that cannot tell: read the file
        return None
    return source if isinstance(source, str) else None


#: Built-in providers, in the order they run.
PROVIDERS: dict[str, ContextProvider] = {
    "kernel": ContextProvider("kernel", _kernel_facts),
    "git": ContextProvider("git", _git_facts, background=True),
    "env": ContextProvider("env", _env_facts, background=True),
    "script": ContextProvider("script", _script_facts, background=True),
}
_entry_points_loaded = False


def register(name: str, collect: Callable[[CaptureRequest], Facts], *, background: bool = False) -> None:
    """Add (or replace) a context provider.

    Example:
        >>> register("host", lambda request: {"tags": ["on-laptop"]})
        >>> get_provider("host").name
        'host'
        >>> _ = PROVIDERS.pop("host")
    """
    PROVIDERS[name] = ContextProvider(name, collect, background)


def get_provider(name: str) -> ContextProvider:
    """The provider registered under ``name``; InvalidInput lists the valid names otherwise."""
    _load_entry_points()
    try:
        return PROVIDERS[name]
    except KeyError:
        raise InvalidInput(f"unknown context provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


def _load_entry_points() -> None:
    global _entry_points_loaded  # one-time latch, not configuration
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group="jupyter_mlops.context"):
        try:
            register(ep.name, ep.load())
        except Exception as exc:
            _warn_once(f"ep:{ep.name}", f"context provider {ep.name!r} failed to load: {exc}")


def resolve(request: CaptureRequest, *, background: bool) -> Facts:
    """Run the foreground (or background) providers and merge their facts; failures become one warning each."""
    _load_entry_points()
    facts: Facts = {}
    for provider in list(PROVIDERS.values()):
        if provider.background != background:
            continue
        try:
            found = provider.collect(request)
        except Exception as exc:  # capture never raises into the user's code
            _warn_once(provider.name, f"could not capture {provider.name} context: {exc}")
            continue
        for key, value in found.items():
            if key == "tags":
                facts["tags"] = [*facts.get("tags", []), *value]
            elif key == "params":
                facts["params"] = {**facts.get("params", {}), **value}
            else:
                facts[key] = value
    return facts


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning("jupyter_mlops: %s", message)


# -- one background thread for slow capture ---------------------------------------------------------------
_jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def submit(job: Callable[[], None]) -> None:
    """Run ``job`` on the shared capture thread (started on first use); its exceptions are logged."""
    global _worker  # the lazily started thread, not configuration
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="jupyter-mlops-capture", daemon=True)
            _worker.start()
    _jobs.put(job)


def _work() -> None:
    while True:
        job = _jobs.get()
        try:
            if job is None:
                return
            job()
        except Exception as exc:
            _warn_once(f"job:{type(exc).__name__}", f"background capture failed: {exc}")
        finally:
            _jobs.task_done()


def drain(timeout: float = 30.0) -> bool:
    """Wait until every submitted job has run (at exit, and in tests); False on timeout."""
    deadline = time.monotonic() + timeout
    while _jobs.unfinished_tasks:
        if time.monotonic() > deadline or _worker is None or not _worker.is_alive():
            return False
        time.sleep(0.005)
    return True


atexit.register(drain)


def _drain_before_thread_pools_close() -> None:
    # A remote blob store's client (aiohttp under s3fs) resolves host names on asyncio's default thread pool, which
    # refuses new work once the interpreter starts shutting down, before any atexit handler runs: a short script's
    # snapshots, captured at exit, would never reach the bucket. threading's own exit hooks run earlier, newest
    # first; registered after concurrent.futures' hook (imported just above that), this drain runs before it.
    import concurrent.futures.thread  # noqa: F401 - registers the pool's exit hook first

    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(drain)


_drain_before_thread_pools_close()

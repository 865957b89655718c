"""The zygotes of ``nb-smoke --fork``, seen from nb-smoke: start, share, hand over, close (ADR-099, ADR-118).

:class:`ZygoteProcess` is our end of one zygote (:mod:`.zygote`); :func:`zygote_for` gives the provisioner
(:mod:`.fork`) the zygote of a module set and environment, started on first use; :func:`start_early` starts one
before nb-smoke knows the module set, so that the zygote's Python start and ipykernel imports run on the idle
core while nb-smoke imports itself and reads the notebooks (ADR-118): the first :func:`zygote_for` whose
environment matches adopts it and tells it which modules to import. :func:`close_zygotes` ends them all, and
runs at exit.

Standard library only (plus the names of nb-smoke's variables), so the command can start a zygote before it
imports jupyter_client, nbformat or nbclient.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.config import ENV_BLOBS, ENV_RUN_CONTEXT, ENV_STORE
from jupyter_mlops.notebooks.smoke import procs

#: Variables nb-smoke sets per notebook (or per call: ``--no-track``'s throwaway store): set in each child, never
#: in the zygote, so one zygote serves every notebook and pytest item (pytest names the running item in
#: ``PYTEST_CURRENT_TEST``). jupyter_mlops reads its variables when called, not at import.
PER_KERNEL_ENV = frozenset({"JPY_SESSION_NAME", ENV_RUN_CONTEXT, procs.MARKER, ENV_STORE, ENV_BLOBS,
                            "PYTEST_CURRENT_TEST"})
#: Zygotes one process may hold (one per module set): beyond it, notebooks get fresh kernels.
MAX_ZYGOTES = 4
#: The module list that tells a zygote to wait for an ``import`` message naming its modules (an early start).
WAIT_FOR_MODULES = "@"
_BOOT = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_MAX_MESSAGE = 1 << 20
_ZYGOTE_PATH = str(Path(__file__).with_name("zygote.py"))


def unsupported() -> str | None:
    """Why this platform cannot fork kernels (None: it can)."""
    if not sys.platform.startswith("linux"):
        return "forking kernels is Linux-only"
    if not hasattr(os, "pidfd_open"):
        return "this Python has no os.pidfd_open"
    return None


def call_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every kernel of a call has in its environment: ours, ``extra``, and debugpy's warning silenced.

    Here rather than in :mod:`.kernel` (which builds each kernel's on it) so that the command can start its
    zygote with it before importing asyncio and the rest.
    """
    env = {**os.environ, **(extra or {})}
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences debugpy's frozen-modules warning
    return env


def zygote_env(env: Mapping[str, str]) -> dict[str, str]:
    """A kernel environment without the variables set per notebook or per call: a zygote's environment."""
    return {str(k): str(v) for k, v in env.items() if k not in PER_KERNEL_ENV}


class ZygoteProcess:
    """One zygote and our end of its socket; a daemon thread reads its replies and exit reports.

    ``modules=None`` starts it without waiting: it imports ipykernel, then waits for :meth:`tell` to name its
    modules (an early start, ADR-118); otherwise it imports ``modules`` at once and the constructor waits until
    it is ready.
    """

    def __init__(self, modules: tuple[str, ...] | None, env: dict[str, str], timeout: float) -> None:
        self.modules = modules or ()
        self.early = modules is None  # started by start_early(), before its modules were known
        self.told = not self.early  # its modules are known to it
        self.env_key = tuple(sorted(env.items()))
        self.folder = tempfile.mkdtemp(prefix="nb-smoke-zygote-")  # its cwd: no local module shadows an import
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the failure message, closed in close()
        listed = WAIT_FOR_MODULES if modules is None else ",".join(modules)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _ZYGOTE_PATH, str(theirs.fileno()), listed],
            pass_fds=(theirs.fileno(),), env=env, cwd=self.folder, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        theirs.close()
        self.lock = threading.Lock()
        self.pending: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self.exits: dict[int, int] = {}
        self.dead = False
        self.closed = False
        self.ready: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self.info: dict[str, Any] = {}
        self.next_id = 0
        threading.Thread(target=self._read, name=f"nb-smoke-zygote-{self.process.pid}", daemon=True).start()
        if modules is not None:
            self.wait_ready(timeout)

    def tell(self, modules: tuple[str, ...]) -> bool:
        """Tell an early-started zygote its modules, once (it imports them now): whether they are now ``modules``.

        False when it was told another set before: it is that set's zygote, not this one's.
        """
        with self.lock:
            if self.told:
                return self.modules == modules
            self.told, self.modules = True, modules
        try:
            self.sock.send(json.dumps({"op": "import", "modules": list(modules)}).encode())
        except OSError:
            pass  # it is gone: the reader thread fails the ready future, and waiting for it says so
        return True

    def wait_ready(self, timeout: float) -> None:
        """Wait until the zygote imported its modules and said it is ready.

        Raises:
            RuntimeError: it died, did not answer in ``timeout`` seconds, or could not import ipykernel.
        """
        try:
            self.info = self.ready.result(timeout=timeout)
        except (concurrent.futures.TimeoutError, ConnectionError) as exc:
            tail = self._log_tail()
            self.close()
            raise RuntimeError(f"the zygote did not start: {type(exc).__name__} {tail}".strip()) from None
        if not self.info.get("ready"):
            self.close()
            raise RuntimeError(f"the zygote could not import ipykernel: {self.info.get('kernel_failed')}")

    def _log_tail(self) -> str:
        try:
            self.log.seek(0)
            return bytes(self.log.read()).decode("utf-8", "replace").strip().splitlines()[-1][:300]
        except (OSError, ValueError, IndexError):
            return ""

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(_MAX_MESSAGE)
            except OSError:
                break
            if not data:
                break
            message = json.loads(data)
            if "exit" in message:
                self.exits[int(message["exit"])] = int(message["code"])
            elif "ready" in message:
                self.ready.set_result(message)
            else:
                if "pid" in message:  # opened before the next message, which may be its exit: no reuse race
                    try:
                        message["pidfd"] = os.pidfd_open(int(message["pid"]))
                    except OSError:
                        message["pidfd"] = None
                with self.lock:
                    waiting = self.pending.pop(int(message.get("id", -1)), None)
                if waiting is not None:
                    waiting.set_result(message)
        self.dead = True
        with self.lock:
            waiting_all = [*self.pending.values(), self.ready]
            self.pending.clear()
        for future in waiting_all:
            if not future.done():
                future.set_exception(ConnectionError("the zygote exited"))

    def fork(self, args: list[str], env: dict[str, str], cwd: str,
             stdout: int, stderr: int) -> concurrent.futures.Future[dict[str, Any]]:
        """Ask for a child running ipykernel with ``args``; the future's result has ``pid`` or ``refused``."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        with self.lock:
            if self.dead:
                future.set_exception(ConnectionError("the zygote exited"))
                return future
            self.next_id += 1
            self.pending[self.next_id] = future
            request = {"op": "fork", "id": self.next_id, "args": args, "env": env, "cwd": cwd}
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], [stdout, stderr])
            except OSError as exc:
                self.pending.pop(self.next_id, None)
                future.set_exception(ConnectionError(f"the zygote is gone: {exc}"))
        return future

    def close(self, grace: float = 5.0) -> None:
        """Close the socket (the zygote then ends its children and exits); kill it if it does not."""
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_zygotes: dict[tuple[Any, ...], ZygoteProcess | str] = {}
_registry_lock = threading.Lock()
_key_locks: dict[tuple[Any, ...], threading.Lock] = {}
#: A zygote started before its modules were known (:func:`start_early`), until a :func:`zygote_for` adopts it.
_early: list[ZygoteProcess] = []


def start_early(env: Mapping[str, str]) -> ZygoteProcess | None:
    """Start a zygote now, without waiting, for the first :func:`zygote_for` whose environment is ``env``'s.

    ``env`` is the kernels' environment (the per-notebook variables are left out here, as :func:`zygote_for`
    leaves them out). At most one early zygote waits at a time; one nobody adopts is ended by
    :func:`close_zygotes`. Returns None where kernels cannot be forked, or when it cannot start (the kernels then
    start their zygote on first use, as without an early start).
    """
    if unsupported():
        return None
    with _registry_lock:
        if _early:
            return _early[0]
        try:
            zygote = ZygoteProcess(None, zygote_env(env), 0.0)
        except OSError:
            return None
        _early.append(zygote)
        return zygote


def load_early(modules: tuple[str, ...]) -> None:
    """Tell the early zygote, if still untold, to import ``modules`` now: the first forked kernel's set.

    Called as soon as the set is known, before the kernel manager is even made, so the imports overlap the rest
    of the kernel's start. :func:`zygote_for` adopts it only for this set and a matching environment.
    """
    with _registry_lock:
        waiting = [z for z in _early if not z.told]
    if waiting:
        waiting[0].tell(modules)


def _adopt_early(modules: tuple[str, ...], env_key: tuple[Any, ...], timeout: float) -> ZygoteProcess | None:
    """The early zygote made ``modules``' zygote (None when none fits).

    It fits when its environment is ``env_key`` and it was told this set or nothing yet (then it is told now).

    Raises:
        RuntimeError: it fits but died, or did not get ready in ``timeout`` seconds.
    """
    with _registry_lock:
        fits = next((z for z in _early if z.env_key == env_key and not z.dead and z.tell(modules)), None)
        if fits is None:
            return None
        _early.remove(fits)
    fits.wait_ready(timeout)
    return fits


def zygote_for(modules: tuple[str, ...], env: dict[str, str], timeout: float) -> ZygoteProcess:
    """The zygote for ``modules`` and ``env``, started on first use (a start that failed is not retried).

    A zygote started early (:func:`start_early`) with this environment, told this set (:func:`load_early`) or
    nothing yet, is adopted first. Once :data:`MAX_ZYGOTES` run, a notebook whose set has none gets the running
    zygote (same environment) with the largest subset of its modules, and imports the rest itself; never one with
    a module it does not import.

    Raises:
        RuntimeError: the zygote cannot start or failed before, or none fits once :data:`MAX_ZYGOTES` run.
    """
    key = (modules, tuple(sorted(env.items())))
    with _registry_lock:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:
        found = _zygotes.get(key)
        if isinstance(found, str):
            raise RuntimeError(found)
        if found is not None and not found.dead:
            return found
        with _registry_lock:
            live = {k: z for k, z in _zygotes.items() if isinstance(z, ZygoteProcess) and not z.dead}
        if len(live) >= MAX_ZYGOTES:
            fits = [z for k, z in live.items() if k[1] == key[1] and set(k[0]) <= set(modules)]
            if not fits:
                raise RuntimeError(f"{MAX_ZYGOTES} zygotes run already, none with a subset of this notebook's modules")
            return max(fits, key=lambda z: len(z.modules))
        try:
            zygote = _adopt_early(modules, key[1], timeout) or ZygoteProcess(modules, env, timeout)
        except (OSError, RuntimeError) as exc:
            _zygotes[key] = f"{exc}"
            raise RuntimeError(str(exc)) from None
        _zygotes[key] = zygote
        return zygote


def close_zygotes() -> None:
    """End every zygote of this process, an early one nobody adopted too, and their children; forget failures."""
    with _registry_lock:
        found = [*_zygotes.values(), *_early]
        _zygotes.clear()
        _key_locks.clear()
        _early.clear()
    for zygote in found:
        if isinstance(zygote, ZygoteProcess):
            zygote.close()


atexit.register(close_zygotes)

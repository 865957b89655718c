"""``nb-smoke --fork``: kernels forked from a zygote that imported ipykernel and the notebook's modules once.

A ``jupyter_client`` kernel provisioner (:class:`ForkProvisioner`, ADR-074/ADR-099), chosen by the
``metadata.kernel_provisioner`` of the kernelspec :mod:`.kernel` builds for the current interpreter. Its
``launch_kernel`` asks a zygote (:mod:`.zygote`, one per module set and environment, started on first use)
to fork a child on the connection file jupyter_client wrote; the child runs stock ipykernel. The child is the
zygote's child, not ours: the zygote reaps it and reports its exit code, and we hold a pidfd to signal it
without a pid-reuse race. ``poll``/``wait``/``send_signal``/``kill``/``terminate`` act on that process (its
process group, as the local provisioner does).

Isolation is unchanged: one new process per notebook, never reused, never shared; what a notebook does to a
module cannot reach the zygote or another fork. When forking is not safe (the zygote's :func:`.zygote.hazards`:
threads beyond its BLAS pool, OpenMP, MKL or libcuda mapped), not possible (not Linux, no pidfd, another
kernelspec), or the zygote cannot start, the provisioner starts a fresh kernel exactly as the local provisioner
does and records why in :attr:`ForkProvisioner.fork_info` (the notebook's result says ``fallback``).

Zygotes live for the process (``pytest --nb-smoke`` items share them); :func:`close_zygotes` ends them and
their children, and runs at exit. A zygote whose socket closes (we ended or died) ends its children and exits.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import Float, List, Unicode

from jupyter_mlops.config import ENV_BLOBS, ENV_RUN_CONTEXT, ENV_STORE
from jupyter_mlops.notebooks.smoke import procs

#: The provisioner's name in kernelspecs and under the ``jupyter_client.kernel_provisioners`` entry point.
NAME = "nb-smoke-fork"
ENTRY_POINT = "jupyter_mlops.notebooks.smoke.fork:ForkProvisioner"
GROUP = "jupyter_client.kernel_provisioners"
#: Variables nb-smoke sets per notebook (or per call: ``--no-track``'s throwaway store): set in each child, never
#: in the zygote, so one zygote serves every notebook and pytest item (pytest names the running item in
#: ``PYTEST_CURRENT_TEST``). jupyter_mlops reads its variables when called, not at import.
PER_KERNEL_ENV = frozenset({"JPY_SESSION_NAME", ENV_RUN_CONTEXT, procs.MARKER, ENV_STORE, ENV_BLOBS,
                            "PYTEST_CURRENT_TEST"})
#: Zygotes one process may hold (one per module set): beyond it, notebooks get fresh kernels.
MAX_ZYGOTES = 4
LAUNCHER = ["-m", "ipykernel_launcher"]
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


def register() -> None:
    """Make :data:`NAME` known to jupyter_client's provisioner factory, installed entry point or not."""
    from importlib.metadata import EntryPoint

    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    KernelProvisionerFactory.provisioners.setdefault(NAME, EntryPoint(name=NAME, value=ENTRY_POINT, group=GROUP))


def kernelspec_metadata(modules: list[str], timeout: float = 60.0) -> dict[str, Any]:
    """The ``metadata`` of a kernelspec whose kernels are forked from a zygote that imported ``modules``."""
    return {"kernel_provisioner": {"provisioner_name": NAME,
                                   "config": {"modules": list(modules), "timeout": timeout}}}


class ZygoteProcess:
    """One zygote and our end of its socket; a daemon thread reads its replies and exit reports."""

    def __init__(self, modules: tuple[str, ...], env: dict[str, str], timeout: float) -> None:
        self.modules = modules
        self.folder = tempfile.mkdtemp(prefix="nb-smoke-zygote-")  # its cwd: no local module shadows an import
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the failure message, closed in close()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _ZYGOTE_PATH, str(theirs.fileno()), ",".join(modules)],
            pass_fds=(theirs.fileno(),), env=env, cwd=self.folder, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        theirs.close()
        self.lock = threading.Lock()
        self.pending: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self.exits: dict[int, int] = {}
        self.dead = False
        self.ready: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self.next_id = 0
        threading.Thread(target=self._read, name=f"nb-smoke-zygote-{self.process.pid}", daemon=True).start()
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


class ForkedProcess:
    """A forked kernel, as a ``Popen``-like handle: ``pid``, ``poll``, ``send_signal``, ``kill``, ``terminate``."""

    def __init__(self, pid: int, pidfd: int | None, zygote: ZygoteProcess) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.zygote = zygote

    def ended(self) -> bool:
        """The process has exited (reaped or not)."""
        if self.pid in self.zygote.exits or self.pidfd is None:
            return True
        readable, _, _ = select.select([self.pidfd], [], [], 0)
        return bool(readable)

    def poll(self) -> int | None:
        """The exit code once the zygote reported it (None while running); 1 when the zygote died unknowing."""
        code = self.zygote.exits.get(self.pid)
        if code is not None:
            return code
        if self.zygote.dead and self.ended():
            return 1
        return None

    def send_signal(self, signum: int) -> None:
        """Signal the kernel's process group (it leads one), or the kernel alone; nothing once it ended."""
        if self.ended():
            return
        try:
            os.killpg(self.pid, signum)
        except OSError:
            if self.pidfd is not None:
                try:
                    signal.pidfd_send_signal(self.pidfd, signum)
                except OSError:
                    pass

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def close(self) -> None:
        """Release the pidfd."""
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


_zygotes: dict[tuple[Any, ...], ZygoteProcess | str] = {}
_registry_lock = threading.Lock()
_key_locks: dict[tuple[Any, ...], threading.Lock] = {}


def zygote_for(modules: tuple[str, ...], env: dict[str, str], timeout: float) -> ZygoteProcess:
    """The zygote for ``modules`` and ``env``, started on first use (a start that failed is not retried).

    Once :data:`MAX_ZYGOTES` run, a notebook whose set has none gets the running zygote (same environment) with
    the largest subset of its modules, and imports the rest itself; never one with a module it does not import.

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
            zygote = ZygoteProcess(modules, env, timeout)
        except (OSError, RuntimeError) as exc:
            _zygotes[key] = f"{exc}"
            raise RuntimeError(str(exc)) from None
        _zygotes[key] = zygote
        return zygote


def close_zygotes() -> None:
    """End every zygote of this process and whatever children they still have; forget failed starts."""
    with _registry_lock:
        found = list(_zygotes.values())
        _zygotes.clear()
        _key_locks.clear()
    for zygote in found:
        if isinstance(zygote, ZygoteProcess):
            zygote.close()


atexit.register(close_zygotes)


def _fd(stream: Any) -> int | None:
    if isinstance(stream, int) and stream >= 0:
        return stream
    fileno = getattr(stream, "fileno", None)
    try:
        return int(fileno()) if fileno else None
    except (OSError, ValueError):
        return None


class ForkProvisioner(LocalProvisioner):
    """Launch a kernel by forking a zygote that imported :attr:`modules`; a fresh kernel when that is not safe.

    Attributes:
        fork_info: ``{"forked": True, "zygote": PID, "loaded": [...], "failed": {...}}`` or
            ``{"forked": False, "fallback": "why"}`` once launched.
    """

    modules = List(Unicode(), help="Modules the zygote imports (after ipykernel).").tag(config=True)
    timeout = Float(60.0, help="Seconds the zygote may take to start (imports included) and to fork.").tag(config=True)
    fork_info: dict[str, Any] = {}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Fork the kernel from the zygote; on refusal or failure, start it as the local provisioner does."""
        try:
            reason = await self._fork(cmd, kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure of the fork path falls back to a fresh kernel
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            return self.connection_info
        self.fork_info = {"forked": False, "fallback": reason}
        return await super().launch_kernel(cmd, **kwargs)

    async def _fork(self, cmd: list[str], kwargs: dict[str, Any]) -> str | None:
        why = unsupported()
        if why:
            return why
        if cmd[:3] != [sys.executable, *LAUNCHER]:
            return "only the current interpreter's ipykernel is forked"
        env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
        cwd = str(kwargs.get("cwd") or Path.cwd())
        base = {k: v for k, v in env.items() if k not in PER_KERNEL_ENV}
        timeout = float(self.timeout)
        zygote = await asyncio.to_thread(zygote_for, tuple(self.modules), base, timeout)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            stdout, stderr = (_fd(kwargs.get(name)) for name in ("stdout", "stderr"))
            stdout, stderr = null if stdout is None else stdout, null if stderr is None else stderr
            reply = await asyncio.wait_for(asyncio.wrap_future(zygote.fork(cmd[3:], env, cwd, stdout, stderr)),
                                           timeout)
        finally:
            os.close(null)
        if "refused" in reply:
            return f"the zygote refused to fork: {reply['refused']}"
        if "pid" not in reply:
            return f"the zygote could not fork: {reply.get('error', reply)}"
        pid = int(reply["pid"])
        self.process = ForkedProcess(pid, reply.get("pidfd"), zygote)  # type: ignore[assignment] # Popen-like
        self.pid, self.pgid, self.cwd = pid, pid, cwd
        self.fork_info = {"forked": True, "zygote": zygote.process.pid, "loaded": list(zygote.info.get("loaded", [])),
                          "failed": dict(zygote.info.get("failed", {}))}
        return None

    async def poll(self) -> int | None:
        """The forked kernel's exit code, None while it runs."""
        if isinstance(self.process, ForkedProcess):
            return self.process.poll()
        return await super().poll()

    async def wait(self) -> int | None:
        """Wait until the forked kernel exited (callers bound this with a timeout, as for the local one)."""
        if not isinstance(self.process, ForkedProcess):
            return await super().wait()
        while (code := self.process.poll()) is None:
            await asyncio.sleep(0.05)
        self.process.close()
        self.process = None
        return code

    async def send_signal(self, signum: int) -> None:
        """Signal the forked kernel's process group."""
        if isinstance(self.process, ForkedProcess):
            self.process.send_signal(signum)
            return
        await super().send_signal(signum)

"""Starting and stopping the fresh kernel each smoke notebook runs in.

By default a Python notebook runs in a kernel for the *current* interpreter (``sys.executable -m
ipykernel_launcher``) whether or not a kernelspec is installed, so CI never meets "no such kernel"; ``--kernel
NAME`` picks an installed kernelspec. The kernel gets the notebook's folder as cwd and its smoke context in the
environment (``JPY_SESSION_NAME``, ``JUPYTER_MLOPS_CONTEXT``), which ``%track`` reads to tag its runs ``smoke``.
Kernel output that bypasses Jupyter messaging (C-level writes, startup warnings) goes to a log file beside the
executed notebook instead of the terminal. Shutting a kernel down also ends every process it started
(:mod:`.procs`). jupyter_client is imported only here, inside functions.

Start races (ADR-034): over TCP, jupyter_client picks free ports and closes them before the kernel binds them,
so under load another process can take one first and the kernel dies with ``Address already in use``. The
current-interpreter kernel therefore talks over ``ipc`` (Unix sockets in a private temporary folder) on POSIX,
where no port is shared; and any kernel whose start fails on a bind is started again, up to
:data:`START_ATTEMPTS` times, each retry recorded. Other start failures are reported at once, as before.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any

from jupyter_mlops.config import ENV_BLOBS, ENV_RUN_CONTEXT, ENV_STORE
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.notebooks.smoke import procs
from jupyter_mlops.notebooks.smoke.zygotes import call_env

CURRENT = "<current interpreter>"
#: Starts of one kernel, in all, when each fails on a bind (a port taken between its choice and its use).
START_ATTEMPTS = 3
#: What a kernel that lost the port race prints before it exits (ZMQError / OSError, on Linux and macOS).
BIND_RACE_MARKERS = ("Address already in use", "EADDRINUSE")
#: Unix socket paths longer than this do not fit ``sun_path`` (104 bytes on macOS, 108 on Linux).
MAX_IPC_PATH = 100
_IPC_PREFIX = "nb-smoke-ipc-"


class KernelStartError(MlopsError):
    """A kernel that could not be started.

    Attributes:
        reason: ``kernel-missing`` or ``kernel-died``.
        bind_race: the start failed because a port or socket was already in use (worth another start).
        retries: the failed starts before this one that were retried (one line each).
    """

    code = "KERNEL_START"

    def __init__(self, message: str, reason: str, bind_race: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.bind_race = bind_race
        self.retries: list[str] = []


@dataclass
class Kernel:
    """A started kernel with a ready client.

    ``token`` marks every process it starts (:mod:`.procs`); ``start_retries`` says why earlier starts
    failed and were retried (empty when the first start worked); ``fork`` (with ``--fork``) says whether it was
    forked from a zygote or, and why, started fresh instead (:mod:`.fork`).
    """

    manager: Any
    client: Any
    name: str
    token: str = ""
    start_retries: list[str] = field(default_factory=list)
    fork: dict[str, Any] | None = None

    def pid(self) -> int | None:
        """The kernel process's id (None when unknown)."""
        process = getattr(getattr(self.manager, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def exit_code(self) -> int | None:
        """The kernel process's exit status once it has died (None while alive or unknown)."""
        process = getattr(getattr(self.manager, "provisioner", None), "process", None)
        return process.poll() if process is not None else None


def notebook_language(nb: Any) -> str:
    """The notebook's kernel language (``python`` when it does not say)."""
    meta = nb.get("metadata", {})
    language = meta.get("kernelspec", {}).get("language") or meta.get("language_info", {}).get("name")
    return str(language or "python").lower()


def choose_kernel(nb: Any, requested: str | None) -> str:
    """The kernel name to start: ``requested``, else :data:`CURRENT` for Python, else the notebook's own."""
    if requested:
        return requested
    if notebook_language(nb) == "python":
        return CURRENT
    return str(nb.get("metadata", {}).get("kernelspec", {}).get("name") or "python3")


def kernel_env(notebook: Path, parameters: dict[str, Any], throwaway: Path | None,
               extra: Mapping[str, str] | None = None, tags: Sequence[str] = ("smoke",),
               origin: str | None = None) -> dict[str, str]:
    """The environment of a smoke kernel: ours plus the smoke context.

    Args:
        notebook: the notebook the kernel will run.
        parameters: the injected parameters (recorded in the context).
        throwaway: with ``--no-track``, a folder for a throwaway store so ``%track`` writes nowhere that matters.
        extra: variables the call adds (a gate's store locations: ``SmokeOptions.kernel_env``).
        tags: the tags of the runs the kernel tracks (a sweep's point gives its own).
        origin: the notebook path the runs record, when ``notebook`` is a copy of it (on a cluster worker).
    """
    env = call_env(extra)
    path = origin or str(notebook.resolve())
    env["JPY_SESSION_NAME"] = path
    env[ENV_RUN_CONTEXT] = json.dumps(
        {"notebook_path": path, "tags": list(tags), "parameters": parameters}, default=str
    )
    if throwaway is not None:
        env[ENV_STORE] = f"sqlite:///{throwaway / 'mlops.db'}"
        env[ENV_BLOBS] = str(throwaway / "blobs")
    return env


#: Seconds between two looks at a kernel that was asked to shut down (jupyter_client's default: 0.1).
SHUTDOWN_POLL = 0.02


@functools.cache
def _manager_class() -> Any:
    """jupyter_client's ``AsyncKernelManager``, looking for a shut-down kernel's exit every :data:`SHUTDOWN_POLL` s.

    Its graceful shutdown asks the kernel to stop, then checks every 0.1 s whether the process ended: on
    average 0.05 s after the kernel's exit, and the last kernel's shutdown is on nb-smoke's critical path
    (ADR-118). Only the poll interval differs; the waits, the SIGTERM and the SIGKILL are jupyter_client's.
    """
    from jupyter_client.manager import AsyncKernelManager

    class SmokeKernelManager(AsyncKernelManager):
        async def _async_finish_shutdown(self, waittime: float | None = None, pollinterval: float = SHUTDOWN_POLL,
                                         restart: bool = False) -> None:
            await super()._async_finish_shutdown(waittime, min(pollinterval, SHUTDOWN_POLL), restart)

    return SmokeKernelManager


def _manager(name: str, fork: list[str] | None = None, startup_timeout: float = 60.0) -> Any:
    from jupyter_client.kernelspec import KernelSpec, NoSuchKernel

    AsyncKernelManager = _manager_class()  # noqa: N806 - a class

    if name == CURRENT:
        import importlib.util

        if importlib.util.find_spec("ipykernel") is None:
            raise KernelStartError(f"ipykernel is not installed for {sys.executable}; install it or pass --kernel",
                                   "kernel-missing")
        address = _ipc_address()
        transport = {"transport": "ipc", "ip": address} if address else {}
        manager = AsyncKernelManager(kernel_name="python3", **transport)
        # Setting the spec directly skips the kernelspec lookup: the current interpreter needs none installed.
        manager._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})", language="python", env={},
        )
        if fork is not None:  # the spec names the forking provisioner; jupyter_client's factory creates it
            from jupyter_mlops.notebooks.smoke import fork as forking

            forking.register()
            manager._kernel_spec.metadata = forking.kernelspec_metadata(fork, startup_timeout)
        return manager
    manager = AsyncKernelManager(kernel_name=name)
    try:
        _ = manager.kernel_spec
    except NoSuchKernel:
        available = ", ".join(sorted(manager.kernel_spec_manager.find_kernel_specs())) or "none installed"
        raise KernelStartError(f"no kernel named {name!r} (available: {available})", "kernel-missing") from None
    return manager


def _ipc_address() -> str | None:
    """A socket path prefix in a fresh private folder for an ``ipc`` kernel (None: use TCP)."""
    if os.name != "posix":
        return None
    try:
        folder = tempfile.mkdtemp(prefix=_IPC_PREFIX)
    except OSError:
        return None
    address = os.path.join(folder, "k")
    if len(address.encode()) + len("-99") > MAX_IPC_PATH:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return address


def _remove_ipc_folder(manager: Any) -> None:
    if getattr(manager, "transport", "tcp") != "ipc":
        return
    folder = os.path.dirname(str(manager.ip))
    if os.path.basename(folder).startswith(_IPC_PREFIX):  # only the folder _ipc_address made
        shutil.rmtree(folder, ignore_errors=True)


async def start_kernel(name: str, cwd: Path, env: dict[str, str], log_path: Path | None,
                       startup_timeout: float = 60.0, fork: list[str] | None = None) -> Kernel:
    """Start a kernel and wait until it answers ``kernel_info``; retry a start that lost a bind race.

    ``fork``: fork the kernel from a zygote that imported these modules (``--fork``, :mod:`.fork`); only the
    current interpreter's kernel forks, another ``name`` starts fresh and says so in :attr:`Kernel.fork`.

    Raises:
        KernelStartError: unknown kernel name (``kernel-missing``), or a kernel that exits or does not answer
            during startup (``kernel-died``), or that failed to bind on each of :data:`START_ATTEMPTS` starts.
    """
    retries: list[str] = []
    while True:
        try:
            kernel = await _start_once(name, cwd, env, log_path, startup_timeout, fork)
        except KernelStartError as exc:
            if exc.bind_race and len(retries) + 1 < START_ATTEMPTS:
                retries.append(exc.message)
                continue
            if exc.bind_race:
                exc.message += f" (on each of {START_ATTEMPTS} starts)"
            exc.retries = retries
            raise
        kernel.start_retries = retries
        return kernel


async def _start_once(name: str, cwd: Path, env: dict[str, str], log_path: Path | None,
                      startup_timeout: float, fork: list[str] | None = None) -> Kernel:
    manager = _manager(name, fork, startup_timeout)
    token = procs.new_token()
    env = {**env, procs.MARKER: token}
    python = name == CURRENT or manager.kernel_spec.language.lower() == "python"
    # An in-memory history keeps parallel kernels off one shared history.sqlite (locking, slow writes).
    extra = ["--HistoryManager.hist_file=:memory:"] if python else []
    # The kernel's stderr is kept even without a log file: it is where a lost bind race shows.
    log = open(log_path, "a+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115 - Popen dups the fd
    try:
        offset = log.seek(0, os.SEEK_END)
        try:
            await manager.start_kernel(cwd=str(cwd), env=env, stdout=log, stderr=log, extra_arguments=extra)
        except (OSError, ValueError) as exc:
            _remove_ipc_folder(manager)
            race = isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE
            raise KernelStartError(f"cannot start kernel {name}: {exc}", "kernel-died" if race else "kernel-missing",
                                   bind_race=race) from None
        client = manager.client()
        client.start_channels()
        try:
            await wait_ready(client, startup_timeout)
        except RuntimeError as exc:
            client.stop_channels()
            await _kill(manager)
            await _end_processes(token, [])
            _remove_ipc_folder(manager)
            bind_line = _bind_race_line(log, offset)
            where = f" (kernel log: {log_path})" if log_path else ""
            detail = f": {bind_line}" if bind_line else ""
            raise KernelStartError(f"kernel failed to start: {exc}{detail}{where}", "kernel-died",
                                   bind_race=bool(bind_line)) from None
    finally:
        log.close()
    client.allow_stdin = False
    forked = None
    if fork is not None:
        forked = dict(getattr(manager.provisioner, "fork_info", None) or {}) or {
            "forked": False, "fallback": "only the current interpreter's kernel is forked (--kernel given)"}
    return Kernel(manager=manager, client=client, name=name, token=token, fork=forked)


async def wait_ready(client: Any, timeout: float) -> None:
    """Wait until the kernel answers ``kernel_info`` and its IOPub is connected: ``wait_for_ready``, minus a wait.

    The same loop as jupyter_client's ``wait_for_ready`` (a ``kernel_info`` request until the reply comes and one
    IOPub message shows IOPub connected; the kernel's death or the timeout end it with the same ``RuntimeError``),
    except its last step: jupyter_client then reads IOPub until it stays empty for 0.2 s, a fixed 0.2 s on every
    start. Here IOPub is drained of what has already arrived; a late ``kernel_info`` status message is harmless,
    as nbclient and :func:`.preload` read only the messages of their own requests (ADR-118).

    Raises:
        RuntimeError: the kernel died, or did not answer within ``timeout`` seconds.
    """
    from queue import Empty

    deadline = monotonic() + timeout
    while True:
        client.kernel_info()
        try:
            msg = await client.shell_channel.get_msg(timeout=min(1.0, max(0.05, deadline - monotonic())))
        except Empty:
            pass
        else:
            if msg["msg_type"] == "kernel_info_reply":
                try:
                    await client.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    client._handle_kernel_info_reply(msg)  # noqa: SLF001 - what wait_for_ready does with it
                    break
        if not await client.is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
    while True:
        try:
            await client.iopub_channel.get_msg(timeout=0)
        except Empty:
            return


def _bind_race_line(log: Any, offset: int) -> str:
    """The line of this start's kernel output that says a bind failed ("" when none does)."""
    try:
        log.flush()
        log.seek(offset)
        text = bytes(log.read(1 << 20)).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    for line in text.splitlines():
        if any(marker in line for marker in BIND_RACE_MARKERS):
            return line.strip()[:300]
    return ""


async def shutdown_kernel(kernel: Kernel) -> None:
    """Shut down, then end every process the kernel started; never raises.

    The shutdown is graceful (so ``%track`` runs end as finished); the kernel's processes are ended even when
    they left its session or were double-forked.
    """
    started = procs.descendants(kernel.pid())  # before shutdown: orphans lose their parent link
    try:
        kernel.client.stop_channels()
        if await kernel.manager.is_alive():
            await kernel.manager.shutdown_kernel(now=False)
        else:
            await kernel.manager.cleanup_resources()
    except Exception:  # noqa: BLE001 - a kernel that refuses to stop must not hide the smoke result
        await _kill(kernel.manager)
    await _end_processes(kernel.token, started)
    _remove_ipc_folder(kernel.manager)


async def _end_processes(token: str, known: list[Any]) -> None:
    if not token:
        return
    try:
        await asyncio.to_thread(procs.end_tree, token, known)
    except Exception:  # noqa: BLE001 - best effort: a process table we cannot read must not fail the run
        pass


async def _kill(manager: Any) -> None:
    try:
        await manager.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - best effort: the process may already be gone
        pass

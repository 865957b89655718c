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

Zygotes live for the process (``pytest --nb-smoke`` items share them); :func:`.zygotes.close_zygotes` ends them and
their children, and runs at exit. A zygote whose socket closes (we ended or died) ends its children and exits.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import Float, List, Unicode

from jupyter_mlops.notebooks.smoke.zygotes import ZygoteProcess, unsupported, zygote_env, zygote_for

#: The provisioner's name in kernelspecs and under the ``jupyter_client.kernel_provisioners`` entry point.
NAME = "nb-smoke-fork"
ENTRY_POINT = "jupyter_mlops.notebooks.smoke.fork:ForkProvisioner"
GROUP = "jupyter_client.kernel_provisioners"
LAUNCHER = ["-m", "ipykernel_launcher"]


def register() -> None:
    """Make :data:`NAME` known to jupyter_client's provisioner factory, installed entry point or not."""
    from importlib.metadata import EntryPoint

    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    KernelProvisionerFactory.provisioners.setdefault(NAME, EntryPoint(name=NAME, value=ENTRY_POINT, group=GROUP))


def kernelspec_metadata(modules: list[str], timeout: float = 60.0) -> dict[str, Any]:
    """The ``metadata`` of a kernelspec whose kernels are forked from a zygote that imported ``modules``."""
    return {"kernel_provisioner": {"provisioner_name": NAME,
                                   "config": {"modules": list(modules), "timeout": timeout}}}


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
        fork_info: ``{"forked": True, "zygote": PID, "loaded": [...], "failed": {...}, "early": bool}`` (early:
            the zygote was started before nb-smoke knew its modules, ADR-118) or
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
        base = zygote_env(env)
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
                          "failed": dict(zygote.info.get("failed", {})), "early": zygote.early}
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

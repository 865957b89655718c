"""Starting and stopping the fresh kernel each smoke notebook runs in.

By default a Python notebook runs in a kernel for the *current* interpreter (``sys.executable -m
ipykernel_launcher``) whether or not a kernelspec is installed, so CI never meets "no such kernel"; ``--kernel
NAME`` picks an installed kernelspec. The kernel gets the notebook's folder as cwd and its smoke context in the
environment (``JPY_SESSION_NAME``, ``JUPYTER_MLOPS_CONTEXT``), which ``%track`` reads to tag its runs ``smoke``.
Kernel output that bypasses Jupyter messaging (C-level writes, startup warnings) goes to a log file beside the
executed notebook instead of the terminal. Shutting a kernel down also ends every process it started
(:mod:`.smoke_procs`). jupyter_client is imported only here, inside functions.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.config import ENV_BLOBS, ENV_RUN_CONTEXT, ENV_STORE
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.notebooks import smoke_procs

CURRENT = "<current interpreter>"


class KernelStartError(MlopsError):
    """A kernel that could not be started; ``reason`` is ``kernel-missing`` or ``kernel-died``."""

    code = "KERNEL_START"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Kernel:
    """A started kernel with a ready client; ``token`` marks every process it starts (:mod:`.smoke_procs`)."""

    manager: Any
    client: Any
    name: str
    token: str = ""

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


def kernel_env(notebook: Path, parameters: dict[str, Any], throwaway: Path | None) -> dict[str, str]:
    """The environment of a smoke kernel: ours plus the smoke context.

    Args:
        notebook: the notebook the kernel will run.
        parameters: the injected parameters (recorded in the context).
        throwaway: with ``--no-track``, a folder for a throwaway store so ``%track`` writes nowhere that matters.
    """
    env = dict(os.environ)
    path = str(notebook.resolve())
    env["JPY_SESSION_NAME"] = path
    env[ENV_RUN_CONTEXT] = json.dumps(
        {"notebook_path": path, "tags": ["smoke"], "parameters": parameters}, default=str
    )
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences debugpy's frozen-modules warning
    if throwaway is not None:
        env[ENV_STORE] = f"sqlite:///{throwaway / 'mlops.db'}"
        env[ENV_BLOBS] = str(throwaway / "blobs")
    return env


def _manager(name: str) -> Any:
    from jupyter_client.kernelspec import KernelSpec, NoSuchKernel
    from jupyter_client.manager import AsyncKernelManager

    if name == CURRENT:
        import importlib.util

        if importlib.util.find_spec("ipykernel") is None:
            raise KernelStartError(f"ipykernel is not installed for {sys.executable}; install it or pass --kernel",
                                   "kernel-missing")
        manager = AsyncKernelManager(kernel_name="python3")
        # Setting the spec directly skips the kernelspec lookup: the current interpreter needs none installed.
        manager._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})", language="python", env={},
        )
        return manager
    manager = AsyncKernelManager(kernel_name=name)
    try:
        _ = manager.kernel_spec
    except NoSuchKernel:
        available = ", ".join(sorted(manager.kernel_spec_manager.find_kernel_specs())) or "none installed"
        raise KernelStartError(f"no kernel named {name!r} (available: {available})", "kernel-missing") from None
    return manager


async def start_kernel(name: str, cwd: Path, env: dict[str, str], log_path: Path | None,
                       startup_timeout: float = 60.0) -> Kernel:
    """Start a kernel and wait until it answers ``kernel_info``.

    Raises:
        KernelStartError: unknown kernel name (``kernel-missing``), or a kernel that exits or does not answer
            during startup (``kernel-died``).
    """
    manager = _manager(name)
    token = smoke_procs.new_token()
    env = {**env, smoke_procs.MARKER: token}
    python = name == CURRENT or manager.kernel_spec.language.lower() == "python"
    # An in-memory history keeps parallel kernels off one shared history.sqlite (locking, slow writes).
    extra = ["--HistoryManager.hist_file=:memory:"] if python else []
    log = open(log_path, "ab") if log_path else open(os.devnull, "wb")  # noqa: SIM115 - Popen dups the fd
    try:
        await manager.start_kernel(cwd=str(cwd), env=env, stdout=log, stderr=log, extra_arguments=extra)
    except (OSError, ValueError) as exc:
        raise KernelStartError(f"cannot start kernel {name}: {exc}", "kernel-missing") from None
    finally:
        log.close()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=startup_timeout)
    except RuntimeError as exc:
        client.stop_channels()
        await _kill(manager)
        await _end_processes(token, [])
        where = f" (kernel log: {log_path})" if log_path else ""
        raise KernelStartError(f"kernel failed to start: {exc}{where}", "kernel-died") from None
    client.allow_stdin = False
    return Kernel(manager=manager, client=client, name=name, token=token)


async def shutdown_kernel(kernel: Kernel) -> None:
    """Shut down, then end every process the kernel started; never raises.

    The shutdown is graceful (so ``%track`` runs end as finished); the kernel's processes are ended even when
    they left its session or were double-forked.
    """
    started = smoke_procs.descendants(kernel.pid())  # before shutdown: orphans lose their parent link
    try:
        kernel.client.stop_channels()
        if await kernel.manager.is_alive():
            await kernel.manager.shutdown_kernel(now=False)
        else:
            await kernel.manager.cleanup_resources()
    except Exception:  # noqa: BLE001 - a kernel that refuses to stop must not hide the smoke result
        await _kill(kernel.manager)
    await _end_processes(kernel.token, started)


async def _end_processes(token: str, known: list[Any]) -> None:
    if not token:
        return
    try:
        await asyncio.to_thread(smoke_procs.end_tree, token, known)
    except Exception:  # noqa: BLE001 - best effort: a process table we cannot read must not fail the run
        pass


async def _kill(manager: Any) -> None:
    try:
        await manager.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - best effort: the process may already be gone
        pass

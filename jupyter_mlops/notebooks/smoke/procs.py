"""Ending every process a smoke kernel started, once its notebook is done.

Shutting a kernel down ends the kernel, not what it started: ``subprocess.Popen(["sleep", "900"],
start_new_session=True)`` or a double-forked daemon outlived nb-smoke. A process group does not hold them
(``setsid`` leaves it) and a cgroup needs privileges, so each smoke kernel gets a random token in its environment
(:data:`MARKER`), which every process it starts inherits, whatever session or parent it ends up with. When the
notebook is done, :func:`end_tree` ends the processes carrying the token, plus the kernel's descendants seen
just before shutdown (which catches a child that replaced its environment while still attached): SIGTERM, a
short grace, then SIGKILL, repeated until none is left, so a process forked meanwhile is caught too. What still
escapes is a process that both leaves the kernel's tree and drops the variable (``env -i`` after a double fork).
See ADR-023. psutil reads process environments on Linux, macOS and Windows; it is imported here only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from typing import Any

#: Environment variable carrying the kernel's token to every process it starts.
MARKER = "JUPYTER_MLOPS_SMOKE_KERNEL"
GRACE = 1.0
ROUNDS = 5


def new_token() -> str:
    """A fresh random token for one kernel."""
    return secrets.token_hex(8)


def descendants(pid: int | None) -> list[Any]:
    """The live descendants of ``pid`` as ``psutil.Process`` objects ([] when it is gone)."""
    import psutil

    if pid is None:
        return []
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def marked(token: str, variable: str = MARKER) -> list[Any]:
    """Every process whose environment carries ``variable=token`` (default :data:`MARKER`; never this process)."""
    import psutil

    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(variable) == token:
                found.append(process)
        except psutil.Error:  # gone, a zombie, or another user's process: not ours to end
            continue
    return found


def _alive(processes: Iterable[Any]) -> list[Any]:
    import psutil

    alive = []
    for process in processes:
        try:  # is_running also checks the creation time, so a recycled pid is never taken for ours
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            continue
    return alive


def end_tree(token: str, known: Iterable[Any] = (), variable: str = MARKER) -> int:
    """End the processes marked with ``token`` (in ``variable``) and those of ``known`` still running; return how many.

    Blocking (up to about ``ROUNDS * GRACE`` seconds for processes that ignore SIGTERM): run it in a thread.
    """
    import psutil

    ended: set[int] = set()
    candidates = list(known)
    for _ in range(ROUNDS):
        targets = {p.pid: p for p in _alive([*candidates, *marked(token, variable)])}
        if not targets:
            break
        for process in targets.values():
            try:
                process.terminate()
            except psutil.Error:
                continue
        _, stubborn = psutil.wait_procs(list(targets.values()), timeout=GRACE)
        for process in stubborn:
            try:
                process.kill()
            except psutil.Error:
                continue
        psutil.wait_procs(stubborn, timeout=GRACE)
        ended.update(targets)
        candidates = []
    return len(ended)

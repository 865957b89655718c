"""The zygote of ``nb-smoke --fork``: a process that imported ipykernel and a module set once, and forks kernels.

Run by :mod:`.fork` as ``python -c 'runpy.run_path(<this file>)' FD MODULES`` (a path, not ``-m``: importing it
as ``jupyter_mlops.notebooks.smoke.zygote`` would import the jupyter_mlops package into every kernel). It
imports only the standard library, ipykernel's app and the modules it is given, never runs notebook code, and
answers requests on the ``SOCK_SEQPACKET`` socket ``FD`` (one JSON message each; a fork request carries the
kernel's stdout and stderr as file descriptors):

- ``{"op": "fork", "id": N, "args": [...], "env": {...}, "cwd": "..."}`` → ``{"id": N, "pid": PID}``, or
  ``{"id": N, "refused": "why"}`` when forking is not safe now (:func:`hazards`): the caller then starts a
  fresh kernel;
- a child that exits is reaped here (it is this process's child) and reported: ``{"exit": PID, "code": C}``
  (``C`` as ``Popen.returncode``: negative for a signal).

The child leaves the zygote's session, takes the notebook's stdin (``/dev/null``), stdout and stderr, closes
the zygote's own descriptors (socket, wakeup pipe, selector; a descriptor an imported module opened is the
module's, as in a fresh kernel, and closing it under the module's file object would later close a reused
number), replaces its environment and working directory with the notebook's, reseeds the random generators
a fork would share (numpy's legacy global ``RandomState`` is seeded once, at import), and runs stock ipykernel
exactly as ``python -m ipykernel_launcher`` does. When the socket closes (nb-smoke ended, or died), the zygote
ends its live children and exits. ADR-074 (what forking saves and risks), ADR-099 (this design).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

#: What ipykernel_launcher's ``-m`` run imports before the kernel starts (ADR-074's probe imported the same).
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell")
#: Threads a library starts at import that survive ``fork`` by design: jemalloc (pyarrow's allocator, loaded by
#: pandas) restarts its background threads after fork in its own ``pthread_atfork`` handlers.
FORK_SAFE_THREADS = ("jemalloc_bg_thd",)
#: Shared libraries whose state does not survive ``fork`` (ADR-074): a CUDA context, an OpenMP pool (we cannot
#: tell from outside whether it already ran a parallel region, so a mapped runtime counts), MKL.
UNSAFE_LIBRARIES = {"libcuda.so": "libcuda is mapped (a CUDA context does not survive fork)",
                    "libgomp": "an OpenMP runtime (libgomp) is mapped",
                    "libiomp": "an OpenMP runtime (libiomp) is mapped",
                    "libomp.so": "an OpenMP runtime (libomp) is mapped", "libmkl": "MKL is mapped"}
#: How OpenBLAS builds name their thread-count getter (numpy's wheels use the scipy_openblas64_ prefix).
OPENBLAS_GETTERS = ("openblas_get_num_threads", "openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                    "scipy_openblas_get_num_threads64_")
#: The module list of an early start: wait for nb-smoke's ``import`` message (as in :mod:`.zygotes`).
WAIT_FOR_MODULES = "@"
_MAX_MESSAGE = 1 << 20
_TERM_GRACE = 2.0


def threads() -> list[str]:
    """The names (``comm``) of this process's OS threads, the main thread included."""
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm", encoding="utf-8", errors="replace") as comm:
                names.append(comm.read().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return names


def mapped_libraries() -> set[str]:
    """Paths of the shared libraries mapped into this process."""
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        return {line.split()[-1] for line in maps if ".so" in line and "/" in line}


def blas_pool(libraries: set[str]) -> int:
    """Worker threads the mapped OpenBLAS libraries may hold (``num_threads - 1`` each; 0 when none is mapped).

    The getter is called through ctypes on the library already loaded (``RTLD_NOLOAD``): nothing new is loaded.
    """
    import ctypes

    workers = 0
    for path in libraries:
        if "openblas" not in os.path.basename(path).lower():
            continue
        try:
            library = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
        for name in OPENBLAS_GETTERS:
            getter = getattr(library, name, None)
            if getter is not None:
                workers += max(0, int(getter()) - 1)
                break
    return workers


def hazards() -> list[str]:
    """Why forking this process now would give a broken or shared kernel ([] when it is safe).

    More OS threads than the main thread, the OpenBLAS pool and :data:`FORK_SAFE_THREADS` (a thread started at
    import holds locks a child would inherit locked); a library of :data:`UNSAFE_LIBRARIES` mapped.
    """
    libraries = mapped_libraries()
    reasons = sorted({why for path in libraries for marker, why in UNSAFE_LIBRARIES.items()
                      if os.path.basename(path).startswith(marker)})
    names = threads()
    allowed = 1 + blas_pool(libraries) + sum(name in FORK_SAFE_THREADS for name in names)
    if len(names) > allowed:
        reasons.append(f"{len(names)} OS threads, more than its BLAS pool accounts for ({allowed})")
    return reasons


def import_modules(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import ``names`` in order: (imported, {name: error}) — a failure is left for the notebook to meet."""
    loaded, failed = [], {}
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a module may raise anything, SystemExit included
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            loaded.append(name)
    return loaded, failed


def freeze() -> None:
    """Move what the imports left alive out of the collector's sight, for the zygote and every fork (ADR-118).

    A fork shares the zygote's memory copy-on-write; the cyclic collector of each kernel would otherwise walk
    (and so write to, and copy) every object the imports made, during the notebook and again at exit: ~0.1
    CPU-s per kernel with numpy and pandas. ``gc.freeze`` is CPython's tool for this; the notebook's own objects
    are collected as in a fresh kernel. No ``gc.collect`` first: after ipykernel, numpy and pandas it found
    nothing to collect and took 35 ms before the first fork; garbage an import might leave would only stay
    uncollected, shared by the forks, never touched.
    """
    gc.freeze()


def reseed() -> None:
    """Give this fork its own random state where a fork would share the zygote's (fresh kernels never do)."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()  # legacy global RandomState, from OS entropy
    python_random = sys.modules.get("random")
    if python_random is not None:
        python_random.seed()  # CPython reseeds it at fork already; harmless and explicit


def run_kernel(args: list[str], env: dict[str, str], cwd: str, stdout: int, stderr: int) -> None:
    """In the forked child: become the notebook's fresh kernel process and run stock ipykernel until it exits."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a new interpreter starts (the zygote ignores it)
    os.setsid()  # its own session and process group, as jupyter_client gives a launched kernel
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    for fd in {null, stdout, stderr} - {0, 1, 2}:
        os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    reseed()
    import ipykernel_launcher

    sys.argv = [ipykernel_launcher.__file__, *args]
    if sys.path and sys.path[0] in ("", cwd):  # what ipykernel_launcher does; the app puts "" back
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


class Zygote:
    """The serving loop: requests from the socket, exits of children (SIGCHLD through a wakeup pipe)."""

    def __init__(self, sock: socket.socket, loaded: list[str]) -> None:
        self.sock = sock
        self.loaded = loaded
        self.children: set[int] = set()
        self.selector: selectors.BaseSelector | None = None
        self.wake: tuple[int, int] | None = None

    def send(self, message: dict[str, Any]) -> None:
        """One message to nb-smoke."""
        self.sock.send(json.dumps(message).encode())

    def serve(self) -> Callable[[], None] | None:
        """Serve until the socket closes (None), or return, in a forked child, the call that runs its kernel."""
        wake_read, wake_write = self.wake = os.pipe()
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD writes to the wakeup fd
        selector = self.selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        selector.register(wake_read, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj == wake_read:
                    os.read(wake_read, 512)
                    continue
                message, fds, _, _ = socket.recv_fds(self.sock, _MAX_MESSAGE, 4)
                if not message:
                    for fd in fds:
                        os.close(fd)
                    return None
                child = self.request(json.loads(message), fds)
                if child is not None:
                    return child
            self.reap()

    def request(self, request: dict[str, Any], fds: list[int]) -> Callable[[], None] | None:
        """Answer one request; in the forked child, return the call that runs its kernel."""
        if request.get("op") != "fork" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            self.send({"id": request.get("id"), "error": "bad request"})
            return None
        reasons = hazards()
        if reasons:
            for fd in fds:
                os.close(fd)
            self.send({"id": request["id"], "refused": "; ".join(reasons)})
            return None
        pid = os.fork()
        if pid == 0:
            self.children.clear()
            self.close_plumbing()
            args, env, cwd = list(request["args"]), dict(request["env"]), str(request["cwd"])
            return lambda: run_kernel(args, env, cwd, fds[0], fds[1])
        for fd in fds:
            os.close(fd)
        self.children.add(pid)
        self.send({"id": request["id"], "pid": pid})
        return None

    def close_plumbing(self) -> None:
        """In a child: close the zygote's own descriptors (through their objects, so none is closed twice)."""
        signal.set_wakeup_fd(-1)
        if self.selector is not None:
            self.selector.close()
        if self.wake is not None:
            for fd in self.wake:
                os.close(fd)
        self.sock.close()

    def reap(self) -> None:
        """Collect every child that exited and report its exit code."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            try:
                self.send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})
            except OSError:  # nb-smoke is gone: keep reaping, the loop ends on the closed socket
                pass

    def end_children(self) -> None:
        """SIGTERM each live child's process group, a grace, then SIGKILL; reap them."""
        for signum in (signal.SIGTERM, signal.SIGKILL):
            for pid in list(self.children):
                try:
                    os.killpg(pid, signum)
                except OSError:
                    pass
            deadline = time.monotonic() + _TERM_GRACE
            while self.children and time.monotonic() < deadline:
                self.reap()
                time.sleep(0.02)
            if not self.children:
                return


def wait_for_modules(sock: socket.socket) -> list[str] | None:
    """An early-started zygote's modules, from nb-smoke's ``import`` message (None: nb-smoke closed the socket)."""
    message = sock.recv(_MAX_MESSAGE)
    if not message:
        return None
    request = json.loads(message)
    if request.get("op") != "import":
        return None
    return [str(name) for name in request.get("modules", [])]


def main(argv: list[str]) -> None:
    """``FD MODULES``: import ipykernel and MODULES (comma-separated), say ready, serve.

    MODULES ``@`` (an early start, ADR-118): import ipykernel, then wait for ``{"op": "import", "modules":
    [...]}`` to learn the modules; exit when the socket closes first.
    """
    sock = socket.socket(fileno=int(argv[0]))
    listed = argv[1] if len(argv) > 1 else ""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # nb-smoke ends the zygote; Ctrl-C reaches nb-smoke only
    began = time.perf_counter()
    kernel_loaded, kernel_failed = import_modules(list(KERNEL_MODULES))
    if listed == WAIT_FOR_MODULES:
        waited = time.perf_counter()
        modules = wait_for_modules(sock)
        if modules is None:
            os._exit(0)  # not adopted (nb-smoke ended, or ran no forked kernel): nothing to finalize
        began += time.perf_counter() - waited  # import_s: import time only
    else:
        modules = [name for name in listed.split(",") if name]
    loaded, failed = import_modules(modules)
    freeze()
    zygote = Zygote(sock, loaded)
    zygote.send({"ready": not kernel_failed, "pid": os.getpid(), "loaded": loaded, "failed": failed,
                 "kernel_failed": kernel_failed, "import_s": round(time.perf_counter() - began, 3),
                 "threads": threads(), "hazards": hazards()})
    if kernel_failed:
        return
    child = None
    try:
        child = zygote.serve()
    finally:
        if child is None:
            zygote.end_children()
    if child is None:
        # The zygote ran no notebook code: nothing of its own to flush or finalize, and tearing down an
        # interpreter holding pandas takes ~0.2 s that nb-smoke would wait for (ADR-118).
        os._exit(0)
    child()  # the zygote's frames are gone; the kernel runs, then this interpreter exits as a kernel's does


if __name__ == "__main__":
    main(sys.argv[1:])

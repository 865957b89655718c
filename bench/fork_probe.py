"""What forking a pre-imported process would save over a fresh kernel with --preload, and what it would risk.

Measured before it was built (issue 15 §2, ADR-074); built since as ``nb-smoke --fork`` (ADR-099, whose
zygote refuses to fork in the states this probe reports as risks, ADR-100). Three ways to a kernel that has
numpy and pandas imported and answers ``kernel_info``:

- ``fresh``: nb-smoke's own ``start_kernel`` (``python -m ipykernel_launcher``, until ``kernel_info`` answers);
- ``fresh + preload``: the same, then ``--preload numpy,pandas`` done by nb-smoke's ``preload``;
  also the CPU seconds the kernel process used (user + system, psutil): on a loaded machine wall times grow with
  the load, CPU seconds much less, and on 2 busy cores CPU is what a runner can save;
- ``fork``: a *zygote* process that imported ipykernel's app, numpy and pandas once; on each request it forks,
  and the child initialises and starts an ``IPKernelApp`` on a fresh connection file; timed from the request
  until the child's ``kernel_info`` reply, and the child's own CPU seconds by then. Also the bare ``os.fork()`` +
  ``_exit`` + ``waitpid`` of the zygote.

And what the zygote holds at the moment it would fork (the risks): ``threading.active_count()``, the OS threads
of the process (``/proc/self/task``, which counts OpenBLAS's worker pool), the BLAS libraries and their thread
counts (threadpoolctl, when installed), whether a zmq context exists, whether a CUDA driver library is mapped.
Each forked kernel then runs a 500×500 matrix product, with a timeout, to see that BLAS still works after fork,
and draws from numpy's and Python's global random generators, to see whether the forks share a seed.

Usage: .venv/bin/python bench/fork_probe.py [--repeat 5]  (writes bench/results/fork_probe.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

ZYGOTE = r'''
import json, os, signal, sys, threading, time
began = time.perf_counter()
import ipykernel.kernelapp, ipykernel.ipkernel, ipykernel.zmqshell
import numpy, pandas
imported = time.perf_counter() - began

def state():
    info = {"python_threads": threading.active_count(), "os_threads": len(os.listdir("/proc/self/task")),
            "imported_s": round(imported, 3)}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "threading_layer")}
                        for p in threadpool_info()]
    except Exception as exc:
        info["blas"] = repr(exc)
    import zmq
    info["zmq_context_exists"] = zmq.Context._instance is not None
    maps = open("/proc/self/maps").read()
    info["cuda_mapped"] = "libcuda" in maps
    info["rss_mib"] = round(int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    return info

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped by the kernel
print(json.dumps(state()), flush=True)
for line in sys.stdin:
    request = line.strip()
    if request == "bare":
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        print(json.dumps({"bare_fork_s": time.perf_counter() - t0}), flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        app.initialize(["-f", request, "--HistoryManager.hist_file=:memory:"])
        app.start()
        os._exit(0)
    print(json.dumps({"pid": pid}), flush=True)
'''
#: numpy's legacy global generator is seeded once, at import: every fork of the zygote would draw the same numbers.
RANDOMS = "import numpy as np, random\nprint(np.random.rand(), random.random())"
PRODUCT = "import numpy as np\nassert (np.ones((500, 500)) @ np.ones((500, 500))).sum() == 500 ** 3"


def fresh(repeat: int) -> dict[str, Any]:
    from jupyter_mlops.notebooks.smoke.kernel import CURRENT, shutdown_kernel, start_kernel
    from jupyter_mlops.notebooks.smoke.preload import preload

    async def once() -> tuple[float, float]:
        began = time.perf_counter()
        kernel = await start_kernel(CURRENT, Path.cwd(), dict(os.environ), None)
        started = time.perf_counter()
        result = await preload(kernel, ["numpy", "pandas"], 120)
        assert not result.failed, result.failed
        loaded = time.perf_counter()
        cpu = cpu_seconds(kernel.pid())
        await shutdown_kernel(kernel)
        return started - began, loaded - began, cpu

    rows = [asyncio.run(once()) for _ in range(repeat)]
    return {"fresh_s": [round(r[0], 3) for r in rows], "fresh_preload_s": [round(r[1], 3) for r in rows],
            "fresh_median_s": round(statistics.median(r[0] for r in rows), 3),
            "fresh_preload_median_s": round(statistics.median(r[1] for r in rows), 3),
            "fresh_preload_cpu_median_s": round(statistics.median(r[2] for r in rows), 3)}


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds the process has used itself (a forked child starts at 0)."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def printed_by(client: Any, code: str) -> str:
    """What ``code`` prints in the kernel behind ``client``."""
    printed: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"].get("text", ""))

    client.execute_interactive(code, timeout=60, output_hook=hook)
    return "".join(printed).strip()


def forked(repeat: int) -> dict[str, Any]:
    from jupyter_client.blocking import BlockingKernelClient
    from jupyter_client.connect import write_connection_file

    zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert zygote.stdin is not None and zygote.stdout is not None
    state = json.loads(zygote.stdout.readline())
    folder = Path(tempfile.mkdtemp(prefix="fork-probe-"))
    starts, products, bare, randoms, cpus = [], [], [], [], []
    try:
        for i in range(repeat):
            zygote.stdin.write("bare\n")
            zygote.stdin.flush()
            bare.append(json.loads(zygote.stdout.readline())["bare_fork_s"])
            connection, _ = write_connection_file(str(folder / f"k{i}.json"), transport="ipc",
                                                  ip=str(folder / f"k{i}"))
            client = BlockingKernelClient()
            client.load_connection_file(connection)
            began = time.perf_counter()
            zygote.stdin.write(connection + "\n")
            zygote.stdin.flush()
            pid = json.loads(zygote.stdout.readline())["pid"]
            client.start_channels()
            client.wait_for_ready(timeout=60)
            starts.append(time.perf_counter() - began)
            cpus.append(cpu_seconds(pid))
            t0 = time.perf_counter()
            reply = client.execute_interactive(PRODUCT, timeout=60, output_hook=lambda msg: None)
            products.append({"status": reply["content"]["status"], "seconds": round(time.perf_counter() - t0, 3),
                             "ename": reply["content"].get("ename")})
            randoms.append(printed_by(client, RANDOMS))
            client.shutdown()
            client.stop_channels()
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    return {"zygote": state, "fork_to_kernel_info_s": [round(s, 3) for s in starts],
            "fork_median_s": round(statistics.median(starts), 4),
            "fork_cpu_median_s": round(statistics.median(cpus), 3),
            "bare_fork_median_ms": round(statistics.median(bare) * 1000, 2), "matrix_product_after_fork": products,
            "random_draws_per_fork": randoms, "numpy_global_random_same_in_every_fork":
                len({r.split()[0] for r in randoms if r}) == 1 and len(randoms) > 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "fork_probe.json"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    result = {"load_before": round(load, 2), "cpus": os.cpu_count(), **fresh(args.repeat), **forked(args.repeat),
              "load_after": round(os.getloadavg()[0], 2)}
    result["saved_per_kernel_s"] = round(result["fresh_preload_median_s"] - result["fork_median_s"], 3)
    result["saved_cpu_per_kernel_s"] = round(result["fresh_preload_cpu_median_s"] - result["fork_cpu_median_s"], 3)
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

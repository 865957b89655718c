"""``nb-smoke --executor dask://`` (a local scheduler, 2 single-threaded workers) against ``--executor local -j 2``.

12 small notebooks (no pandas: a parameters cell and ~0.1 s of pure-Python work each). The cluster is started
once, before the rounds (its start is a one-off on a real cluster and is reported apart), and one untimed call
starts each worker's runner process (also a one-off per worker, reported apart); each round then times,
in an order alternated between rounds, one ``nb-smoke`` call per executor, as a user types it (a fresh process,
``--no-track``, ``--plain``). The 1-minute load average is read before each call. The target (issue 13): the
Dask median within 1.3x of the local median.

Usage: .venv/bin/python bench/dask_bench.py [--rounds 3] [--notebooks 12]
Results: bench/results/dask.json (every call, medians, ratio, load averages).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
CELLS = ["total = sum(i * i for i in range(n))", "assert total > 0\nprint(total % 97)"]


def _notebooks(folder: Path, count: int) -> None:
    import nbformat

    for i in range(count):
        params = nbformat.v4.new_code_cell(f"n = {300_000 + i}")
        params.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[params, *(nbformat.v4.new_code_cell(c) for c in CELLS)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"nb{i:02d}.ipynb")


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_cluster(folder: Path) -> tuple[str, list[subprocess.Popen[bytes]], float]:
    from distributed import Client

    began = time.perf_counter()
    port, env = _port(), _env()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
                                       "1", "--no-dashboard", "--host", "127.0.0.1"], cwd=folder, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    with Client(address, timeout=120, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
    return f"dask://127.0.0.1:{port}", procs, time.perf_counter() - began


def _call(folder: Path, executor: list[str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run([*NB_SMOKE, "nbs", *executor, "--no-track", "--plain", "--output-dir", "out"], cwd=folder,
                          env=_env(), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 3), "exit": done.returncode, "load1": round(load, 2),
            "tail": done.stdout.strip().splitlines()[-1:] if done.returncode else []}


def main() -> None:
    """Run the rounds and print/write the medians and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--notebooks", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        folder = Path(tmp)
        (folder / "nbs").mkdir()
        _notebooks(folder / "nbs", args.notebooks)
        address, procs, started = _start_cluster(folder)
        executors = {"local -j 2": ["--executor", "local", "-j", "2"], "dask 2x1": ["--executor", address]}
        rounds: list[dict[str, Any]] = []
        try:
            # Untimed: the first call starts each worker's runner process (ADR-093), a one-off per worker like
            # the cluster's own start; its time is reported apart.
            warm = _call(folder, executors["dask 2x1"])
            print(f"warm-up call (starts the workers' runner processes): {warm['seconds']:.2f}s", flush=True)
            for index in range(args.rounds):
                order = list(executors) if index % 2 == 0 else list(reversed(executors))
                rounds.append({name: _call(folder, executors[name]) for name in order})
                print(f"round {index + 1}: " + ", ".join(f"{n} {r['seconds']:.2f}s (load {r['load1']})"
                                                         for n, r in rounds[-1].items()), flush=True)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    medians = {name: statistics.median(r[name]["seconds"] for r in rounds if r[name]["exit"] == 0)
               for name in executors}
    ratio = medians["dask 2x1"] / medians["local -j 2"]
    summary = {"notebooks": args.notebooks, "cpus": os.cpu_count(), "cluster_start_s": round(started, 2),
               "warm_up_call": warm,
               "medians_s": {k: round(v, 3) for k, v in medians.items()}, "ratio_dask_over_local": round(ratio, 3),
               "target": 1.3, "rounds": rounds}
    print(f"medians: local -j 2 {medians['local -j 2']:.2f}s, dask {medians['dask 2x1']:.2f}s; ratio {ratio:.2f}x "
          f"(target <= 1.3x); cluster start {started:.1f}s")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dask.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

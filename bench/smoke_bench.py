"""nb-smoke against its peer and against the floor on 12 small numpy+pandas notebooks, honest in any machine state.

Each notebook imports numpy and pandas and does ~0.2 s of pandas work. A round times, in an order rotated between
rounds: ``nb-smoke -j 2``, ``nb-smoke -j 2 --preload auto``, ``nb-smoke -j 2 --fork --preload auto`` (kernels
forked from a zygote that imported numpy and pandas, ADR-099), ``pytest --nbmake -n 2`` (with ``--serial-peers``
also serial nbmake and serial papermill), and the floor. Rules (docs/benchmarks/smoke.md):

- load: the 1-minute load average (``os.getloadavg``) is read before each round and before each tool; a round is
  *quiet* when its figure divided by the CPU count is below ``--quiet-load`` (0.5), else *loaded*. Medians and
  ratios are given over all rounds, the quiet ones and the loaded ones, separately.
- a run that exits non-zero (nbmake's kernel start hitting ``ZMQError: Address already in use``, or any other
  failure of any tool) is retried up to ``--retries`` times; every attempt is kept (exit code, seconds, last
  output lines, whether it was a port race) and the round is marked retried. A tool whose every attempt failed
  has no figure in that round. The bench never aborts on a tool's failure.
- the floor: the notebooks split over two parallel lanes (as ``-j 2``); in each lane, one notebook at a time: a
  kernel started the way nb-smoke starts one (until ``kernel_info`` answers), every cell of the notebook
  executed in it (its own cell time, imports included), a graceful shutdown. Its wall time is what a runner
  that gives each notebook a fresh kernel pays with two jobs and nothing overlapped. (Halving a serial
  measurement is no bound on a loaded machine: two busy processes get a larger share of contended CPUs than
  one, so nb-smoke measured 0.74x of such a "floor" at load 8-11.)
- ratios per round: ``nb-smoke -j 2 / pytest --nbmake -n 2`` and ``nb-smoke -j 2 / floor`` (also with
  ``--preload auto`` and with ``--fork --preload auto``). The floor is a fresh kernel's: a forked kernel
  starts below it (that is the point), so ``fork / floor`` may be under 1.

Everything (per round, per tool, per attempt, per notebook of the floor) goes to bench/results/smoke.json.

Before the rounds it writes the bytecode caches of the jupyter_mlops package it runs (``--no-compile``: not), as
installing it would: the peers' packages are installed, and a checkout under ``PYTHONDONTWRITEBYTECODE=1``
recompiles nb-smoke's own modules on every run.

Usage: .venv/bin/python bench/smoke_bench.py [--rounds 5] [--notebooks 12] [--retries 3] [--quiet-load 0.5]
       [--serial-peers] [--no-compile]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    "import numpy as np\nimport pandas as pd",
    "n_rows = 200_000",
    "rng = np.random.default_rng(0)\n"
    "df = pd.DataFrame(rng.random((n_rows, 6)), columns=list('abcdef'))\n"
    "df['g'] = (df.a * 10).astype(int)\n"
    "summary = df.groupby('g').agg(['mean', 'std'])\n"
    "corr = df.corr()\n"
    "for _ in range(3):\n    df = df.sort_values('b').reset_index(drop=True)",
    "assert len(summary) == 10\nprint(corr.shape)",
]
PAPERMILL_SERIAL = """
import sys, glob, papermill
for nb in sorted(glob.glob(sys.argv[1] + '/*.ipynb')):
    papermill.execute_notebook(nb, sys.argv[2] + '/' + nb.rsplit('/', 1)[1], kernel_name='python3',
                               progress_bar=False, log_output=False)
"""
PORT_RACE = ("Address already in use", "EADDRINUSE")
NB_SMOKE, PRELOAD, NBMAKE_N2 = "nb-smoke -j 2", "nb-smoke -j 2 --preload auto", "pytest --nbmake -n 2"
FORK = "nb-smoke -j 2 --fork --preload auto"
FLOOR = "floor"


def make_notebooks(folder: Path, count: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    for i in range(count):
        nb = new_notebook(cells=[new_code_cell(src) for src in CELLS])
        nb.cells[1].metadata["tags"] = ["parameters"]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"nb_{i:02d}.ipynb")


def load_now() -> float:
    return os.getloadavg()[0]


def run_tool(cmd: list[str], cwd: Path, retries: int) -> dict[str, Any]:
    """Run ``cmd`` until it exits 0, at most ``1 + retries`` times; keep every attempt."""
    attempts = []
    for _ in range(1 + retries):
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        text = out.stdout + out.stderr
        attempts.append({"exit_code": out.returncode, "seconds": round(seconds, 3),
                         "port_race": any(marker in text for marker in PORT_RACE),
                         "tail": "" if out.returncode == 0 else text[-1500:]})
        if out.returncode == 0:
            break
    ok = attempts[-1]["exit_code"] == 0
    return {"seconds": attempts[-1]["seconds"] if ok else None, "attempts": attempts, "retried": len(attempts) > 1}


def measure_floor(notebooks: list[Path], lanes: int = 2) -> dict[str, Any]:
    """The notebooks split over ``lanes`` parallel lanes; in each, one at a time: start + own cells + shutdown.

    Kernels are started and shut down with nb-smoke's own functions, cells sent one by one as a client does,
    nothing overlapped within a lane: what any runner that gives each notebook a fresh kernel pays at least.
    """
    import nbformat

    from jupyter_mlops.notebooks.smoke.kernel import CURRENT, shutdown_kernel, start_kernel

    async def one(path: Path) -> dict[str, float]:
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        began = time.perf_counter()
        kernel = await start_kernel(CURRENT, path.parent, dict(os.environ), None)
        started = time.perf_counter()
        try:
            for source in sources:
                reply = await kernel.client.execute_interactive(source, timeout=300, output_hook=lambda msg: None)
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"{path.name}: {reply['content'].get('ename')}")
            ran = time.perf_counter()
        finally:
            await shutdown_kernel(kernel)
        return {"start": started - began, "cells": ran - started, "shutdown": time.perf_counter() - ran}

    async def lane(paths: list[Path]) -> list[dict[str, float]]:
        return [await one(path) for path in paths]

    async def all_lanes() -> list[list[dict[str, float]]]:
        return list(await asyncio.gather(*(lane(notebooks[k::lanes]) for k in range(lanes))))

    began = time.perf_counter()
    per_lane = asyncio.run(all_lanes())
    wall = time.perf_counter() - began
    rows = [row for lane_rows in per_lane for row in lane_rows]
    return {"seconds": round(wall, 3), "lanes": lanes,
            "sum_of_parts": round(sum(sum(row.values()) for row in rows), 3),
            "start_shutdown_median": round(statistics.median(r["start"] + r["shutdown"] for r in rows), 3),
            "cells_median": round(statistics.median(r["cells"] for r in rows), 3),
            "per_notebook": [{k: round(v, 3) for k, v in row.items()} for row in rows]}


def floor_tool(notebooks: list[Path], retries: int) -> dict[str, Any]:
    attempts = []
    for _ in range(1 + retries):
        start = time.perf_counter()
        try:
            result = measure_floor(notebooks)
        except Exception as exc:  # noqa: BLE001 - recorded and retried like a peer's crash
            attempts.append({"exit_code": 1, "seconds": round(time.perf_counter() - start, 3),
                             "port_race": any(m in str(exc) for m in PORT_RACE), "tail": repr(exc)[-1500:]})
            continue
        attempts.append({"exit_code": 0, "seconds": round(time.perf_counter() - start, 3), "port_race": False,
                         "tail": ""})
        return {**result, "attempts": attempts, "retried": len(attempts) > 1}
    return {"seconds": None, "attempts": attempts, "retried": True}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def round_ratios(tools: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    def secs(name: str) -> float | None:
        return tools.get(name, {}).get("seconds")

    return {"nb_smoke_vs_nbmake_n2": ratio(secs(NB_SMOKE), secs(NBMAKE_N2)),
            "nb_smoke_vs_floor": ratio(secs(NB_SMOKE), secs(FLOOR)),
            "preload_vs_nbmake_n2": ratio(secs(PRELOAD), secs(NBMAKE_N2)),
            "preload_vs_floor": ratio(secs(PRELOAD), secs(FLOOR)),
            "fork_vs_nbmake_n2": ratio(secs(FORK), secs(NBMAKE_N2)),
            "fork_vs_floor": ratio(secs(FORK), secs(FLOOR))}


def summarize(rounds: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Medians of each tool and of each per-round ratio, plus the ratios of the medians."""
    if not rounds:
        return {"rounds": 0}
    medians: dict[str, float | None] = {}
    for name in names:
        values = [r["tools"][name]["seconds"] for r in rounds if r["tools"][name]["seconds"] is not None]
        medians[name] = round(statistics.median(values), 3) if values else None
    ratios = {}
    for key in rounds[0]["ratios"]:
        values = [r["ratios"][key] for r in rounds if r["ratios"][key] is not None]
        ratios[key] = round(statistics.median(values), 3) if values else None
    loads = [r["load_before"] for r in rounds]
    return {"rounds": len(rounds), "load_before": [min(loads), max(loads)], "medians": medians,
            "median_of_round_ratios": ratios,
            "ratio_of_medians": {"nb_smoke_vs_nbmake_n2": ratio(medians.get(NB_SMOKE), medians.get(NBMAKE_N2)),
                                 "nb_smoke_vs_floor": ratio(medians.get(NB_SMOKE), medians.get(FLOOR)),
                                 "preload_vs_nbmake_n2": ratio(medians.get(PRELOAD), medians.get(NBMAKE_N2)),
                                 "preload_vs_floor": ratio(medians.get(PRELOAD), medians.get(FLOOR)),
                                 "fork_vs_nbmake_n2": ratio(medians.get(FORK), medians.get(NBMAKE_N2)),
                                 "fork_vs_floor": ratio(medians.get(FORK), medians.get(FLOOR))}}


def tools_for(nbs: Path, out: Path, serial_peers: bool) -> dict[str, list[str]]:
    py = sys.executable
    smoke = [py, "-c", "from jupyter_mlops.cli.smoke import main; main()", str(nbs), "-j", "2", "--plain",
             "--no-track", "--output-dir", str(out)]
    tools = {NB_SMOKE: smoke, PRELOAD: [*smoke, "--preload", "auto"], FORK: [*smoke, "--fork", "--preload", "auto"]}
    pytest_cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbmake"]
    if importlib.util.find_spec("nbmake") is None:
        print("nbmake is not installed (pip install -e .[bench]): its rounds are left out", flush=True)
    else:
        tools[NBMAKE_N2] = [*pytest_cmd, "-n", "2", str(nbs)]
        if serial_peers:
            tools["pytest --nbmake (serial)"] = [*pytest_cmd, str(nbs)]
    if serial_peers:
        tools["papermill (serial)"] = [py, "-c", PAPERMILL_SERIAL, str(nbs), str(out)]
    return tools


def compile_package() -> str:
    """Write the bytecode caches of the jupyter_mlops package the tools import, as installing it does.

    nbmake, pytest, papermill and the kernels' packages are installed, so their bytecode is cached; a source
    checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (as in this workspace) would otherwise compile nb-smoke's
    own ~50 modules again on every run (~0.05-0.1 s). Returns the folder compiled.
    """
    import compileall

    spec = importlib.util.find_spec("jupyter_mlops")
    folder = str(Path(spec.origin).parent) if spec and spec.origin else str(ROOT / "jupyter_mlops")
    compileall.compile_dir(folder, quiet=1)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--notebooks", type=int, default=12)
    parser.add_argument("--retries", type=int, default=3, help="re-runs of a tool whose run exits non-zero")
    parser.add_argument("--quiet-load", type=float, default=0.5, help="a round is quiet below this load per CPU")
    parser.add_argument("--serial-peers", action="store_true", help="also serial nbmake and serial papermill")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "smoke.json"))
    parser.add_argument("--no-compile", action="store_true",
                        help="leave the bytecode caches of jupyter_mlops alone (default: write them, as installs do)")
    args = parser.parse_args()
    compiled = None if args.no_compile else compile_package()
    cpus = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="smoke-bench-"))
    nbs, out = work / "nbs", work / "out"
    nbs.mkdir()
    out.mkdir()
    make_notebooks(nbs, args.notebooks)
    notebooks = sorted(nbs.glob("*.ipynb"))
    commands = tools_for(nbs, out, args.serial_peers)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        name: (lambda cmd=cmd: run_tool(cmd, work, args.retries)) for name, cmd in commands.items()}
    runners[FLOOR] = lambda: floor_tool(notebooks, args.retries)
    names = list(runners)
    rounds = []
    for number in range(args.rounds):
        shift = number % len(names)
        order = names[shift:] + names[:shift]
        load = load_now()
        record: dict[str, Any] = {"round": number + 1, "load_before": round(load, 2),
                                  "load_per_cpu": round(load / cpus, 3), "quiet": load / cpus < args.quiet_load,
                                  "order": order, "tools": {}}
        for name in order:
            before = load_now()
            record["tools"][name] = {**runners[name](), "load_before": round(before, 2)}
            got = record["tools"][name]
            shown = f"{got['seconds']:.2f}s" if got["seconds"] is not None else "FAILED"
            note = f" (retried: {len(got['attempts'])} attempts)" if got["retried"] else ""
            print(f"round {number + 1} (load {before:.2f}): {name}: {shown}{note}", flush=True)
        record["ratios"] = round_ratios(record["tools"])
        record["retried"] = [name for name, got in record["tools"].items() if got["retried"]]
        rounds.append(record)
        print(f"round {number + 1}: {'quiet' if record['quiet'] else 'loaded'}, ratios {record['ratios']}",
              flush=True)
    result = {
        "notebooks": args.notebooks, "rounds_requested": args.rounds, "cpus": cpus, "retries": args.retries,
        "quiet_rule": f"1-minute load average before the round / {cpus} CPUs < {args.quiet_load}",
        "commands": commands, "bytecode_compiled": compiled, "rounds": rounds,
        "all": summarize(rounds, names),
        "quiet": summarize([r for r in rounds if r["quiet"]], names),
        "loaded": summarize([r for r in rounds if not r["quiet"]], names),
        "retried_rounds": [{"round": r["round"], "tools": r["retried"]} for r in rounds if r["retried"]],
    }
    print(json.dumps({key: result[key] for key in ("all", "quiet", "loaded", "retried_rounds")}, indent=2))
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

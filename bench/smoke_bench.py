"""nb-smoke against its peers on 12 small notebooks, side by side in one run.

Each notebook imports numpy and pandas and does ~0.2 s of work. Timed per round (the order of the tools is
rotated between rounds, the machine is noisy): ``nb-smoke -j 2``, ``pytest --nbmake -n 2``, serial ``pytest
--nbmake``, serial papermill (one process, ``execute_notebook`` per notebook), and the kernel floor: one kernel
start + shutdown, done the way nb-smoke does it. Medians of ``--rounds`` (default 3) are printed and written to
bench/results/smoke.json.

Usage: .venv/bin/python bench/smoke_bench.py [--rounds 3] [--notebooks 12]
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

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

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


def make_notebooks(folder: Path, count: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    for i in range(count):
        nb = new_notebook(cells=[new_code_cell(src) for src in CELLS])
        nb.cells[1].metadata["tags"] = ["parameters"]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"nb_{i:02d}.ipynb")


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed


PAPERMILL_SERIAL = """
import sys, glob, papermill
for nb in sorted(glob.glob(sys.argv[1] + '/*.ipynb')):
    papermill.execute_notebook(nb, sys.argv[2] + '/' + nb.rsplit('/', 1)[1], kernel_name='python3',
                               progress_bar=False, log_output=False)
"""


def kernel_floor(repeats: int = 3) -> float:
    """Median seconds of one kernel start (until kernel_info answers) + graceful shutdown, as nb-smoke does."""
    from jupyter_mlops.notebooks.smoke.kernel import CURRENT, shutdown_kernel, start_kernel

    async def once() -> float:
        start = time.perf_counter()
        kernel = await start_kernel(CURRENT, Path.cwd(), dict(os.environ), None)
        await shutdown_kernel(kernel)
        return time.perf_counter() - start

    return statistics.median(asyncio.run(once()) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--notebooks", type=int, default=12)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smoke-bench-"))
    nbs, out = work / "nbs", work / "out"
    nbs.mkdir()
    out.mkdir()
    make_notebooks(nbs, args.notebooks)
    py = sys.executable
    tools = {
        "nb-smoke -j 2": [str(BIN / "nb-smoke"), str(nbs), "-j", "2", "--plain", "--output-dir", str(out)],
        "pytest --nbmake -n 2": [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbmake", "-n", "2", str(nbs)],
        "pytest --nbmake (serial)": [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbmake", str(nbs)],
        "papermill (serial)": [py, "-c", PAPERMILL_SERIAL, str(nbs), str(out)],
    }
    times: dict[str, list[float]] = {name: [] for name in tools}
    floors = []
    names = list(tools)
    for round_no in range(args.rounds):
        order = names[round_no % len(names):] + names[:round_no % len(names)]
        for name in order:
            times[name].append(timed(tools[name], work))
            print(f"round {round_no + 1}: {name}: {times[name][-1]:.2f}s", flush=True)
        floors.append(kernel_floor())
        print(f"round {round_no + 1}: kernel start+shutdown: {floors[-1]:.2f}s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["kernel start+shutdown (one)"] = statistics.median(floors)
    ratio = medians["nb-smoke -j 2"] / medians["pytest --nbmake -n 2"]
    result = {"notebooks": args.notebooks, "rounds": args.rounds, "cpus": os.cpu_count(), "runs": times,
              "medians": medians, "ratio_nb_smoke_vs_nbmake_n2": ratio}
    print(json.dumps({"medians": {k: round(v, 2) for k, v in medians.items()}, "ratio": round(ratio, 3)}, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "smoke.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Slicing a run of 500 executed cells: the pure slicer (cold analysis cache) and ``slice_run`` end to end.

    .venv/bin/python bench/slice_bench.py [--cells 500] [--rounds 15]

The log is a realistic notebook session repeated: imports, a parameters cell, data loading, in-place changes,
notebook functions reading globals, files written and read back, re-runs after edits, dead ends and display
cells; every cell's source is distinct (a run's cells rarely repeat), so nothing is served from the analysis cache
of an earlier round (it is cleared before each round anyway). ``slice_run`` reads the run and its code snapshot
from a SQLite store and blob folder, slices and emits the script (no ``--verify``: that starts a kernel).
Target: median ≤ 200 ms for 500 cells (wall; the process's CPU time is shown too, which a loaded shared
machine does not inflate). Prints a table and writes bench/results/slice.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import median_time


def median_cpu(fn, rounds: int) -> float:
    """Median CPU time of this process per call (what the machine's other load cannot inflate), in seconds."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLOCK = [
    "import pandas as pd\nimport numpy as np",
    "frame_{i} = pd.DataFrame({{'a': np.arange(10) * {i}, 'b': np.ones(10)}})",
    "frame_{i}.dropna(inplace=True)\nframe_{i}['c'] = frame_{i}['a'] * lr",
    "frame_{i}.head()",
    "def feature_{i}(df):\n    return (df['a'] * weight_{i} + df['b']).sum() + offset",
    "weight_{i} = {i} * 0.5\nhistory.append(weight_{i})",
    "frame_{i}.to_csv('stage_{i}.csv')",
    "back_{i} = pd.read_csv('stage_{i}.csv')\nstats_{i} = back_{i}.describe()",
    "value_{i} = feature_{i}(frame_{i})\nfor k in range(3):\n    value_{i} += k",
    "plot_{i} = [value_{i}] * 10\nprint(len(plot_{i}))",
    "weight_{i} = {i} * 0.25",
    "value_{i} = feature_{i}(back_{i}) + value_{i}\nscores['s{i}'] = value_{i}",
]
HEAD = ["%load_ext jupyter_mlops", "lr = 0.1\noffset = 2", "%track start", "history = []\nscores = {}"]
TAIL = "auc = sum(scores.values()) / len(scores)\n%track metric auc=auc"


def executed(n: int) -> list[dict]:
    """A code snapshot's cells: ``n`` cells, the metric logged by the last one."""
    sources = list(HEAD)
    block = 0
    while len(sources) < n - 1:
        sources += [line.format(i=block) for line in BLOCK]
        block += 1
    sources = [*sources[: n - 1], TAIL]
    return [{"index": i, "source": s, "execution_count": i + 1, "cell_id": f"c{i}",
             **({"metrics": ["auc"]} if s == TAIL else {})} for i, s in enumerate(sources)]


def main() -> None:
    """Run the benchmark and print the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    import jupyter_mlops as mlops
    from jupyter_mlops.app.slicing import slice_report, slice_run
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.notebooks.slicing import Cell, effects, slice_cells

    snapshot = {"version": 1, "cells": executed(args.cells)}
    cells = [Cell.from_json(item) for item in snapshot["cells"]]

    def pure() -> None:
        effects._CACHE.clear()
        slice_cells(cells, "auc", parameters=1)

    piece = slice_cells(cells, "auc", parameters=1)
    pure_s = median_time(pure, args.rounds)
    pure_cpu = median_cpu(pure, args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'mlops.db'}"
        os.environ["JUPYTER_MLOPS_BLOBS"] = str(Path(folder) / "blobs")
        with mlops.start_run("bench", store=url, auto_capture=False) as run:
            run.log_metric("auc", 0.5)
            run.add_end_hook(lambda: {"code_hash": run.put_code_snapshot(snapshot)})
        workspace = Workspace.from_url(url)

        def end_to_end() -> None:
            effects._CACHE.clear()
            slice_run(workspace, run.id, "auc")

        app_s = median_time(end_to_end, args.rounds)
        app_cpu = median_cpu(end_to_end, args.rounds)

        from jupyter_mlops.server.handlers import encode

        def sidebar() -> None:
            # GET runs/{id}/slice?metric=auc: the report with the emitted notebook, encoded as the reply
            effects._CACHE.clear()
            encode(slice_report(workspace, run.id, "auc", metric=True))

        rest_s = median_time(sidebar, args.rounds)
        rest_cpu = median_cpu(sidebar, args.rounds)
        workspace.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result = {"cells": args.cells, "kept": len(piece.cells), "rounds": args.rounds,
              "slice_cells_ms": round(pure_s * 1000, 1), "slice_run_ms": round(app_s * 1000, 1),
              "slice_cells_cpu_ms": round(pure_cpu * 1000, 1), "slice_run_cpu_ms": round(app_cpu * 1000, 1),
              "slice_report_ms": round(rest_s * 1000, 1), "slice_report_cpu_ms": round(rest_cpu * 1000, 1),
              "target_ms": 200, "load_average": round(load, 2)}
    print(f"{'case':<40}{'median ms':>12}{'CPU ms':>10}")  # noqa: T201
    print(f"{f'slice_cells, {args.cells} cells (cold)':<40}{pure_s * 1000:>12.1f}{pure_cpu * 1000:>10.1f}")  # noqa: T201
    print(f"{f'slice_run, {args.cells} cells (store+emit)':<40}{app_s * 1000:>12.1f}{app_cpu * 1000:>10.1f}")  # noqa: T201
    print(f"{'slice_report + encode (REST reply)':<40}{rest_s * 1000:>12.1f}{rest_cpu * 1000:>10.1f}")  # noqa: T201
    print(f"kept {len(piece.cells)} of {args.cells} cells; load average {load:.2f}")  # noqa: T201
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "slice.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Benchmark: compare of 10 runs with 1,000-step histories, and the `runs list` cold start.

Usage: .venv/bin/python bench/compare_bench.py [--runs 10] [--steps 1000] [--repeat 15]

Builds a SQLite store in a temporary folder (10 runs × 20 params × 10 metrics × 1,000 steps, two data inputs
with schemas, a 30-cell code snapshot and a 300-package environment per run), then prints medians of:
  * compare_runs (what the CLI and the magic call),
  * compare_runs + metric_histories + metric_charts + compact JSON (what the REST compare endpoint returns),
    next to the same with charts downsampled to charts.COMPACT_MAX_POINTS per run and key, and its parts:
    metric_histories (100 Store.metric_history calls) next to one plain sqlite3 query for the same points,
    and chart building + JSON,
  * `jupyter-mlops runs list` in a fresh process (the plain listing reads SQLite without SQLAlchemy, ADR-015),
    next to `runs list --filter ...` (the full store path), `jupyter-mlops --help` and `python -c pass` as peers.
Writes bench/results/compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_mlops.app.compare import compare_runs, metric_histories
from jupyter_mlops.comparing import charts
from jupyter_mlops.entities import DataInput, Metric
from jupyter_mlops.server.handlers import encode
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore


def build(root: Path, runs: int, steps: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{root / 'mlops.db'}"
    blobs = BlobStore(root / "blobs")
    ids = []
    with open_store(url) as store:
        for r in range(runs):
            run = store.create_run(name=f"run-{r}", experiment="bench", start_time=1_700_000_000.0 + r)
            store.log_params(run.id, {f"p{k}": (k * 0.1 + (r if k < 5 else 0)) for k in range(20)})
            points = [Metric(f"m{k}", (s + r) / (k + 1), s, 1_700_000_000.0 + s) for k in range(10)
                      for s in range(steps)]
            store.log_batch(run.id, metrics=points)
            cols = [{"name": f"c{c}", "dtype": "float64" if c != r % 8 else "int64"} for c in range(8)]
            store.log_data_inputs(run.id, [
                DataInput("data/train.csv", f"xxh3_128:{r % 3:032x}", size=10_000 + r, schema={"columns": cols,
                          "rows": 1000 + r}),
                DataInput("data/test.csv", f"xxh3_128:{7:032x}", size=5_000, schema={"columns": cols, "rows": 500}),
            ])
            cells = [{"index": c, "execution_count": c + 1, "cell_id": f"c{c}",
                      "source": f"x{c} = compute({c}, lr={r if c == 3 else 0})\nprint(x{c})\n" * 3}
                     for c in range(30)]
            packages = {f"pkg{p}": f"1.{p}.{r if p < 3 else 0}" for p in range(300)}
            store.update_run(run.id, code_hash=blobs.put_json({"cells": cells}),
                             env_hash=blobs.put_json({"python": "3.11.7", "platform": "Linux", "packages": packages}))
            store.end_run(run.id, end_time=1_700_000_100.0 + r)
            ids.append(run.id)
    return url, ids


def raw_histories(path: Path, ids: list[str]) -> int:
    """The floor: every point of every metric of the runs in one plain sqlite3 query."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT run_id, key, step, value FROM metrics WHERE run_id IN ({marks}) "
                            "ORDER BY run_id, key, step", ids).fetchall()
    finally:
        conn.close()
    return len(rows)


def timed(fn, repeat: int) -> tuple[float, list[float]]:
    fn()  # warm caches (SQLite pages, blob files) the way a second click in the UI would
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), samples


def cold_start(argv: list[str], env: dict[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="compare-bench-"))
    try:
        url, ids = build(root, args.runs, args.steps)
        blobs = BlobStore(root / "blobs")
        with open_store(url) as store:
            compare_ms, _ = timed(lambda: compare_runs(store, blobs, ids), args.repeat)

            def endpoint(max_points: int = charts.MAX_POINTS) -> str:
                # What GET compare serves: charts (MAX_POINTS per run and key), compact JSON.
                cmp = compare_runs(store, blobs, ids)
                specs = charts.metric_charts(metric_histories(store, cmp), charts.run_labels(cmp.runs),
                                             max_points=max_points)
                return encode({**cmp.to_dict(), "charts": specs})  # the server's own encoder

            def compact_points() -> str:
                # Peer: the same with charts downsampled to COMPACT_MAX_POINTS (LTTB cost vs smaller JSON).
                return endpoint(charts.COMPACT_MAX_POINTS)

            endpoint_ms, _ = timed(endpoint, args.repeat)
            compact_ms, _ = timed(compact_points, args.repeat)
            payload_kb = len(endpoint()) / 1000
            compact_kb = len(compact_points()) / 1000
            cmp = compare_runs(store, blobs, ids)
            histories_ms, _ = timed(lambda: metric_histories(store, cmp), args.repeat)
            histories = metric_histories(store, cmp)
            labels = charts.run_labels(cmp.runs)
            charts_ms, _ = timed(lambda: encode(charts.metric_charts(histories, labels)),
                                 args.repeat)
        raw_ms, _ = timed(lambda: raw_histories(root / "mlops.db", ids), args.repeat)
        script = str(Path(sys.executable).parent / "jupyter-mlops")
        env = {**os.environ, "JUPYTER_MLOPS_STORE": url, "JUPYTER_MLOPS_BLOBS": str(root / "blobs")}
        cold = max(3, args.repeat // 3)
        list_ms = cold_start([script, "runs", "list"], env, cold)
        filtered_ms = cold_start([script, "runs", "list", "--filter", "metrics.m0 >= 0"], env, cold)
        help_ms = cold_start([script, "--help"], env, cold)
        python_ms = cold_start([sys.executable, "-c", "pass"], env, cold)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "runs": args.runs, "steps": args.steps, "metrics_per_run": 10, "repeat": args.repeat,
        "compare_runs_ms": round(compare_ms, 1),
        "compare_endpoint_ms": round(endpoint_ms, 1),
        "compare_endpoint_500_points_ms": round(compact_ms, 1),
        "metric_histories_ms": round(histories_ms, 1),
        "raw_sqlite3_histories_ms": round(raw_ms, 1),
        "charts_and_json_ms": round(charts_ms, 1),
        "endpoint_payload_kb": round(payload_kb, 1),
        "endpoint_500_points_payload_kb": round(compact_kb, 1),
        "cold_runs_list_ms": round(list_ms), "cold_runs_list_filtered_ms": round(filtered_ms),
        "cold_help_ms": round(help_ms), "cold_python_ms": round(python_ms),
    }
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

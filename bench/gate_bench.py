"""Benchmark: ``jupyter-mlops gate`` cold, in a fresh process each time, as CI runs it (target ≤ 0.5 s).

Usage: .venv/bin/python bench/gate_bench.py [--repeat 11]

Builds a SQLite store in a temporary folder with a baseline and a candidate run as a notebook run records them
(20 params, 10 metrics × 1,000 steps, two data inputs with schemas, a 30-cell executed-code snapshot, a
300-package environment, ``auc`` and ``latency_ms`` on 20 region slices), the candidate differing in one param,
one data hash, 3 packages and one cell.
Prints medians of fresh processes, in rotating order:
  * ``gate`` — two metrics with tolerances, the text report;
  * ``gate + reports`` — the same with ``--junit-xml``, ``--markdown`` and ``--github``;
  * ``gate, same code`` — a candidate whose executed code equals the baseline's (the compare skips nbdime);
  * ``gate --per-slice region`` — ``gate`` judging each metric on the 20 slices too (ADR-071);
  * peers: ``jupyter-mlops --help`` (the CLI's floor) and ``python -c pass`` (the interpreter's).
Writes bench/results/gate.json.
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

from jupyter_mlops.entities import DataInput, Metric, SliceMetric
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

ROOT = Path(__file__).resolve().parents[1]


def build(root: Path) -> str:
    """Create baseline, candidate and same-code runs; returns the store URL."""
    url = f"sqlite:///{root / 'mlops.db'}"
    blobs = BlobStore(root / "blobs")
    with open_store(url) as store:
        for r, name in enumerate(("baseline", "candidate", "samecode")):
            run = store.create_run(name=name, experiment="bench", start_time=1_700_000_000.0 + r)
            store.log_params(run.id, {f"p{k}": k * 0.1 + (0.05 if k == 3 and r else 0) for k in range(20)})
            points = [Metric(f"m{k}", 0.8 + 0.01 * r + s * 1e-6, s, 1_700_000_000.0 + s) for k in range(8)
                      for s in range(1000)]
            points += [Metric("auc", 0.90 + 0.01 * r, s, 1_700_000_000.0 + s) for s in range(1000)]
            points += [Metric("latency_ms", 100.0 + r, s, 1_700_000_000.0 + s) for s in range(1000)]
            store.log_batch(run.id, metrics=points)
            store.log_batch(run.id, sliced=[
                SliceMetric(key, f"region=r{g:02d}", base + 0.01 * r + g * 1e-3, 0, 1_700_000_000.0)
                for key, base in (("auc", 0.9), ("latency_ms", 100.0)) for g in range(20)])
            cols = [{"name": f"c{c}", "dtype": "float64"} for c in range(8)]
            store.log_data_inputs(run.id, [
                DataInput("data/train.csv", f"xxh3_128:{min(r, 1):032x}", size=10_000, schema={"columns": cols,
                          "rows": 1000}),
                DataInput("data/test.csv", f"xxh3_128:{7:032x}", size=5_000, schema={"columns": cols, "rows": 500}),
            ])
            edited = 3 if r == 1 else -1
            cells = [{"index": c, "execution_count": c + 1, "cell_id": f"c{c}",
                      "source": f"x{c} = compute({c}, lr={0.05 if c == edited else 0.1})\nprint(x{c})\n" * 3}
                     for c in range(30)]
            packages = {f"pkg{p}": f"1.{p}.{min(r, 1) if p < 3 else 0}" for p in range(300)}
            store.update_run(run.id, code_hash=blobs.put_json({"cells": cells}),
                             env_hash=blobs.put_json({"python": "3.11.7", "platform": "Linux", "packages": packages}))
            store.end_run(run.id, end_time=1_700_000_100.0 + r)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gate-bench-"))
    try:
        url = build(tmp)
        env = {**os.environ, "JUPYTER_MLOPS_STORE": url, "JUPYTER_MLOPS_BLOBS": str(tmp / "blobs")}
        cli = [str(Path(sys.executable).parent / "jupyter-mlops")]
        rules = ["--metric", "auc:max", "--metric", "latency_ms:min", "--min-delta", "auc=0.002",
                 "--max-regression", "latency_ms=5%"]
        commands = {
            "gate": [*cli, "gate", "--baseline", "baseline", "--candidate", "candidate", *rules],
            "gate + reports": [*cli, "gate", "--baseline", "baseline", "--candidate", "candidate", *rules,
                               "--junit-xml", str(tmp / "g.xml"), "--markdown", str(tmp / "g.md"), "--github"],
            "gate, same code": [*cli, "gate", "--baseline", "baseline", "--candidate", "samecode", *rules],
            "gate --per-slice region": [*cli, "gate", "--baseline", "baseline", "--candidate", "candidate", *rules,
                                        "--per-slice", "region"],
            "jupyter-mlops --help": [*cli, "--help"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        for argv in commands.values():  # warm the file cache and check every command works (gate exits 0 or 1)
            code = subprocess.run(argv, env=env, capture_output=True, check=False).returncode
            if code not in (0, 1):
                raise SystemExit(f"{argv} exited {code}")
        samples: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for i in range(args.repeat):
            for name in names[i % len(names):] + names[: i % len(names)]:  # rotate: load drifts hit all alike
                start = time.perf_counter()
                subprocess.run(commands[name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=False)
                samples[name].append((time.perf_counter() - start) * 1000)
        medians = {name: round(statistics.median(v), 1) for name, v in samples.items()}
        load = os.getloadavg()[0]
        for name, value in medians.items():
            print(f"{name:24s} {value:8.1f} ms")
        print(f"(median of {args.repeat} fresh processes each; load average {load:.2f}; target: gate <= 500 ms)")
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        (out / "gate.json").write_text(json.dumps({"repeat": args.repeat, "load": load, "median_ms": medians,
                                                   "samples_ms": samples}, indent=2) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What keeping metric rollups (ADR-116) costs the write path: two code trees side by side, rounds alternating.

    .venv/bin/python bench/rollup_bench.py --before /work/main [--rounds 5] [--backends sqlite,postgresql]

Each round runs, in a fresh process per code tree (``PYTHONPATH`` set to the tree), on a fresh store:
  * ``single``: 2,000 ``SqlStore.log_metric_rows`` calls of one point each (one committed transaction per point:
    the per-batch overhead in full);
  * ``batch1000``: 200 calls of 1,000 points (a block is built about once per call);
  * ``log_metric``: tracking_bench's ``ours_log_metric`` (``run.log_metric`` in a tight loop, 50,000 points, through
    the batching writer; SQLite only).
and, in the new tree only and robust to a loaded machine, the share of each call spent in ``rollup.after_append``
(timed around it in the same calls: ``upkeep``).
Prints points/s per tree (medians) and the ratio; writes bench/results/rollup_write.json. PostgreSQL is a throwaway
server started like the tests' (tests/pg.py), shared by both trees.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def child(url: str, case: str) -> float:
    """Points per second of one case on a fresh store (runs in the tree under test)."""
    from jupyter_mlops.store import open_store

    if case == "log_metric":
        sys.path.insert(0, str(ROOT / "bench"))
        from tracking_bench import ours_log_metric

        return float(ours_log_metric(50_000, url))
    store = open_store(url)
    run = store.create_run(experiment="bench")
    now = time.time()
    calls, size = (2000, 1) if case == "single" else (200, 1000)
    batches = [[("loss", 1.0 / (1 + i * size + j), i * size + j, now) for j in range(size)] for i in range(calls)]
    started = time.perf_counter()
    for rows in batches:
        store.log_metric_rows(run.id, rows)
    elapsed = time.perf_counter() - started
    store.close()
    return calls * size / elapsed


def upkeep(url: str) -> dict[str, float]:
    """Per batch size: ms per call and the percentage of it spent keeping the rollups (this tree only)."""
    from jupyter_mlops.store import open_store, rollup

    spent = [0.0]
    keep = rollup.after_append

    def timed(*args: object, **kwargs: object) -> None:
        started = time.perf_counter()
        keep(*args, **kwargs)  # type: ignore[arg-type]
        spent[0] += time.perf_counter() - started

    rollup.after_append = timed  # type: ignore[assignment]
    store = open_store(url)
    out = {}
    for size, calls in ((1, 2000), (1000, 200)):
        run = store.create_run(experiment="bench")
        now = time.time()
        batches = [[("loss", 1.0 / (1 + i * size + j), i * size + j, now) for j in range(size)] for i in range(calls)]
        spent[0] = 0.0
        started = time.perf_counter()
        for rows in batches:
            store.log_metric_rows(run.id, rows)
        total = time.perf_counter() - started
        out[f"batch{size}_ms_per_call"] = 1000 * total / calls
        out[f"batch{size}_upkeep_pct"] = 100 * spent[0] / total
    store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the code tree to compare with (e.g. main)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", nargs=2, metavar=("URL", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    trees = {"before": args.before.resolve(), "after": ROOT}
    results: dict[str, object] = {"loadavg_before": os.getloadavg()}
    for backend in args.backends.split(","):
        server = None
        if backend == "postgresql":
            sys.path.insert(0, str(ROOT))
            from tests.pg import start_server  # type: ignore[import-not-found]

            server = start_server()
        try:
            for case in ("single", "batch1000", "log_metric"):
                if case == "log_metric" and backend != "sqlite":
                    continue
                speeds: dict[str, list[float]] = {"before": [], "after": []}
                for number in range(args.rounds):
                    for name in (("before", "after") if number % 2 else ("after", "before")):
                        with tempfile.TemporaryDirectory() as scratch:
                            if server is None:
                                url = f"sqlite:///{scratch}/mlops.db"
                            else:
                                url = server.url()
                                _fresh(url)
                            env = {**os.environ, "PYTHONPATH": str(trees[name])}
                            out = subprocess.run([sys.executable, __file__, "--before", str(args.before), "--child",
                                                  url, case], env=env, cwd=scratch, capture_output=True, text=True,
                                                 check=True)
                            speeds[name].append(float(out.stdout.strip().splitlines()[-1]))
                before, after = statistics.median(speeds["before"]), statistics.median(speeds["after"])
                results[f"{backend}_{case}"] = {"before_pts_s": before, "after_pts_s": after,
                                                "after_over_before": after / before, "rounds": speeds,
                                                "load": os.getloadavg()[0]}
                print(f"{backend:10} {case:10} before {before:>10,.0f} pts/s  after {after:>10,.0f} pts/s  "
                      f"ratio {after / before:.3f}  load {os.getloadavg()[0]:.1f}", flush=True)
            with tempfile.TemporaryDirectory() as scratch:
                url = f"sqlite:///{scratch}/mlops.db" if server is None else server.url()
                if server is not None:
                    _fresh(url)
                shares = upkeep(url)
            results[f"{backend}_upkeep"] = shares
            print(f"{backend:10} upkeep     " + "  ".join(f"{k} {v:.2f}" for k, v in shares.items()), flush=True)
        finally:
            if server is not None:
                server.stop()
    results["loadavg_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "rollup_write.json").write_text(json.dumps(results, indent=2))
    return 0


def _fresh(url: str) -> None:
    """Drop every table of the throwaway database, so each round starts from an empty store."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())

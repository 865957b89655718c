"""Store layer vs raw sqlite3 and MLflow 3 on SQLite, side by side in one process, same machine and disk.

    .venv/bin/python bench/store_bench.py [--quick] [--runs 10000] [--mlflow-runs N] [--no-mlflow] [--cache DIR]

Measures (medians of repeated rounds):
  * ``SqlStore.log_batch`` points/s (batches of 1,000 and 5,000 points, committed) vs the floor: raw ``sqlite3``
    ``executemany`` of the same rows into a same-shaped table, same pragmas, same index;
  * with N runs x 20 params x 10 metrics (+ tags): a filtered, sorted page of 50 runs, all runs fully loaded
    (params + latest metrics + tags) and one ``get_run``;
  * the same data in MLflow 3 (SQLite backend, its own ``log_batch``): ``log_batch`` points/s, a filtered page of
    50 with ``MlflowClient.search_runs`` (and ``mlflow.search_runs`` as a DataFrame), and ``mlflow.search_runs``
    of all runs to a DataFrame. ``--mlflow-runs`` defaults to ``--runs`` (the same data on both sides); a smaller
    number also measures our store at that count.

The built search databases are kept in ``--cache`` (default ``bench/results/stores``) and reused: filling MLflow
with 10,000 runs through its API takes about 7 minutes on 2 cores, paid once.
Prints a table and writes bench/results/store.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from timing import median_time

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FILTER = "metrics.auc >= 0.8 and params.optimizer = adam and tag = baseline"
MLFLOW_FILTER = "metrics.auc >= 0.8 and params.optimizer = 'adam' and tags.baseline = 'true'"


def run_values(n: int, rng: random.Random) -> tuple[dict[str, object], dict[str, float], list[str]]:
    params: dict[str, object] = {"lr": round(rng.uniform(0.001, 0.1), 4), "model.num_leaves": rng.choice([15, 31, 63]),
                                 "optimizer": rng.choice(["adam", "sgd", "adamw"])}
    params.update({f"p{k}": rng.randint(0, 100) if k % 2 else f"v{rng.randint(0, 9)}" for k in range(3, 20)})
    metrics = {"auc": rng.uniform(0.6, 0.95), "loss": rng.uniform(0.1, 1.0)}
    metrics.update({f"m{k}": rng.random() for k in range(2, 10)})
    tags = ["baseline"] if n % 5 == 0 else ["tuned", f"g{n % 7}"]
    return params, metrics, tags


# -- log_batch ---------------------------------------------------------------------------------------------
def raw_sqlite_floor(points: int, batch: int, folder: Path) -> float:
    path = folder / f"raw-{batch}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "busy_timeout = 30000"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE metrics (run_id VARCHAR(32) NOT NULL, key VARCHAR(250) NOT NULL, step BIGINT NOT NULL,"
                 " value FLOAT, timestamp FLOAT NOT NULL)")
    conn.execute("CREATE INDEX ix ON metrics (run_id, key, step)")
    now = time.time()
    rows = [("f" * 32, "loss", i, 1.0 / (i + 1), now) for i in range(points)]
    start = time.perf_counter()
    for i in range(0, points, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows[i:i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    path.unlink()
    return points / elapsed


def ours_log_batch(points: int, batch: int, folder: Path) -> float:
    from jupyter_mlops.entities import Metric
    from jupyter_mlops.store import open_store

    url = f"sqlite:///{folder / f'ours-{batch}.db'}"
    with open_store(url) as store:
        run = store.create_run(name="bench")
        now = time.time()
        metrics = [Metric("loss", 1.0 / (i + 1), i, now) for i in range(points)]
        start = time.perf_counter()
        for i in range(0, points, batch):
            store.log_batch(run.id, metrics=metrics[i:i + batch])
        elapsed = time.perf_counter() - start
    (folder / f"ours-{batch}.db").unlink()
    return points / elapsed


# -- search ------------------------------------------------------------------------------------------------
def build_ours(url: str, runs: int) -> None:
    from jupyter_mlops.entities import Metric, Param
    from jupyter_mlops.store import open_store

    rng = random.Random(7)
    with open_store(url) as store:
        for n in range(runs):
            params, metrics, tags = run_values(n, rng)
            run = store.create_run(name=f"run-{n}", experiment="churn", tags=tags, start_time=1.7e9 + n)
            now = time.time()
            store.log_batch(run.id, metrics=[Metric(k, v, 0, now) for k, v in metrics.items()],
                            params=[Param(k, v) for k, v in params.items()])
            store.end_run(run.id, end_time=1.7e9 + n + 60)


def search_ours(url: str, rounds: int) -> dict[str, float]:
    import jupyter_mlops as mlops
    from jupyter_mlops.store import open_store

    with open_store(url) as store:
        page = store.search_runs(FILTER, order_by=["metrics.auc DESC"], limit=50)
        everything = store.search_runs()
        one = everything.items[len(everything.items) // 2].id
        return {
            "page_of_50_s": median_time(lambda: store.search_runs(FILTER, order_by=["metrics.auc DESC"], limit=50),
                                        rounds),
            "page_total": page.total,
            "all_runs_s": median_time(store.search_runs, max(3, rounds // 2)),
            "all_runs_count": len(everything.items),
            "get_run_s": median_time(lambda: store.get_run(one), rounds),
            # the public DataFrame API users call (MLflow's counterpart is mlflow.search_runs)
            "runs_dataframe_s": median_time(lambda: mlops.runs(store=store), max(3, rounds // 2)),
            "page_dataframe_s": median_time(
                lambda: mlops.runs(FILTER, order_by="metrics.auc DESC", limit=50, store=store), rounds),
        }


# -- MLflow ------------------------------------------------------------------------------------------------
def quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def mlflow_log_batch(points: int, folder: Path) -> float:
    import mlflow
    from mlflow.entities import Metric as MlMetric
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow-batch.db'}")
    client = MlflowClient()
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id)
    now = int(time.time() * 1000)
    metrics = [MlMetric("loss", 1.0 / (i + 1), now, i) for i in range(points)]
    start = time.perf_counter()
    for i in range(0, points, 1000):  # 1,000 metrics per call is MLflow's limit
        client.log_batch(run.info.run_id, metrics=metrics[i:i + 1000])
    return points / (time.perf_counter() - start)


def build_mlflow(folder: Path, runs: int) -> tuple[str, float]:
    """Fill ``folder/mlflow-search-<runs>.db``; reuse it when a complete copy is already there."""
    import mlflow
    from mlflow.entities import Metric as MlMetric
    from mlflow.entities import Param as MlParam
    from mlflow.entities import RunTag
    from mlflow.tracking import MlflowClient

    path = folder / f"mlflow-search-{runs}.db"
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    client = MlflowClient()
    existing = client.get_experiment_by_name("churn")
    if existing is not None:
        if len(client.search_runs([existing.experiment_id], max_results=50000)) == runs:
            return existing.experiment_id, float("nan")
        raise SystemExit(f"{path} holds an incomplete MLflow store; delete it and run again")
    experiment = client.create_experiment("churn")
    rng = random.Random(7)
    start = time.perf_counter()
    for n in range(runs):
        params, metrics, tags = run_values(n, rng)
        run = client.create_run(experiment, run_name=f"run-{n}")
        now = int(time.time() * 1000)
        client.log_batch(run.info.run_id, metrics=[MlMetric(k, v, now, 0) for k, v in metrics.items()],
                         params=[MlParam(k, str(v)) for k, v in params.items()],
                         tags=[RunTag(t, "true") for t in tags])
        client.set_terminated(run.info.run_id)
    return experiment, (time.perf_counter() - start) / runs


def search_mlflow(experiment: str, rounds: int) -> dict[str, float]:
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient()

    def page() -> object:
        return client.search_runs([experiment], MLFLOW_FILTER, order_by=["metrics.auc DESC"], max_results=50)

    def page_frame() -> object:
        return mlflow.search_runs([experiment], MLFLOW_FILTER, order_by=["metrics.auc DESC"], max_results=50)

    return {
        "page_of_50_s": median_time(page, rounds),
        "page_dataframe_s": median_time(page_frame, rounds),
        "page_total": len(client.search_runs([experiment], MLFLOW_FILTER, max_results=50000)),
        "all_runs_dataframe_s": median_time(lambda: mlflow.search_runs([experiment], max_results=100000),
                                            max(3, rounds // 2)),
    }


# -- main --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--mlflow-runs", type=int, help="runs in the MLflow store (default: --runs)")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=RESULTS / "stores",
                        help="keep the built search databases here and reuse them (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.mlflow_runs, args.rounds = 500, 100, 3
    if args.mlflow_runs is None:
        args.mlflow_runs = args.runs
    points = 20_000 if args.quick else 200_000
    result: dict[str, object] = {"runs": args.runs, "mlflow_runs": args.mlflow_runs, "points": points}
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        folder = Path(tmp)
        stores = args.cache or folder
        stores.mkdir(parents=True, exist_ok=True)
        batches: dict[str, object] = {}
        for batch in (1000, 5000):
            floor = statistics.median(raw_sqlite_floor(points, batch, folder) for _ in range(args.rounds))
            ours = statistics.median(ours_log_batch(points, batch, folder) for _ in range(args.rounds))
            batches[str(batch)] = {"raw_sqlite3_points_per_s": floor, "ours_points_per_s": ours,
                                   "ours_vs_floor": ours / floor}
            print(f"log_batch {batch:>5}/call: ours {ours:>10,.0f} pts/s   raw sqlite3 {floor:>10,.0f} pts/s"
                  f"   ratio {ours / floor:.2f}")
        result["log_batch"] = batches
        searches: dict[str, object] = {}
        for count in sorted({args.runs, args.mlflow_runs}):
            path = stores / f"search-{count}.db"
            url = f"sqlite:///{path}"
            start = time.perf_counter()
            reused = path.exists()
            if not reused:
                build_ours(url, count)
            build_s = float("nan") if reused else time.perf_counter() - start
            searches[str(count)] = {**search_ours(url, args.rounds), "build_per_run_s": build_s / count}
            s = searches[str(count)]
            print(f"ours, {count:>6} runs: page of 50 {s['page_of_50_s'] * 1e3:7.1f} ms (of {s['page_total']})"
                  f"   as DataFrame {s['page_dataframe_s'] * 1e3:7.1f} ms   all runs {s['all_runs_s'] * 1e3:7.1f} ms"
                  f"   mlops.runs() {s['runs_dataframe_s'] * 1e3:7.1f} ms   get_run {s['get_run_s'] * 1e3:5.2f} ms"
                  f"   build {s['build_per_run_s'] * 1e3:5.2f} ms/run")
        result["ours_search"] = searches
        if not args.no_mlflow:
            quiet_mlflow()
            ml_batch = statistics.median(mlflow_log_batch(points // 4, folder) for _ in range(3))
            experiment, per_run = build_mlflow(stores, args.mlflow_runs)
            ml = {**search_mlflow(experiment, args.rounds), "log_batch_points_per_s": ml_batch,
                  "build_per_run_s": per_run}
            result["mlflow"] = ml
            print(f"mlflow, {args.mlflow_runs:>4} runs: page of 50 {ml['page_of_50_s'] * 1e3:7.1f} ms "
                  f"(of {ml['page_total']})   as DataFrame {ml['page_dataframe_s'] * 1e3:7.1f} ms"
                  f"   all runs to DataFrame {ml['all_runs_dataframe_s'] * 1e3:7.1f} ms"
                  f"   log_batch {ml_batch:,.0f} pts/s   build {per_run * 1e3:.1f} ms/run")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "store.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS / 'store.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""100,000 runs: the sidebar's filtered page and the REST compare at scale, on SQLite and PostgreSQL side by side.

    .venv/bin/python bench/scale_bench.py [--runs 100000] [--long-steps 1000000] [--backends sqlite,postgresql]
                                          [--rounds 20] [--http] [--browser] [--pages-only]

Builds, per back-end, a store of N runs x 20 params x 10 metrics (plus tags), 100 runs with 1,000-step histories
of two metrics and 10 runs with one metric of ``--long-steps`` steps (10 x 1,000,000 = 10M points), with the
*fast loader* below: the store itself creates the schema (``open_store`` applies every migration), then rows go
straight into its tables in large batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL), with the same
encodings the write path uses (``encode_param``, ``runs.summary`` JSON, NaN as NULL). ``param_history`` is not
filled: nothing measured here reads it. PostgreSQL is a throwaway server started like the tests' (tests/pg.py).

Measures, in this process, the app function a REST handler calls plus the handler's JSON encoding
(``schemas.*_json`` + ``handlers.encode``), i.e. everything but tornado and the socket:
  * ``runs.list_runs`` with ``metrics.auc > 0.5 and params.lr = "0.1"``, sorted by ``metrics.auc DESC``, page 50:
    the first page, a deep page (offset 5,000) and the unfiltered first page (target <= 50 ms); each side by side
    with the plan before ADR-113 (``store.statements.walk = False``), rounds alternating, load average per page;
  * on PostgreSQL, the plan of the filtered page's count (``EXPLAIN (ANALYZE, BUFFERS)``, printed and saved);
  * ``compare.compare`` of 100 runs x 1,000 steps and of 10 runs x 1,000,000 steps (target p95 <= 300 ms);
    the first (cold) call of each is reported apart.
``--http`` also starts JupyterLab on the SQLite store and times the same calls over HTTP; ``--browser`` adds
"Experiments tab clicked -> first rows visible" in headless Chromium (target <= 1 s). ``--pages-only`` builds
the runs without histories and times the pages alone (minutes instead of most of an hour). Writes
bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
FILTER = 'metrics.auc > 0.5 and params.lr = "0.1"'
FILTER_NUMERIC = "metrics.auc > 0.5 and params.lr = 0.1"  # the same runs, through the numeric param index
SORT = ["metrics.auc DESC"]
BATCH = 50_000


# -- the fast loader --------------------------------------------------------------------------------------------


class Loader:
    """Batched inserts into one store's tables through its engine (same schema, same value encodings)."""

    def __init__(self, store: Any) -> None:
        self.engine = store.engine
        self.dialect = self.engine.dialect.name

    def insert(self, table: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        count, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                count += self._flush(table, columns, batch)
                batch = []
        return count + (self._flush(table, columns, batch) if batch else 0)

    def _flush(self, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            if self.dialect == "postgresql":
                with cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cur.execute("BEGIN")  # the store's connections autocommit (it begins its own transactions)
                cur.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)
            raw.commit()
        finally:
            raw.close()
        return len(rows)


def _run_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def build(url: str, runs: int, mid_runs: int, mid_steps: int, long_runs: int, long_steps: int) -> dict[str, Any]:
    """Fill a fresh store at ``url``; return the ids of the compare sets and load timings."""
    from jupyter_mlops.store import open_store
    from jupyter_mlops.store import schema as s
    from jupyter_mlops.store.values import encode_param

    rng = random.Random(0)
    store = open_store(url)
    loader = Loader(store)
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    now = time.time()
    loader.insert(s.experiments, ("id", "name", "created"),
                  [(n + 1, f"exp{n}", now) for n in range(5)] + [(6, "mid", now), (7, "long", now)])
    run_rows, param_rows, latest_rows, tag_rows = [], [], [], []
    first = now - runs * 60

    def add_run(run_id: str, name: str, experiment: int, start: float, params: dict[str, Any],
                metrics: dict[str, tuple[float, int]], tags: list[str]) -> None:
        summary = {"params": params, "metrics": {k: v for k, (v, _) in metrics.items()}}
        run_rows.append((run_id, name, experiment, "finished", start, start + 30, start + 30, "",
                         json.dumps(summary), 0))
        for key, value in params.items():
            text, number, as_text = encode_param(value)
            param_rows.append((run_id, key, text, number, as_text, "api"))
        for key, (value, step) in metrics.items():
            latest_rows.append((run_id, key, None if math.isnan(value) else value, step, start + 30))
        tag_rows.extend((run_id, tag) for tag in tags)

    for n in range(runs):
        params: dict[str, Any] = {"lr": rng.choice([0.1, 0.01, 0.001, 0.0001]),
                                  "optimizer": rng.choice(["adam", "sgd", "adamw"])}
        params.update({f"p{k}": rng.randint(0, 100) for k in range(18)})
        metrics = {"auc": (rng.uniform(0.3, 0.95), 0), "loss": (rng.random(), 0)}
        metrics.update({f"m{k}": (rng.random(), 0) for k in range(8)})
        add_run(_run_id(rng), f"run-{n}", 1 + n % 5, first + n * 60, params, metrics,
                ["baseline"] if n % 5 == 0 else ["tuned"])
    mid_ids = [_run_id(rng) for _ in range(mid_runs)]
    long_ids = [_run_id(rng) for _ in range(long_runs)]
    for n, run_id in enumerate(mid_ids):
        add_run(run_id, f"mid-{n}", 6, now + n, {"lr": 0.01 * (n % 7 + 1), "depth": 3 + n % 5},
                {"loss": (1.0, mid_steps - 1), "auc": (0.9, mid_steps - 1)}, ["mid"])
    for n, run_id in enumerate(long_ids):
        add_run(run_id, f"long-{n}", 7, now + 1000 + n, {"lr": 0.01 * (n + 1)},
                {"loss": (0.1, long_steps - 1)}, ["long"])
    loader.insert(s.runs, ("id", "name", "experiment_id", "status", "start_time", "end_time", "heartbeat", "note",
                           "summary", "logging_errors"), run_rows)
    loader.insert(s.params, ("run_id", "key", "value", "num_value", "text_value", "source"), param_rows)
    loader.insert(s.latest_metrics, ("run_id", "key", "value", "step", "timestamp"), latest_rows)
    loader.insert(s.tags, ("run_id", "tag"), tag_rows)
    timings["runs_s"] = time.perf_counter() - started

    def points() -> Iterable[tuple[Any, ...]]:
        for n, run_id in enumerate(mid_ids):
            for key in ("loss", "auc"):
                for step in range(mid_steps):
                    yield (run_id, key, step, math.exp(-step / 300) + 0.01 * ((n * step) % 17), now + step)
        for n, run_id in enumerate(long_ids):
            for step in range(long_steps):
                # A decaying curve with noise and rare spikes: downsampling must keep the spikes.
                spike = 5.0 if step % 99_991 == n else 0.0
                yield (run_id, "loss", step, math.exp(-step / 200_000) + 0.05 * ((step * 7919) % 101) / 101 + spike,
                       now + step)

    started = time.perf_counter()
    count = loader.insert(s.metrics, ("run_id", "key", "step", "value", "timestamp"), points())
    timings["points"] = count
    timings["points_s"] = time.perf_counter() - started
    # The loader goes around the write path, so it builds the rollups the write path would have kept, through the
    # store function every bulk writer calls (ADR-116): it reads each history back once.
    started = time.perf_counter()
    timings["rollup_blocks"] = store.build_rollups(mid_ids + long_ids)[1]
    timings["rollups_s"] = time.perf_counter() - started
    if loader.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # autovacuum does this to a store that grew; not timed
            # A VACUUM marks pages all-visible (what index-only scans need) only for rows older than every open
            # snapshot; an autovacuum that started during the load can hold some back. Vacuum again until the
            # store is at rest, as autovacuum leaves a store nobody writes to (ADR-114), and say how far it got.
            for _ in range(30):
                timings["all_visible"] = visible = _all_visible(conn)
                if min(visible.values()) >= 0.99:
                    break
                time.sleep(2)
                conn.exec_driver_sql("VACUUM")
    store.close()
    return {"mid_ids": mid_ids, "long_ids": long_ids, "load": timings}


def _all_visible(conn: Any) -> dict[str, float]:
    """The share of each searched table's pages that PostgreSQL's visibility map marks all-visible."""
    rows = conn.exec_driver_sql("SELECT relname, relallvisible::float / greatest(relpages, 1) FROM pg_class "
                                "WHERE relname IN ('runs', 'params', 'latest_metrics', 'tags')")
    return {name: round(share, 3) for name, share in rows}


# -- measuring --------------------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def timed(fn: Callable[[], object], rounds: int) -> dict[str, float]:
    started = time.perf_counter()
    fn()
    cold = time.perf_counter() - started
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    ms = 1000.0
    return {"cold_ms": cold * ms, "p50_ms": statistics.median(times) * ms, "p95_ms": p95(times) * ms,
            "rounds": rounds}


def timed_pair(store: Any, fn: Callable[[], object], rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """``timed`` for the search plan before ADR-113 and the current one, rounds alternating which goes first."""
    times: dict[bool, list[float]] = {False: [], True: []}
    colds: dict[bool, float] = {}
    loads = []
    for number in range(rounds + 1):
        for walk in ((False, True) if number % 2 else (True, False)):
            store.statements.walk = walk
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            if number:
                times[walk].append(elapsed)
            else:
                colds[walk] = elapsed
        loads.append(os.getloadavg()[0])
    store.statements.walk = True
    ms = 1000.0
    stats = [{"cold_ms": colds[walk] * ms, "p50_ms": statistics.median(times[walk]) * ms,
              "p95_ms": p95(times[walk]) * ms, "rounds": rounds, "load": statistics.median(loads)}
             for walk in (False, True)]
    return stats[0], stats[1]


def count_plan(store: Any, filter_text: str) -> list[str]:
    """PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)`` of a filtered page's count, as the store runs it (ADR-114)."""
    engine = store.engine
    if engine.dialect.name != "postgresql":
        return []
    compiled = store.statements.search(filter_text, SORT, 50, 0).count.compile(dialect=engine.dialect)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, compiled.params)
        return [row[0] for row in rows]


def measure(url: str, sets: dict[str, Any], rounds: int, pages_only: bool = False) -> dict[str, Any]:
    from jupyter_mlops.app import compare, runs
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.server import schemas
    from jupyter_mlops.server.handlers import encode

    ws = Workspace.from_url(url)

    def page(filter_text: str | None, sort: list[str], offset: int) -> Callable[[], bytes]:
        return lambda: encode(schemas.runs_page_json(runs.list_runs(ws, filter_text, sort, 50, offset)))

    def compared(ids: list[str]) -> Callable[[], bytes]:
        def call() -> bytes:
            answer = compare.compare(ws, ids)
            return encode(schemas.compare_json(answer.comparison.to_dict(), answer.history_charts,
                                               answer.params_charts, answer.sampling_json()))
        return call

    out: dict[str, Any] = {}
    first = runs.list_runs(ws, FILTER, SORT, 50, 0)
    out["filtered_matches"] = first.total
    out["count_plans"] = {text: count_plan(ws.store, text) for text in (FILTER, FILTER_NUMERIC)}
    last = max(0, runs.list_runs(ws, None, [], 1, 0).total - 50)
    cases = {"filtered_page": (FILTER, SORT, 0), "filtered_page_offset_5000": (FILTER, SORT, 5000),
             "filtered_page_numeric_lr": (FILTER_NUMERIC, SORT, 0), "first_page_unfiltered": (None, [], 0),
             "last_page_unfiltered": (None, [], last),  # the sidebar scrolled to the bottom
             "last_page_by_auc": (None, SORT, last)}
    out["before"] = {}
    for name, (text, sort, offset) in cases.items():
        # Side by side, alternating: the plan before ADR-113 (no sort walk) and the current one.
        before, after = timed_pair(ws.store, page(text, sort, offset), rounds)
        out["before"][name], out[name] = before, after
    if pages_only:
        ws.close()
        return out
    out["compare_100x1k"] = timed(compared(sets["mid_ids"]), rounds)
    out["compare_100x1k_bytes"] = len(compared(sets["mid_ids"])())
    out["compare_10x1M"] = timed(compared(sets["long_ids"]), max(3, rounds // 2))
    # Cold again, with this process's chart-series cache emptied before each call (what a server start empties):
    # through the rollups, and once through every raw point as before ADR-116 (rollups not used).
    from jupyter_mlops.app import chart_series

    colds = []
    for _ in range(5):
        chart_series._caches.clear()
        started = time.perf_counter()
        compared(sets["long_ids"])()
        colds.append(time.perf_counter() - started)
    out["compare_10x1M_cold_cache_cleared"] = {"cold_ms": colds[0] * 1000, "p50_ms": statistics.median(colds) * 1000,
                                               "p95_ms": max(colds) * 1000, "rounds": len(colds),
                                               "load": os.getloadavg()[0]}
    chart_series._caches.clear()
    chart_series.BLOCKS_PER_BUCKET = 10**6  # no history is long enough: every point is read, as before
    started = time.perf_counter()
    compared(sets["long_ids"])()
    raw = (time.perf_counter() - started) * 1000
    chart_series.BLOCKS_PER_BUCKET = 1
    out["compare_10x1M_cold_raw_points"] = {"cold_ms": raw, "p50_ms": raw, "p95_ms": raw, "rounds": 1,
                                            "load": os.getloadavg()[0]}
    out["compare_10x1M_bytes"] = len(compared(sets["long_ids"])())
    ws.close()
    return out


def measure_http(root: Path, work: Path, sets: dict[str, Any], rounds: int, browser: bool) -> dict[str, Any]:
    import http.client
    import urllib.parse

    sys.path.insert(0, str(ROOT / "bench"))
    from server_bench import sidebar_click_to_rows, start_lab

    def timed_requests(port: int, token: str, path: str, count: int) -> list[float]:
        # server_bench's helper with a longer timeout: a cold compare of 10M points takes minutes here.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"token {token}"})
            response = conn.getresponse()
            body = response.read()
            times.append(time.perf_counter() - started)
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status} {body[:200]!r}")
        return times

    proc, port, token = start_lab(root, work)
    ms = 1000.0

    def stats(times: list[float]) -> dict[str, float]:
        return {"p50_ms": statistics.median(times) * ms, "p95_ms": p95(times) * ms, "rounds": len(times)}

    try:
        out: dict[str, Any] = {}
        query = urllib.parse.urlencode({"filter": FILTER, "sort": "-metrics.auc", "limit": 50})
        timed_requests(port, token, f"/jupyter-mlops/api/runs?{query}", 3)
        out["filtered_page"] = stats(timed_requests(port, token, f"/jupyter-mlops/api/runs?{query}", rounds))
        for label, ids in (("compare_100x1k", sets["mid_ids"]), ("compare_10x1M", sets["long_ids"])):
            path = f"/jupyter-mlops/api/compare?ids={','.join(ids)}"
            started = time.perf_counter()
            timed_requests(port, token, path, 1)
            cold = (time.perf_counter() - started) * ms
            out[label] = {**stats(timed_requests(port, token, path, rounds)), "cold_ms": cold}
        if browser:
            clicks = sidebar_click_to_rows(port, token, 3)
            out["sidebar_click_to_rows"] = {"median_ms": statistics.median(clicks) * ms, "max_ms": max(clicks) * ms}
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except Exception:  # noqa: BLE001 - a server stuck in a long request: stop it harder
            proc.kill()


def _print(backend: str, result: dict[str, Any]) -> None:
    for text, plan in result.get("count_plans", {}).items():
        print(f"\n[{backend}] the count of {text!r}:", *plan, sep="\n  ")
    print(f"\n[{backend}] {result['filtered_matches']} runs match {FILTER!r}")
    print(f"{'measure':36} {'cold':>10} {'p50':>10} {'p95':>10}")
    rows = [(key, value) for key, value in result.items()]
    rows += [(f"{key} (before)", value) for key, value in result.get("before", {}).items()]
    for key, value in rows:
        if isinstance(value, dict) and "p50_ms" in value:
            cold = f"{value['cold_ms']:8.1f}ms" if "cold_ms" in value else ""
            load = f"  load {value['load']:.1f}" if "load" in value else ""
            print(f"{key:45} {cold:>10} {value['p50_ms']:8.1f}ms {value['p95_ms']:8.1f}ms{load}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--mid-runs", type=int, default=100)
    parser.add_argument("--mid-steps", type=int, default=1000)
    parser.add_argument("--long-runs", type=int, default=10)
    parser.add_argument("--long-steps", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--http", action="store_true", help="also time the SQLite calls through JupyterLab")
    parser.add_argument("--browser", action="store_true", help="with --http: time the sidebar in Chromium")
    parser.add_argument("--keep", type=Path, help="build the stores under this folder and leave them there")
    parser.add_argument("--pages-only", action="store_true",
                        help="build runs without metric histories and time the pages only (no compare)")
    args = parser.parse_args()
    if args.pages_only:
        args.mid_runs = args.long_runs = 0
    results: dict[str, Any] = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                               "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep or scratch)
        for backend in args.backends.split(","):
            root = Path(tmp) / backend / "project"
            root.mkdir(parents=True)
            (root / "pyproject.toml").write_text('[project]\nname = "bench"\n')
            server = None
            if backend == "postgresql":
                from tests.pg import start_server  # type: ignore[import-not-found]

                server = start_server()
                url = server.url()
            else:
                url = f"sqlite:///{root / '.mlops' / 'mlops.db'}"
                (root / ".mlops").mkdir()
            try:
                sets = build(url, args.runs, args.mid_runs, args.mid_steps, args.long_runs, args.long_steps)
                load = sets["load"]
                print(f"[{backend}] loaded {args.runs} runs in {load['runs_s']:.0f} s, {load['points']} points in "
                      f"{load['points_s']:.0f} s" + (f"; all-visible {load['all_visible']}" if "all_visible" in load
                                                     else ""))
                result = {"load": load, **measure(url, sets, args.rounds, args.pages_only)}
                _print(backend, result)
                if args.http and backend == "sqlite" and not args.pages_only:
                    work = Path(tmp) / "work"
                    work.mkdir()
                    try:
                        result["http"] = measure_http(root, work, sets, args.rounds, args.browser)
                    except (Exception, SystemExit) as error:  # noqa: BLE001 - keep the in-process numbers
                        result["http"] = {"error": repr(error)[:500]}
                    print(json.dumps(result["http"], indent=1))
                results[backend] = result
                _save(results)  # after each back-end: a later failure keeps what was measured
            finally:
                if server is not None:
                    server.stop()
    results["loadavg_after"] = os.getloadavg()
    print(f"load average before {results['loadavg_before']}, after {results['loadavg_after']}")
    _save(results)
    return 0


def _save(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())

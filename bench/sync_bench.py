"""``sync push`` of RUNS runs x POINTS metric points from a local SQLite store to PostgreSQL on localhost.

Targets (issue 13): a first push moves >= 50,000 points/s; an up-to-date second push takes <= 1 s.

Builds the local store once (cached under --data): RUNS finished runs, each with POINTS points of one metric,
five params and two tags. Starts its own PostgreSQL server (the test suite's helper, tests/pg.py) unless --pg-url
names one. Each round copies the local store file (so its watermark is empty), pushes it into a fresh, migrated
PostgreSQL database with ``app.sync.sync`` (what ``jupyter-mlops sync push`` runs), then pushes again (nothing to
move), and times the second push also as a cold ``jupyter-mlops sync push`` process (imports and connection
included).
Medians over --repeats rounds are printed with the load average; the machine is shared.

    python bench/sync_bench.py --runs 1000 --points 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def build(data: Path, runs: int, points: int) -> Path:
    from jupyter_mlops.store import open_store

    path = data / f"local-{runs}x{points}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{partial}")
    try:
        start = time.time() - runs * 60
        for i in range(runs):
            run = store.create_run(name=f"run-{i}", experiment="bench", tags=["bench", f"group-{i % 10}"],
                                   start_time=start + i * 60)
            store.log_params(run.id, {"lr": 0.01 * (i % 7), "depth": i % 9, "model": "lgbm", "seed": i, "fold": 3})
            t0 = start + i * 60
            store.log_metric_rows(run.id, [("loss", 1.0 / (j + 1), j, t0 + j * 0.01) for j in range(points)])
            store.update_run(run.id, status="finished", end_time=t0 + points * 0.01)
    finally:
        store.close()
    partial.rename(path)
    return path


def server_cpu(datadir: Path | None) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster, its reaped backends and its live ones."""
    if datadir is None:
        return math.nan
    pid = (datadir / "data" / "postmaster.pid").read_text().split()[0]
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if stat.parent.name == pid:
            ticks += sum(int(x) for x in fields[11:15])  # its own time and its reaped backends'
        elif fields[1] == pid:
            ticks += int(fields[11]) + int(fields[12])  # a live backend
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_round(local_db: Path, work: Path, pg_admin: str, n: int, datadir: Path | None) -> dict[str, float]:
    import pg  # tests/pg.py

    from jupyter_mlops.app.sync import sync
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.store import open_store

    copy = work / f"round-{n}.db"
    shutil.copyfile(local_db, copy)
    remote = pg.create_database(pg_admin, f"sync_bench_{n}")
    open_store(remote).close()  # the team store exists already (its schema is made once, not per push)
    settings = load_settings(store_url=f"sqlite:///{copy}", blobs_url=str(work / "blobs"), start=work)
    with Workspace(settings, create=False) as workspace:
        start, cpu, served = time.perf_counter(), own_cpu(), server_cpu(datadir)
        first = sync(workspace, "push", remote=remote)
        first_s = time.perf_counter() - start
        client_cpu, pg_cpu = own_cpu() - cpu, server_cpu(datadir) - served
        start = time.perf_counter()
        second = sync(workspace, "push", remote=remote)
        second_s = time.perf_counter() - start
    if not second.nothing_new:
        raise SystemExit(f"the second push moved something: {second}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "jupyter_mlops", "sync", "push", "--store", f"sqlite:///{copy}",
                           "--remote", remote], capture_output=True, text=True, env=env, cwd=work)
    cli_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    if done.returncode != 0 or "nothing to push" not in done.stdout:
        raise SystemExit(f"second CLI push failed: {done.stdout} {done.stderr}")
    copy.unlink()
    return {"first_s": first_s, "points": first.points, "runs": first.runs, "second_s": second_s, "cli_s": cli_s,
            "client_cpu": client_cpu, "server_cpu": pg_cpu, "cli_cpu": cli_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mlops-sync-bench")
    parser.add_argument("--pg-url", default=None, help="admin URL of a running PostgreSQL (default: start one)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    import pg  # tests/pg.py

    started = time.perf_counter()
    local_db = build(args.data, args.runs, args.points)
    print(f"local store: {args.runs} runs x {args.points} points ({time.perf_counter() - started:.1f} s to build)")
    server = None
    admin = args.pg_url
    if admin is None:
        server = pg.start_server()
        admin = server.url("postgres")
    work = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    results = []
    try:
        for n in range(args.repeats):
            result = one_round(local_db, work, admin, n, None if server is None else server.datadir)
            results.append(result)
            print(f"round {n}: first push {result['first_s']:.2f} s ({result['points'] / result['first_s']:,.0f} "
                  f"points/s), up-to-date push {result['second_s'] * 1000:.0f} ms in-process, "
                  f"{result['cli_s'] * 1000:.0f} ms as a CLI process ({result['cli_cpu'] * 1000:.0f} ms CPU); "
                  f"CPU: ours {result['client_cpu']:.1f} s, "
                  f"server {result['server_cpu']:.1f} s; load {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if server is not None:
            server.stop()
    first = statistics.median(r["first_s"] for r in results)
    points = results[0]["points"]
    print(f"median first push: {first:.2f} s = {points / first:,.0f} points/s (target >= 50,000)")
    print(f"median up-to-date push: {statistics.median(r['second_s'] for r in results) * 1000:.0f} ms in-process, "
          f"{statistics.median(r['cli_s'] for r in results) * 1000:.0f} ms as a CLI process, of which "
          f"{statistics.median(r['cli_cpu'] for r in results) * 1000:.0f} ms CPU (target <= 1 s)")
    ours = statistics.median(r["client_cpu"] for r in results)
    theirs = statistics.median(r["server_cpu"] for r in results)
    print(f"median CPU of the first push: ours {ours:.1f} s, the server's {theirs:.1f} s: "
          f"{points / max(ours, theirs):,.0f} points/s when each has a core to itself (they overlap), "
          f"{points / (ours + theirs):,.0f} points/s on one core")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

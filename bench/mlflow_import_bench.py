"""MLflow import: ``import --from mlflow`` vs ``mlflow-export-import`` on the same generated MLflow store.

Generates (once, cached under --data) an MLflow SQLite tracking store with RUNS runs of POINTS metric points each
(one metric, steps 0..POINTS-1), written by MLflow's own client. Then, on the same store:

* ours: ``app.interop.import_from_mlflow`` into a fresh jupyter_mlops SQLite store (what ``jupyter-mlops import
  --from mlflow`` runs), timed end to end including opening MLflow;
* peer: ``databricks-mlflow-export-import`` 1.2.1, the tool MLflow users copy runs with: ``export-experiment`` to a
  folder, then ``import-experiment`` into a fresh MLflow SQLite store (its only way to move runs), both timed and
  reported separately and together. Its import speaks MLflow's REST API only, so the target store is served by
  ``mlflow server`` (started before its clock; the server's start is not counted).

The peer is not in our environment (it pins databricks-cli and tabulate): install it beside the MLflow client with
``pip install --target /tmp/mei-site --no-deps databricks-mlflow-export-import==1.2.1 databricks-cli==0.18.0
tabulate==0.9.0`` and pass ``--peer-site /tmp/mei-site``. Each tool runs in its own process (cold imports
included), REPEATS times; medians are printed.

    python bench/mlflow_import_bench.py --runs 1000 --points 1000 --repeats 3 --peer-repeats 1 \
        --peer-site /tmp/mei-site
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(data: Path, runs: int, points: int) -> str:
    uri = f"sqlite:///{data / 'mlflow.db'}"
    marker = data / f"done-{runs}x{points}"
    if marker.exists():
        return uri
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("bench", artifact_location=(data / "artifacts").as_uri())
    start = 1_700_000_000_000
    for number in range(runs):
        run = client.create_run(exp, start_time=start + number * 10_000, run_name=f"run-{number}",
                                tags={"team": "ml"})
        rid = run.info.run_id
        client.log_batch(rid, params=[Param("lr", str(0.001 * (number + 1))), Param("seed", str(number))])
        series = [Metric("loss", 1.0 / (step + 1 + number), start + number * 10_000 + step, step)
                  for step in range(points)]
        for first in range(0, points, 1000):
            client.log_batch(rid, metrics=series[first:first + 1000])
        client.set_terminated(rid, "FINISHED", end_time=start + number * 10_000 + points)
    marker.touch()
    return uri


OURS = """
import sys, time
t = time.perf_counter()
from jupyter_mlops.app.interop import import_from_mlflow
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
settings = load_settings(store_url=f"sqlite:///{sys.argv[2]}/mlops.db", blobs_url=f"{sys.argv[2]}/blobs", environ={})
with Workspace(settings, create=True) as ws:
    s = import_from_mlflow(ws, sys.argv[1])
print(time.perf_counter() - t, s.copied, s.points)
"""


def run_ours(uri: str) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as tmp:
        done = subprocess.run([sys.executable, "-c", OURS, uri, tmp], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds, copied, points = done.stdout.split()
        print(f"  ours: {float(seconds):.1f} s ({copied} runs, {points} points)", flush=True)
        return float(seconds)


CLIENT_COPY = """
import sys, time
t = time.perf_counter()
from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient
src, dst = MlflowClient(tracking_uri=sys.argv[1]), MlflowClient(tracking_uri=sys.argv[2])
exp = src.get_experiment_by_name("bench")
target = dst.create_experiment("bench", artifact_location=sys.argv[3])
token, runs, points = None, 0, 0
while True:
    page = src.search_runs([exp.experiment_id], max_results=1000, page_token=token)
    for run in page:
        new = dst.create_run(target, start_time=run.info.start_time, run_name=run.info.run_name,
                             tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")})
        dst.log_batch(new.info.run_id, params=[Param(k, v) for k, v in run.data.params.items()])
        for key in run.data.metrics:
            history = src.get_metric_history(run.info.run_id, key)
            points += len(history)
            for first in range(0, len(history), 1000):
                dst.log_batch(new.info.run_id, metrics=history[first:first + 1000])
        dst.set_terminated(new.info.run_id, run.info.status, end_time=run.info.end_time)
        runs += 1
    token = page.token
    if not token:
        break
print(time.perf_counter() - t, runs, points)
"""


def run_client_copy(uri: str) -> float:
    """MLflow's own client copying run by run into a fresh MLflow SQLite store (what the peer does at its core)."""
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        done = subprocess.run([sys.executable, "-c", CLIENT_COPY, uri, f"sqlite:///{tmp}/target.db",
                               Path(tmp, "artifacts").as_uri()], capture_output=True, text=True, check=True)
        seconds, runs, points = done.stdout.split()[-3:]
        print(f"  MLflow client copy: {float(seconds):.1f} s ({runs} runs, {points} points)", flush=True)
        return float(seconds)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(target: str, artifacts: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``mlflow server`` on the target store: the peer's import talks REST only (it asks the store for host creds)."""
    import urllib.request

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", target,
                               "--default-artifact-root", artifacts.as_uri(), "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).read()
            return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("mlflow server did not start")


def run_peer(uri: str, site: str) -> tuple[float, float]:
    bin_dir = Path(site) / "bin"
    env = {**os.environ, "PYTHONPATH": site, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        out = Path(tmp) / "export"
        t = time.perf_counter()
        subprocess.run([sys.executable, str(bin_dir / "export-experiment"), "--experiment", "bench",
                        "--output-dir", str(out)], env={**env, "MLFLOW_TRACKING_URI": uri}, check=True,
                       capture_output=True)
        exported = time.perf_counter() - t
        print(f"  peer: export {exported:.1f} s", flush=True)
        server, url = _serve(f"sqlite:///{tmp}/target.db", Path(tmp) / "artifacts", env)
        try:
            t = time.perf_counter()
            subprocess.run([sys.executable, str(bin_dir / "import-experiment"), "--experiment-name", "bench",
                            "--input-dir", str(out)], env={**env, "MLFLOW_TRACKING_URI": url}, check=True,
                           capture_output=True)
            imported = time.perf_counter() - t
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"  peer: export {exported:.1f} s + import {imported:.1f} s", flush=True)
    return exported, imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-repeats", type=int, default=1)
    parser.add_argument("--peer-site", default=None, help="folder holding mlflow_export_import (see the docstring)")
    parser.add_argument("--data", default="/tmp/mlflow-import-bench")
    parser.add_argument("--client-repeats", type=int, default=0,
                        help="also time MLflow's own client copying run by run, this many times")
    args = parser.parse_args()
    t = time.perf_counter()
    uri = generate(Path(args.data) / f"{args.runs}x{args.points}", args.runs, args.points)
    print(f"MLflow store {uri}: {args.runs} runs x {args.points} points (ready in {time.perf_counter() - t:.0f} s)")
    ours = statistics.median(run_ours(uri) for _ in range(args.repeats))
    print(f"ours (import --from mlflow): median {ours:.1f} s over {args.repeats}")
    if args.client_repeats:
        client = statistics.median(run_client_copy(uri) for _ in range(args.client_repeats))
        print(f"MLflow client copy: median {client:.1f} s over {args.client_repeats}; ratio {client / ours:.1f}x")
    if args.peer_site:
        peer = [run_peer(uri, args.peer_site) for _ in range(args.peer_repeats)]
        export_s = statistics.median(p[0] for p in peer)
        import_s = statistics.median(p[1] for p in peer)
        total = statistics.median(p[0] + p[1] for p in peer)
        print(f"mlflow-export-import 1.2.1: median export {export_s:.1f} s + import {import_s:.1f} s = {total:.1f} s"
              f" over {args.peer_repeats}")
        print(f"ratio: {total / ours:.1f}x faster than export+import, {import_s / ours:.1f}x than its import alone")


if __name__ == "__main__":
    main()

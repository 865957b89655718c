"""Experiments API and sidebar speed with 10,000 runs, against a real JupyterLab and real headless Chromium.

    .venv/bin/python bench/server_bench.py [--runs 10000] [--requests 200] [--no-browser]

Builds a SQLite project store with N runs (20 params, 10 metrics, tags each) plus 10 runs with 1,000-step
histories of 3 metrics, starts ``python -m jupyterlab`` on it and measures over HTTP (token auth, keep-alive):
  * ``GET runs`` for a filtered, sorted page of 50 (p50/p95; target p95 <= 50 ms), and unfiltered for reference;
  * ``GET compare`` of the 10 long-history runs, charts included (p50/p95; target <= 200 ms);
  * in headless Chromium (/usr/bin/chromium): click on the Experiments tab until the first rows are visible, on a
    freshly loaded lab each round (median; target <= 1 s).
Prints a table and writes bench/results/server.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FILTER = "metrics.auc >= 0.8 and params.optimizer = adam and tag = baseline"


def build_store(root: Path, runs: int) -> list[str]:
    """Fill ``root``'s project store; return the ids of the 10 long-history runs."""
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.entities import Metric
    from jupyter_mlops.store import open_from_settings

    rng = random.Random(0)
    store, _ = open_from_settings(load_settings(start=root, environ={}))
    start = time.time() - runs * 60
    with store:
        for n in range(runs):
            run = store.create_run(name=f"run-{n}", experiment=f"exp{n % 5}", tags=["baseline"] if n % 5 == 0
                                   else ["tuned"], start_time=start + n * 60)
            params = {"lr": round(rng.uniform(0.001, 0.1), 4), "optimizer": rng.choice(["adam", "sgd", "adamw"])}
            params.update({f"p{k}": rng.randint(0, 100) for k in range(18)})
            store.log_params(run.id, params)
            store.log_batch(run.id, metrics=[Metric("auc", rng.uniform(0.6, 0.95)), Metric("loss", rng.random())]
                            + [Metric(f"m{k}", rng.random()) for k in range(8)])
            store.end_run(run.id, end_time=start + n * 60 + 30)
        long_ids = []
        for n in range(10):
            run = store.create_run(name=f"long-{n}", experiment="long", start_time=time.time())
            store.log_params(run.id, {"lr": 0.01 * (n + 1), "depth": 3 + n % 4})
            store.log_batch(run.id, metrics=[Metric(k, rng.random(), step, float(step))
                                             for step in range(1000) for k in ("loss", "auc", "acc")])
            store.end_run(run.id)
            long_ids.append(run.id)
    return long_ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_lab(root: Path, work: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    extensions = work / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-mlops").symlink_to(ROOT / "jupyter_mlops" / "labextension", target_is_directory=True)
    settings = work / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env.update(JUPYTERLAB_SETTINGS_DIR=str(work / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(work / "ws"))
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", f"--LabApp.extra_labextensions_path={extensions}",
            "--ServerApp.jpserver_extensions={'jupyter_mlops': True}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", f"/api/status?token={token}")
            if conn.getresponse().status == 200:
                return proc, port, token
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("jupyter lab did not start")


def timed_requests(port: int, token: str, path: str, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"token {token}"}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        times.append(time.perf_counter() - started)
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status} {body[:200]!r}")
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def sidebar_click_to_rows(port: int, token: str, rounds: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        for _ in range(rounds):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/lab?reset&token={token}")
            page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
            page.wait_for_selector(".jp-Launcher", timeout=60_000)
            tab = page.locator('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
            started = time.perf_counter()
            tab.click()
            page.wait_for_selector("#jupyter-mlops-sidebar .jp-Mlops-row[data-run-id]", timeout=30_000)
            times.append(time.perf_counter() - started)
            context.close()
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "project", Path(tmp) / "work"
        root.mkdir()
        work.mkdir()
        (root / "pyproject.toml").write_text('[project]\nname = "bench"\n')
        started = time.perf_counter()
        long_ids = build_store(root, args.runs)
        print(f"built {args.runs} runs + 10 x 3 x 1,000-step histories in {time.perf_counter() - started:.0f} s")
        proc, port, token = start_lab(root, work)
        try:
            query = urllib.parse.urlencode({"filter": FILTER, "sort": "-metrics.auc", "limit": 50})
            timed_requests(port, token, f"/jupyter-mlops/api/runs?{query}", 5)  # warm caches
            filtered = timed_requests(port, token, f"/jupyter-mlops/api/runs?{query}", args.requests)
            plain = timed_requests(port, token, "/jupyter-mlops/api/runs?limit=50", args.requests)
            compare_path = f"/jupyter-mlops/api/compare?ids={','.join(long_ids)}"
            timed_requests(port, token, compare_path, 2)
            compare = timed_requests(port, token, compare_path, 30)
            clicks = [] if args.no_browser else sidebar_click_to_rows(port, token, 5)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    ms = 1000.0
    result = {
        "runs": args.runs,
        "runs_filtered_page_ms": {"p50": statistics.median(filtered) * ms, "p95": p95(filtered) * ms},
        "runs_first_page_ms": {"p50": statistics.median(plain) * ms, "p95": p95(plain) * ms},
        "compare_10x1000_ms": {"p50": statistics.median(compare) * ms, "p95": p95(compare) * ms},
        "sidebar_click_to_rows_ms": {"median": statistics.median(clicks) * ms, "max": max(clicks) * ms}
        if clicks else None,
    }
    print(f"{'measure':40} {'p50 / median':>14} {'p95 / max':>10}  target")
    for label, key, target in (("GET runs, filtered page of 50", "runs_filtered_page_ms", "p95 <= 50 ms"),
                               ("GET runs, first page of 50", "runs_first_page_ms", ""),
                               ("GET compare, 10 runs x 1,000 steps", "compare_10x1000_ms", "<= 200 ms")):
        print(f"{label:40} {result[key]['p50']:12.1f} ms {result[key]['p95']:7.1f} ms  {target}")
    if clicks:
        c = result["sidebar_click_to_rows_ms"]
        print(f"{'sidebar click -> rows visible':40} {c['median']:12.1f} ms {c['max']:7.1f} ms  <= 1000 ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "server.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

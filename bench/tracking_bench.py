"""Tracking engine vs MLflow 3 on SQLite, side by side in one process, on the same machine and disk.

    .venv/bin/python bench/tracking_bench.py [--quick]

Measures (medians of repeated rounds):
  * log_metric in a tight loop, durable: timed until the run is ended and every point is flushed;
  * MLflow log_metric (one call per point) and log_batch (1,000 metrics per call, its maximum);
  * start_run + end_run including environment and git capture (inside a real git repository);
  * auto-capture overhead per executed cell: run_cell of a 20-line cell with no file reads, bare shell vs
    shell with the extension's observer registered and a run active (auto-capture on); blocks of 1,000 cells
    (300 with --quick) alternating pairs per round (``--cells-only`` runs just this part);
  * the observer's snapshot path, per cell: names read and bound of each cell of a 1,000-cell history (from the
    tree IPython built, as ``kernel_events`` computes them for a run's context) plus ``context_cells`` over it
    (``--snapshot-only`` runs just this part);
  * the observer's own post-cell path, ``post_run_cell`` called directly on 5,000 cells per round (2,000 with
    --quick), a source seen before and a new one (``--callbacks`` runs just this part).
Prints a table and writes bench/results/tracking.json.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

CELL_20 = "\n".join(
    [
        "a = 1",
        "b = 2",
        "c = a + b",
        "values = [i * c for i in range(10)]",
        "total = sum(values)",
        "def square(x):",
        "    return x * x",
        "squares = [square(v) for v in values]",
        "d = {'k': total, 'n': len(squares)}",
        "e = d['k'] / max(1, d['n'])",
        "f = e * 2",
        "g = f - 1",
        "h = [g] * 3",
        "i2 = sorted(h)",
        "j = tuple(i2)",
        "k = set(j)",
        "m = len(k)",
        "n = m + total",
        "o = str(n)",
        "p = o.upper()",
    ]
)


#: A modelling cell with the scopes that make name analysis work: a function with locals, a class with a method,
#: a dict comprehension, a lambda, an in-place call and an augmented assignment in a loop.
CELL_MODEL = "\n".join(
    [
        "import numpy as np",
        "from sklearn.linear_model import LogisticRegression",
        "def evaluate(model, X, y):",
        "    pred = model.predict(X)",
        "    acc = (pred == y).mean()",
        "    return {'acc': acc, 'n': len(y)}",
        "class Scaler:",
        "    def fit(self, X):",
        "        self.mean = X.mean(axis=0)",
        "        return self",
        "scores = {name: evaluate(m, X_test, y_test) for name, m in models.items()}",
        "best = max(scores, key=lambda k: scores[k]['acc'])",
        "df.dropna(inplace=True)",
        "total = 0",
        "for v in values:",
        "    total += v",
    ]
)


def median_of(fn, rounds: int, label: str = "") -> float:
    values = [fn() for _ in range(rounds)]
    print(f"  {label}: {[round(v, 4) for v in values]}", file=sys.stderr, flush=True)
    return statistics.median(values)


def ours_log_metric(n: int, store: str) -> float:
    import jupyter_mlops as mlops

    run = mlops.start_run(store=store, auto_capture=False)
    log = run.log_metric
    t0 = time.perf_counter()
    for i in range(n):
        log("loss", i * 0.001)
    run.end()
    return n / (time.perf_counter() - t0)


def mlflow_log_metric(n: int) -> float:
    import mlflow

    with mlflow.start_run():
        t0 = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", i * 0.001, step=i)
        return n / (time.perf_counter() - t0)


def mlflow_log_batch(n: int) -> float:
    import mlflow
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    with mlflow.start_run() as run:
        now = int(time.time() * 1000)
        t0 = time.perf_counter()
        for start in range(0, n, 1000):
            batch = [Metric("loss", i * 0.001, now, i) for i in range(start, start + 1000)]
            client.log_batch(run.info.run_id, metrics=batch)
        return n / (time.perf_counter() - t0)


def ours_start_end(store: str) -> float:
    import jupyter_mlops as mlops

    t0 = time.perf_counter()
    mlops.start_run(store=store)
    mlops.end_run()
    return time.perf_counter() - t0


def mlflow_start_end() -> float:
    import mlflow

    t0 = time.perf_counter()
    mlflow.start_run()
    mlflow.end_run()
    return time.perf_counter() - t0


def local_modules(folder: Path, count: int) -> None:
    """Write ``count`` small project modules into ``folder`` (the working directory) and import them.

    With them the observer's module watch (ADR-102) checks ``count`` local modules after every cell, the steady
    state of a notebook that imported its project's helpers.
    """
    import importlib

    for i in range(count):
        (folder / f"bench_helpers_{i}.py").write_text(f"def f(x):\n    return x + {i}\n", encoding="utf-8")
    importlib.invalidate_caches()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    for i in range(count):
        importlib.import_module(f"bench_helpers_{i}")


def cell_overhead(rounds: int, cells: int, store: str) -> tuple[float, float]:
    """Per-cell ``run_cell`` seconds, bare shell vs observer registered on an active run.

    Each round times ``cells`` pairs of executions, one bare and one tracked, alternating cell by cell (the
    observer is registered and unregistered between them, untimed), so IPython's own per-cell cost (its history
    grows with every cell) and machine noise hit both alike. A round's figure is its median cell; the result is
    the median of the rounds.
    """
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_mlops as mlops
    from jupyter_mlops.ipython import magics

    ip = InteractiveShell.instance()
    ip.run_cell(CELL_20, store_history=True)  # warm caches
    observer = magics.CellObserver(ip)

    def timed() -> float:
        t0 = time.perf_counter()
        ip.run_cell(CELL_20, store_history=True)
        return time.perf_counter() - t0

    def block() -> tuple[float, float]:
        bare_cells, tracked_cells = [], []
        for _ in range(cells):
            bare_cells.append(timed())
            observer.register()
            tracked_cells.append(timed())
            observer.unregister()
        return statistics.median(bare_cells), statistics.median(tracked_cells)

    bare, tracked = [], []
    run = mlops.start_run(store=store, user_ns=ip.user_ns)
    observer.register()
    observer.attach(run)
    observer.unregister()
    for _ in range(rounds):
        round_bare, round_tracked = block()
        bare.append(round_bare)
        tracked.append(round_tracked)
    mlops.end_run()
    print(f"  run_cell bare ms: {[round(1000 * v, 3) for v in bare]}", file=sys.stderr)
    print(f"  run_cell tracked ms: {[round(1000 * v, 3) for v in tracked]}", file=sys.stderr)
    return statistics.median(bare), statistics.median(tracked)


def snapshot_names(rounds: int, cells: int) -> tuple[float, float]:
    """Microseconds per cell of the observer's snapshot name work, for ``CELL_20`` and ``CELL_MODEL`` histories.

    A run's code snapshot needs, for every cell of the kernel's history, the names it reads and binds
    (``CellAnalysis(tree).names_read`` / ``names_defined`` on the tree IPython built, computed once per cell on
    the writer thread) and then ``context_cells`` over them. Trees are parsed untimed; each round analyses fresh
    ``CellAnalysis`` objects, so nothing is memoised between rounds. The run starts at the middle of the history.
    """
    from jupyter_mlops.capture import cells as cell_analysis
    from jupyter_mlops.capture import code

    def per_cell(source: str) -> float:
        trees = [ast.parse(source) for _ in range(cells)]

        def once() -> float:
            t0 = time.perf_counter()
            names = []
            for tree in trees:
                analysis = cell_analysis.CellAnalysis(tree)
                names.append((frozenset(analysis.names_read), frozenset(analysis.names_defined)))
            code.context_cells(names, cells // 2)
            return 1e6 * (time.perf_counter() - t0) / cells

        once()  # warm-up
        return median_of(once, rounds, f"snapshot names, {source.count(chr(10)) + 1}-line cell (µs/cell)")

    return per_cell(CELL_20), per_cell(CELL_MODEL)
def callback_cost(rounds: int, cells: int, store: str) -> tuple[float, float]:
    """Seconds the observer's ``post_run_cell`` takes per cell, called directly (IPython's parse is untimed).

    Each cell goes through ``pre_run_cell``, the shell compiler's ``ast_parse`` (which the observer's tap keeps)
    and a timed ``post_run_cell`` with an ``ExecutionResult``-like object, so what is measured is the observer's
    own path: the adapter, the session, ``capture.cells.analyze``, parameter inference. Returns the median round's
    median cell for a source seen before (its analysis cached) and for a new source each time.
    """
    from types import SimpleNamespace

    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_mlops as mlops
    from jupyter_mlops.ipython import magics

    ip = InteractiveShell.instance()
    observer = magics.CellObserver(ip)
    observer.register()
    run = mlops.start_run(store=store, user_ns=ip.user_ns)
    observer.attach(run)
    count = 1_000_000  # far from the shell's own counter, and rising: no "counter went back"

    def one(source: str) -> float:
        nonlocal count
        count += 1
        observer.pre_run_cell(None)
        ip.compile.ast_parse(source)
        info = SimpleNamespace(raw_cell=source, store_history=True, cell_id=None)
        result = SimpleNamespace(info=info, execution_count=count, error_in_exec=None, error_before_exec=None)
        t0 = time.perf_counter()
        observer.post_run_cell(result)
        return time.perf_counter() - t0

    medians: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for new in (False, True):
            medians[new].append(statistics.median(one(CELL_20 + (f"\n# {count}" if new else "")) for _ in range(cells)))
    mlops.end_run()
    observer.unregister()
    for new, values in medians.items():
        label = "new source" if new else "cached"
        print(f"  post_run_cell {label} us: {[round(1e6 * v, 2) for v in values]}", file=sys.stderr)
    return statistics.median(medians[False]), statistics.median(medians[True])


def git_repo(folder: Path) -> None:
    (folder / "train.py").write_text("print('hi')\n")
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    subprocess.run(["git", "add", "."], cwd=folder, check=True)
    subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "x"], cwd=folder, check=True)
    (folder / "train.py").write_text("print('dirty')\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--cells-only", action="store_true", help="only the per-cell auto-capture overhead")
    parser.add_argument("--snapshot-only", action="store_true", help="only the observer's snapshot name analysis")
    parser.add_argument("--callbacks", action="store_true", help="only the observer's own post-cell path")
    parser.add_argument("--modules", type=int, default=0, metavar="N",
                        help="import N local project modules first, so the module watch tracks them (ADR-102)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 5
    points = 100_000 if args.quick else 200_000
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    folder = Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    git_repo(folder)
    os.chdir(folder)
    ours = f"sqlite:///{folder / 'mlops.db'}"
    if args.modules:
        local_modules(folder, args.modules)
    if args.snapshot_only:
        cell_20, cell_model = snapshot_names(3 * rounds, 1000)
        report({"snapshot_names_cell20_us": cell_20, "snapshot_names_model_cell_us": cell_model}, {},
               "tracking_snapshot.json")
        return
    if args.callbacks:
        cached, new = callback_cost(rounds, 2000 if args.quick else 5000, ours)
        report({"post_run_cell_cached_us": 1e6 * cached, "post_run_cell_new_source_us": 1e6 * new}, {},
               "tracking_callbacks.json")
        return
    if args.cells_only:
        bare, tracked = cell_overhead(rounds, 300 if args.quick else 1000, ours)
        report(
            {"bare_run_cell_ms": 1000 * bare, "tracked_run_cell_ms": 1000 * tracked},
            {"cell_overhead_pct": 100 * (tracked / bare - 1)},
            "tracking_cells.json",
        )
        return
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    results: dict[str, float] = {}
    results["ours_log_metric_pts_s"] = median_of(lambda: ours_log_metric(points, ours), rounds, "ours log_metric")
    results["mlflow_log_metric_pts_s"] = median_of(
        lambda: mlflow_log_metric(points // 1000), rounds, "mlflow log_metric"
    )
    results["mlflow_log_batch_pts_s"] = median_of(lambda: mlflow_log_batch(points // 10), rounds, "mlflow log_batch")
    ours_start_end(ours)
    mlflow_start_end()  # warm-ups: first-use imports and caches
    from jupyter_mlops.tracking import context

    # The per-process env snapshot of the warm-up run is still being taken on the capture thread; let it finish
    # so the timed rounds measure the steady state (each run still captures git/env in the background).
    context.drain()
    results["ours_start_end_ms"] = 1000 * median_of(lambda: ours_start_end(ours), 5 * rounds, "ours start+end")
    results["mlflow_start_end_ms"] = 1000 * median_of(mlflow_start_end, 5 * rounds, "mlflow start+end")
    bare, tracked = cell_overhead(rounds, 300 if args.quick else 1000, ours)
    cell_20, cell_model = snapshot_names(3 * rounds, 1000)
    results["snapshot_names_cell20_us"] = cell_20
    results["snapshot_names_model_cell_us"] = cell_model
    results["bare_run_cell_ms"] = 1000 * bare
    results["tracked_run_cell_ms"] = 1000 * tracked
    ratios = {
        "log_metric_vs_mlflow_log_metric": results["ours_log_metric_pts_s"] / results["mlflow_log_metric_pts_s"],
        "log_metric_vs_mlflow_log_batch": results["ours_log_metric_pts_s"] / results["mlflow_log_batch_pts_s"],
        "start_end_fraction_of_mlflow": results["ours_start_end_ms"] / results["mlflow_start_end_ms"],
        "cell_overhead_pct": 100 * (tracked / bare - 1),
    }
    report(results, ratios, "tracking.json")


def report(results: dict[str, float], ratios: dict[str, float], name: str) -> None:
    for key, value in {**results, **ratios}.items():
        print(f"{key:40s} {value:14,.3f}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    payload = {"results": results, "ratios": ratios, "python": sys.version}
    (out / name).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()

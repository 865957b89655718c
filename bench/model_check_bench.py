"""Benchmark: what ``models check`` costs beyond the model's own predict time (sandbox start + load).

Usage: .venv/bin/python bench/model_check_bench.py [--repeat 7]

Registers two models in a temporary store: a fitted scikit-learn ``LogisticRegression`` (10 features) and a plain
Python model (a class in a module of the temporary folder, no third-party imports), and a 1,000-row sample.
For each, ``check_servable`` runs ``--repeat`` times (rotating order) and reports medians of:
  * ``check`` — the whole ``check_servable`` call (resolve, sandbox, environment comparison, judgement);
  * ``predict`` — the model's own time inside the sandbox: the batch call plus the 100 timed per-row calls;
  * ``overhead`` = check − predict: interpreter start, imports, hashing, reading the sample, unpickling, the
    parent's side;
  * ``load`` — the unpickling alone (for sklearn it includes importing sklearn);
  * peers, in fresh processes: ``python -c pass`` and ``python -c "import pandas, sklearn.linear_model"``, the floor
    any sandbox pays.
Writes bench/results/model_check.json.
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

PLAIN = "class Plain:\n    def predict(self, frame):\n        return [0.0] * len(frame)\n"


def build(root: Path) -> str:
    """Register sklearn (churn) and plain-Python (plain) models and write sample.csv; returns the store URL."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops
    from jupyter_mlops.tracking import context, fluent

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1000, 10)), columns=[f"x{i}" for i in range(10)])
    frame["y"] = (frame["x0"] > 0).astype(int)
    frame.to_csv(root / "sample.csv", index=False)
    (root / "plainmodel.py").write_text(PLAIN)
    sys.path.insert(0, str(root))
    import plainmodel

    url = f"sqlite:///{root / 'mlops.db'}"
    with mlops.start_run("fit", store=url, auto_capture=False) as run:
        run.log_model(LogisticRegression().fit(frame.drop(columns="y"), frame["y"]), "churn")
        run.log_model(plainmodel.Plain(), "plain")
    fluent.end_run()
    context.drain()
    return url


def fresh(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["JUPYTER_MLOPS_BLOBS"] = str(root / "blobs")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), str(ROOT), os.environ.get("PYTHONPATH"))
                                                   if p)
        url = build(root)
        from jupyter_mlops.app.model_check import check_servable
        from jupyter_mlops.app.workspace import Workspace

        samples: dict[str, dict[str, list[float]]] = {m: {"check": [], "predict": [], "overhead": [], "load": []}
                                                      for m in ("churn", "plain")}
        peers: dict[str, list[float]] = {"python -c pass": [], "import pandas, sklearn.linear_model": []}
        with Workspace.from_url(url) as workspace:
            for i in range(args.repeat):
                order = ["churn", "plain"] if i % 2 == 0 else ["plain", "churn"]
                for name in order:
                    start = time.perf_counter()
                    result = check_servable(workspace, f"{name}:latest", root / "sample.csv")
                    total = time.perf_counter() - start
                    assert result.exit_code == 0, result.to_dict()
                    predict = ((result.batch_ms or 0) + _sum_latencies(result)) / 1000
                    bucket = samples[name]
                    bucket["check"].append(total)
                    bucket["predict"].append(predict)
                    bucket["overhead"].append(total - predict)
                    bucket["load"].append((result.load_ms or 0) / 1000)
                peers["python -c pass"].append(fresh("pass"))
                peers["import pandas, sklearn.linear_model"].append(fresh("import pandas, sklearn.linear_model"))
        report = {name: {k: round(statistics.median(v) * 1000, 1) for k, v in b.items()} for name, b in samples.items()}
        report["peers"] = {k: round(statistics.median(v) * 1000, 1) for k, v in peers.items()}
        report["load_avg"] = os.getloadavg()[0]
        print(json.dumps(report, indent=2))
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "model_check.json").write_text(json.dumps(report, indent=2))


def _sum_latencies(result: object) -> float:
    # The report keeps p50/p95 and the count, not every call: p50 x calls estimates their sum (per-row calls of
    # one model on same-sized rows vary little), in milliseconds.
    p50 = getattr(result, "latency_p50_ms", None) or 0.0
    return float(p50) * int(getattr(result, "latency_calls", 0))


if __name__ == "__main__":
    main()

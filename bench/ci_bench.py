"""Benchmark: ``jupyter-mlops ci``'s overhead beyond the steps it runs (target ≤ 0.5 s), in fresh processes.

Usage: .venv/bin/python bench/ci_bench.py [--repeat 11]

Builds a project in a temporary folder: a 10,000-row CSV (4 columns) profiled by a champion run of model
``churn`` (auc overall and on 3 region slices), a candidate run, and a ``[tool.jupyter-mlops.ci]`` table with the
``data`` and ``gate`` steps (no ``smoke`` step: a kernel start is seconds of noise, and the notebooks' time is
the step's own). Prints medians of fresh processes, in rotating order:
  * ``ci`` (``--format json``), and from the same processes: the steps' own seconds as ``ci`` measured them, and
    the overhead = the process's wall time − the steps' seconds (interpreter, click, reading the table, rendering);
  * ``ci + reports``: with ``--junit-xml`` and ``--github`` too;
  * ``ci + reports: own work in-process``: in a fresh process, the time from its start to ci's first step
    (importing the CLI and ci, reading the table) plus the time after its last step (the reports);
  * the same two steps as their own commands, ``data check`` and ``gate``, and their sum;
  * peers: ``jupyter-mlops --help`` (the CLI's floor) and ``python -c pass``.
Writes bench/results/ci.json.
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

CONFIG = """[project]
name = "bench"

[tool.jupyter-mlops.ci.data]
paths = ["train.csv"]
against = "churn@champion"

[tool.jupyter-mlops.ci.gate]
model = "churn"
metrics = ["auc:max"]
per-slice = ["region"]
max-regression = ["0.02"]
"""


def build(root: Path) -> None:
    """The project: pyproject, CSV, champion and candidate runs in ``root/.mlops``."""
    import numpy as np
    import pandas as pd

    import jupyter_mlops as mlops
    from jupyter_mlops.app.models import set_alias
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.tracking import context, fluent

    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    rng = np.random.default_rng(1)
    n = 10_000
    pd.DataFrame({"age": rng.integers(18, 90, n), "income": rng.normal(50, 10, n).round(3),
                  "color": rng.choice(["red", "green", "blue"], n), "plan": rng.choice(["basic", "pro"], n)}
                 ).to_csv(root / "train.csv", index=False)
    url = f"sqlite:///{root / '.mlops' / 'mlops.db'}"
    try:
        for name, auc in (("champion", 0.8), ("candidate", 0.81)):
            with mlops.start_run(name, store=url, auto_capture=False) as run:
                run.log_data(str(root / "train.csv"), name="train.csv")
                run.log_metric("auc", auc)
                for region in ("EU", "US", "APAC"):
                    run.log_metric("auc", auc, slice={"region": region})
                if name == "champion":
                    run.log_model({"w": 1}, "churn")
    finally:
        fluent.end_run()
        context.drain()
    with Workspace.from_url(url) as workspace:
        set_alias(workspace, "churn:1.0.0", "champion", force=True, reason="bench")


#: In a fresh process: ci's own work before its first step (imports, reading the table) and after its last
#: (rendering), through the CLI's own entry point; printed as two numbers in ms.
PROBE = """
import time, sys
began = time.perf_counter()
from jupyter_mlops.app import ci as app
phases = []
real_run = app.run_ci
def timed(*a, **k):
    phases.append(time.perf_counter())
    report = real_run(*a, **k)
    phases.append(time.perf_counter())
    return report
app.run_ci = timed
from jupyter_mlops.cli import main
try:
    main(["ci", "--format", "json", "--junit-xml", "probe.xml", "--github"])
except SystemExit:
    pass
done = time.perf_counter()
print((phases[0] - began) * 1000, (done - phases[1]) * 1000, file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ci-bench-"))
    try:
        build(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS")}
        cli = [sys.executable, "-m", "jupyter_mlops"]
        commands = {
            "ci": [*cli, "ci", "--format", "json"],
            "ci + reports": [*cli, "ci", "--format", "json", "--junit-xml", str(tmp / "ci.xml"), "--github"],
            "data check": [*cli, "data", "check", "train.csv", "--against", "churn@champion"],
            "gate": [*cli, "gate", "--model", "churn", "--last", "--metric", "auc:max", "--per-slice", "region",
                     "--max-regression", "0.02"],
            "jupyter-mlops --help": [*cli, "--help"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        for name, argv in commands.items():  # warm the file cache and check every command passes
            done = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{name} exited {done.returncode}: {done.stderr or done.stdout}")
        own: list[float] = []
        for _ in range(args.repeat):
            done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp, env=env, capture_output=True, text=True,
                                  check=False)
            before, after = (float(v) for v in done.stderr.split()[-2:])
            own.append(before + after)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        steps: dict[str, list[float]] = {"ci": [], "ci + reports": []}
        names = list(commands)
        for i in range(args.repeat):
            for name in names[i % len(names):] + names[: i % len(names)]:  # rotate: load drifts hit all alike
                start = time.perf_counter()
                done = subprocess.run(commands[name], cwd=tmp, env=env, capture_output=True, text=True, check=False)
                samples[name].append((time.perf_counter() - start) * 1000)
                if name in steps:
                    report = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
                    steps[name].append(sum(s["duration"] for s in report["steps"]) * 1000)
        medians = {name: round(statistics.median(v), 1) for name, v in samples.items()}
        for name in steps:
            medians[f"{name}: steps"] = round(statistics.median(steps[name]), 1)
            medians[f"{name}: overhead"] = round(statistics.median(
                [wall - inside for wall, inside in zip(samples[name], steps[name], strict=True)]), 1)
        medians["ci + reports: own work in-process"] = round(statistics.median(own), 1)
        medians["data check + gate (two processes)"] = round(statistics.median(
            [a + b for a, b in zip(samples["data check"], samples["gate"], strict=True)]), 1)
        load = os.getloadavg()[0]
        for name, value in medians.items():
            print(f"{name:36s} {value:8.1f} ms")
        print(f"(median of {args.repeat} fresh processes each; load average {load:.2f}; target: overhead <= 500 ms)")
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        (out / "ci.json").write_text(json.dumps({"repeat": args.repeat, "load": load, "median_ms": medians,
                                                 "samples_ms": samples, "steps_ms": steps}, indent=2) + "\n",
                                     encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

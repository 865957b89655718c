"""Benchmark: `reproduce`'s overhead beyond the notebook's own execution, for a run with 10 cached data inputs.

Usage: .venv/bin/python bench/reproduce_bench.py [--size-mib 1024] [--inputs 10] [--repeat 3]
       .venv/bin/python bench/reproduce_bench.py --quick        # 64 MiB in all, for a fast check

Builds a SQLite store in a temporary folder with one tracked run that read ``--inputs`` files totalling
``--size-mib`` (hashed once when they were logged, so the store's persistent stat cache knows them), an environment
snapshot and a notebook snapshot that logs one metric. Then, each round in a fresh process as the CLI would be,
calls ``app.reproduce.reproduce_run`` and splits its wall time into:
  * verification (data re-hash through the stat cache, packages, git),
  * execution (papermill: kernel start, the notebook, the kernel's own tracking, kernel shutdown),
  * overhead = total - execution (opening the store, verification, reading snapshots, injecting parameters,
    finding the new run and the verdict). The target (issue 11) is overhead <= 0.5 s.
nbformat and papermill are imported before the clock starts and reported apart (``shared_imports_s``): a plain
``papermill`` run of the notebook pays them too, so they are not reproduce's overhead.
Also reports one uncached re-hash of the inputs (what the stat cache saves). Writes bench/results/reproduce.json.
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
CHUNK = 8 << 20

NOTEBOOK_CELLS = ["%load_ext jupyter_mlops", "%track start", "%track metric score=1.0", "%track stop"]

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import nbformat, papermill  # what any papermill run imports first (nbformat's jsonschema alone costs seconds)
shared_imports = time.perf_counter() - start
from jupyter_mlops.app import reproduce as r
from jupyter_mlops.app.reproduce import execute, verify
from jupyter_mlops.app.workspace import Workspace

spent = {"verification": 0.0, "execution": 0.0}

def timed(key, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
    return wrapper

for name in ("check_data", "check_env", "check_git"):
    setattr(verify, name, timed("verification", getattr(verify, name)))
execute.execute_notebook = timed("execution", execute.execute_notebook)
start = time.perf_counter()
with Workspace.from_url(sys.argv[1]) as ws:
    result = r.reproduce_run(ws, sys.argv[2])
total = time.perf_counter() - start
print(json.dumps({"outcome": result.outcome, "total": total, "shared_imports": shared_imports, **spent}))
"""


def write_inputs(folder: Path, count: int, size: int) -> list[Path]:
    paths = []
    each = size // count
    for index in range(count):
        path = folder / f"part-{index:02d}.bin"
        block = bytes([index]) * CHUNK
        with path.open("wb") as out:
            left = each
            while left > 0:
                out.write(block[:min(CHUNK, left)])
                left -= CHUNK
        paths.append(path)
    return paths


def build(root: Path, inputs: int, size: int) -> tuple[str, str, list[Path]]:
    import nbformat

    import jupyter_mlops as mlops

    url = f"sqlite:///{root / 'mlops.db'}"
    paths = write_inputs(root, inputs, size)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with mlops.start_run("bench", store=url) as run:
        for path in paths:
            run.log_data(path)
        run.log_metric("score", 1.0)
        notebook_hash = run.put_notebook_snapshot(nbformat.writes(nb).encode())
    from jupyter_mlops.store import open_store
    from jupyter_mlops.tracking import context

    context.drain()  # the environment snapshot is written in the background
    store = open_store(url)
    store.update_run(run.id, notebook_hash=notebook_hash)
    store.close()
    return url, run.id, paths


def uncached_rehash(paths: list[Path]) -> float:
    from jupyter_mlops.capture import hashing

    start = time.perf_counter()
    for path in paths:
        hashing.hash_path(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--inputs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="64 MiB in all")
    args = parser.parse_args()
    size = (64 if args.quick else args.size_mib) << 20
    with tempfile.TemporaryDirectory(prefix="reproduce-bench-") as folder:
        root = Path(folder)
        url, run_id, paths = build(root, args.inputs, size)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
        rounds = []
        for _ in range(args.repeat):
            done = subprocess.run([sys.executable, "-c", CHILD, url, run_id], cwd=root, env=env, capture_output=True,
                                  text=True, check=True)
            rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))
        rehash = uncached_rehash(paths)
    outcomes = {r["outcome"] for r in rounds}
    result = {
        "inputs": args.inputs,
        "size_mib": size >> 20,
        "outcomes": sorted(outcomes),
        "total_s": statistics.median(r["total"] for r in rounds),
        "execution_s": statistics.median(r["execution"] for r in rounds),
        "verification_s": statistics.median(r["verification"] for r in rounds),
        "overhead_s": statistics.median(r["total"] - r["execution"] for r in rounds),
        "shared_imports_s": statistics.median(r["shared_imports"] for r in rounds),
        "uncached_rehash_s": rehash,
        "rounds": rounds,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "reproduce.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"reproduce of a run with {args.inputs} data inputs, {size >> 20} MiB in all (median of {args.repeat}, "
          f"fresh process each): outcome {', '.join(sorted(outcomes))}")
    for key in ("total_s", "execution_s", "verification_s", "overhead_s", "shared_imports_s", "uncached_rehash_s"):
        print(f"  {key:<18} {result[key]:.3f}")


if __name__ == "__main__":
    main()

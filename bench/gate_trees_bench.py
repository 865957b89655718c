"""Benchmark: the cold ``jupyter-mlops gate`` of two source trees, interleaved in one loop (before/after a change).

Usage: .venv/bin/python bench/gate_trees_bench.py --before /path/to/main --after . [--repeat 21]

Each tree builds its own store with its own ``bench/gate_bench.build`` (a store made by a newer tree is refused
by an older one), then every command runs in a fresh process with ``PYTHONPATH`` set to its tree, in rotating
order so load drifts hit all alike; medians are printed. Bytecode is written to a scratch
``PYTHONPYCACHEPREFIX`` (whatever ``PYTHONDONTWRITEBYTECODE`` says), so neither tree is timed compiling source
and nothing is written into the trees. The after tree also runs the gate with ``--per-slice region``.
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

RULES = ["--metric", "auc:max", "--metric", "latency_ms:min", "--min-delta", "auc=0.002",
         "--max-regression", "latency_ms=5%"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path)
    parser.add_argument("--after", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gate-trees-"))
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_env["PYTHONPYCACHEPREFIX"] = str(scratch / "pyc")
    cli = str(Path(sys.executable).parent / "jupyter-mlops")
    try:
        commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        for name, tree in (("before", args.before.resolve()), ("after", args.after.resolve())):
            root = scratch / name
            root.mkdir()
            build = (f"import sys, pathlib; sys.path.insert(0, {str(tree / 'bench')!r}); import gate_bench; "
                     f"print(gate_bench.build(pathlib.Path({str(root)!r})))")
            env = {**base_env, "PYTHONPATH": str(tree)}
            url = subprocess.run([sys.executable, "-c", build], env=env, cwd=scratch, capture_output=True,
                                 text=True, check=True).stdout.strip()  # cwd: `-c` puts it first on sys.path
            env.update(JUPYTER_MLOPS_STORE=url, JUPYTER_MLOPS_BLOBS=str(root / "blobs"))
            gate = [cli, "gate", "--baseline", "baseline", "--candidate", "candidate", *RULES]
            commands[f"{name}: gate"] = (gate, env)
            if name == "after":
                commands["after: gate --per-slice region"] = ([*gate, "--per-slice", "region"], env)
        commands["python -c pass"] = ([sys.executable, "-c", "pass"], base_env)
        for argv, env in commands.values():  # warm caches and bytecode; every gate must judge (exit 0 or 1)
            done = subprocess.run(argv, env=env, cwd=scratch, capture_output=True, text=True, check=False)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr}")
        samples: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for i in range(args.repeat):
            for name in names[i % len(names):] + names[: i % len(names)]:
                argv, env = commands[name]
                start = time.perf_counter()
                subprocess.run(argv, env=env, cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=False)
                samples[name].append((time.perf_counter() - start) * 1000)
        for name, values in samples.items():
            print(f"{name:34s} {statistics.median(values):8.1f} ms")
        print(f"(median of {args.repeat} fresh processes each; load average {os.getloadavg()[0]:.2f})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

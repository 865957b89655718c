"""Run every benchmark, one after another, each in its own process (``make bench``).

Each script prints its medians and ratios and writes JSON under ``bench/results/``; ``docs/benchmarks.md``
quotes those numbers with the command that produced them. Run on a quiet machine: the benches measure
wall time, and other work on the 2 cores shows up directly in the numbers.

Usage: .venv/bin/python bench/run_all.py [--only NAME ...] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["hashing", "store", "tracking", "compare", "smoke", "convert", "hygiene", "server", "slice"]
QUICK_FLAGS = {"store": ["--quick"], "tracking": ["--quick"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=BENCHES, help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes where a bench offers them")
    args = parser.parse_args()
    failed = []
    for name in args.only or BENCHES:
        script = HERE / f"{name}_bench.py"
        if not script.exists():
            print(f"== {name}: no {script.name}, skipped")
            continue
        command = [sys.executable, str(script), *(QUICK_FLAGS.get(name, []) if args.quick else [])]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(command, cwd=HERE.parent).returncode != 0:
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

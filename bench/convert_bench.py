"""convert on a generated 500-cell notebook: median wall time of each stage, and of the full conversion.

    .venv/bin/python bench/convert_bench.py [--cells 500] [--repeat 7]

Generates a notebook with a parameters cell, 50 sections (markdown headings), and code cells that exercise the
analysis: imports, assignments, mutations, augmented assignment, functions reading globals, shadowing, and a
`%track` magic. Writes bench/results/convert.json. Goal (issue 3): the full conversion of 500 cells ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mlops.notebooks.convert import convert_notebook, package_files
from jupyter_mlops.notebooks.convert.flow import build_plan
from jupyter_mlops.notebooks.io import read_notebook


def make_notebook(cells: int) -> nbformat.NotebookNode:
    body = [new_code_cell("lr = 0.1  # rate\nepochs = 3\nnames = ['a']", metadata={"tags": ["parameters"]})]
    body.append(new_code_cell("%load_ext jupyter_mlops\n%track start bench\nimport json\nimport math"))
    i = 0
    while len(body) < cells:
        if i % 9 == 0:
            body.append(new_markdown_cell(f"## Section {i // 9}\nSome text."))
        kind = i % 5
        src = {
            0: f"v{i} = [x * lr for x in range({i % 7 + 2})]\nnames.append('n{i}')",
            1: f"total{i} = sum(v{i - 1})\ntotal{i} += epochs\nd{i} = {{'k': total{i}}}\nd{i}['j'] = 1",
            2: f"def f{i}(y):\n    return y * lr + total{i - 1}\nr{i} = f{i}(2)\nlr = lr * 1.0",
            3: f"acc = {i}\nfor k in range(3):\n    acc += k\n%track metric m{i}=acc --step {i}",
            4: f"s{i} = json.dumps(d{i - 3})\nm{i} = math.sqrt(len(s{i}))",
        }[kind]
        body.append(new_code_cell(src))
        i += 1
    return new_notebook(cells=body[:cells])


def median_time(func, repeat: int) -> dict[str, float]:
    """Median wall and CPU seconds (CPU time is the steadier number on a shared, overloaded machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"wall_s": round(statistics.median(wall), 4), "cpu_s": round(statistics.median(cpu), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    path = work / "big.ipynb"
    nbformat.write(make_notebook(args.cells), path)
    nb = read_notebook(path)
    results = {
        "cells": args.cells,
        "read_notebook": median_time(lambda: read_notebook(path), args.repeat),
        "analysis": median_time(lambda: build_plan(read_notebook(path)), args.repeat),
        "analysis+render": median_time(lambda: package_files(nb, package="big", notebook="big.ipynb"), args.repeat),
        "convert_package": median_time(
            lambda: convert_notebook(path, output=work / "out", force=True), args.repeat
        ),
        "convert_script": median_time(
            lambda: convert_notebook(path, to="script", output=work / "big_script.py", force=True), args.repeat
        ),
    }
    cli = [sys.executable, "-m", "jupyter_mlops", "convert", str(path), str(work / "cli_out"), "--force"]
    results["cli_cold_process"] = median_time(lambda: subprocess.run(cli, check=True, capture_output=True), 3)
    results["python_startup"] = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 3)
    print(f"{'stage':18} {'wall s':>8} {'cpu s':>8}   ({args.cells} cells, median of {args.repeat})")
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"{key:18} {value['wall_s']:8.3f} {value['cpu_s']:8.3f}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "convert.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""diff, lint and clean on a generated 500-cell notebook: library calls and whole CLI processes, side by side.

The notebook has a parameters cell, 400 code cells (each with a stream output, some with an execute_result)
and 100 markdown cells; its "changed" twin has 10 edited cells, 3 inserted and 3 removed, new execution counts
and new timings (the noise ``diff`` must ignore). Measured, as medians over rounds whose order rotates:

  library (in one warm process, nbformat/nbdime already imported):
    read     — ``notebooks.io.read_notebook`` (JSON parse + nbformat validation), for scale;
    lint     — ``lint.lint_notebook`` with every built-in rule;
    diff     — ``diff.diff_notebooks`` (clean copies + nbdime + summary), cells carry ids as Jupyter writes them;
    diff_no_ids — the same pair without cell ids (nbformat 4.4), matched by content;
    clean    — ``clean.clean_notebook`` + serialisation.
  CLI (a fresh ``python -m jupyter_mlops`` process each time, reading the files):
    cli_lint, cli_diff, cli_clean_check — our commands;
    nbdiff   — nbdime's own ``nbdiff`` on the same pair (the peer);
    python   — ``python -c pass`` (the interpreter floor).

Usage: .venv/bin/python bench/hygiene_bench.py [--rounds 7] [--cells 500]
Writes bench/results/hygiene.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jupyter_mlops.notebooks.io import import_nbformat  # noqa: E402

import_nbformat()

import nbformat  # noqa: E402
import nbformat.v4 as v4  # noqa: E402
from timing import median_time  # noqa: E402

from jupyter_mlops.notebooks.clean import clean_notebook  # noqa: E402
from jupyter_mlops.notebooks.diff import DiffOptions, diff_notebooks  # noqa: E402
from jupyter_mlops.notebooks.io import notebook_to_text, read_notebook, write_notebook  # noqa: E402
from jupyter_mlops.notebooks.lint import LintConfig, lint_notebook  # noqa: E402


def make_notebook(cells: int, variant: int) -> object:
    """A realistic notebook; ``variant`` 1 is the edited, re-run twin of variant 0."""
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                   "language_info": {"name": "python", "version": f"3.11.{variant}"}})
    nb.cells.append(v4.new_code_cell(f"lr = {0.1 if variant == 0 else 0.05}\nepochs = 10\ndata = 'data/train.csv'",
                                     metadata={"tags": ["parameters"]}, execution_count=1, id="params"))
    for i in range(1, cells):
        if i % 5 == 0:
            text = f"## Step {i}\nWe look at feature {i} and its effect."
            nb.cells.append(v4.new_markdown_cell(text, id=f"cell-{i}"))
            continue
        edited = variant == 1 and i % 50 == 1
        source = (f"import pandas as pd\nfeature_{i} = pd.read_csv('data/part_{i}.csv')\n"
                  f"stats_{i} = feature_{i}.describe()\nprint(stats_{i}.shape{', i' if edited else ''})")
        cell = v4.new_code_cell(source, execution_count=i + 1 + variant * 1000, id=f"cell-{i}",
                                metadata={"execution": {"iopub.status.idle": f"2024-01-0{variant + 1}T00:00:{i % 60}"}})
        cell.outputs = [v4.new_output("stream", name="stdout", text=f"(8, {i})\nrow {i} " * 5)]
        if i % 7 == 0:
            cell.outputs.append(v4.new_output("execute_result", {"text/plain": f"<DataFrame {i}>"},
                                              execution_count=i + 1 + variant * 1000))
        nb.cells.append(cell)
    if variant == 1:
        del nb.cells[100:103]
        nb.cells[300:300] = [v4.new_code_cell(f"extra_{k} = {k}", id=f"extra-{k}") for k in range(3)]
    return nb


def without_ids(nb: object) -> object:
    """An nbformat 4.4-style copy (no cell ids): cells must be matched by content."""
    copy = json.loads(json.dumps(nb))
    copy["nbformat_minor"] = 4
    for cell in copy["cells"]:
        cell.pop("id", None)
    return nbformat.from_dict(copy)


CPU: dict[str, list[float]] = {}


def run_process(name: str, args: list[str]) -> Callable[[], object]:
    """A runner that also records the child's CPU time (user + system): less sensitive to a loaded machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}

    def run() -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, capture_output=True, env=env, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        CPU.setdefault(name, []).append(cpu)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cells", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hygiene-bench-"))
    a_path, b_path = folder / "a.ipynb", folder / "b.ipynb"
    write_notebook(make_notebook(args.cells, 0), a_path)
    write_notebook(make_notebook(args.cells, 1), b_path)
    a, b = read_notebook(a_path), read_notebook(b_path)
    a_noids, b_noids = without_ids(a), without_ids(b)
    config = LintConfig()
    result = diff_notebooks(a, b, DiffOptions())
    print(f"{args.cells} cells, {a_path.stat().st_size / 1e6:.2f} MB; diff finds {len(result.changes)} cell changes, "
          f"{len(lint_notebook(a, str(a_path), config))} lint findings")
    py = sys.executable
    nbdiff = str(Path(py).parent / "nbdiff")
    library = {
        "read": lambda: read_notebook(a_path),
        "lint": lambda: lint_notebook(a, str(a_path), config),
        "diff": lambda: diff_notebooks(a, b, DiffOptions()),
        "diff_no_ids": lambda: diff_notebooks(a_noids, b_noids, DiffOptions()),
        "clean": lambda: notebook_to_text(clean_notebook(a)),
    }
    processes = {
        "cli_lint": run_process("cli_lint", [py, "-m", "jupyter_mlops", "lint", str(a_path)]),
        "cli_diff": run_process("cli_diff", [py, "-m", "jupyter_mlops", "diff", str(a_path), str(b_path)]),
        "cli_clean_check": run_process("cli_clean_check", [py, "-m", "jupyter_mlops", "clean", "--check", str(a_path)]),
        "nbdiff": run_process("nbdiff", [nbdiff, str(a_path), str(b_path)]),
        "python": run_process("python", [py, "-c", "pass"]),
    }
    samples: dict[str, list[float]] = {name: [] for name in [*library, *processes]}
    for round_number in range(args.rounds):
        names = [*library, *processes]
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:  # rotate the order: the machine is noisy
            fn = library.get(name) or processes[name]
            samples[name].append(median_time(fn, 1))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    cpu = {name: statistics.median(values) for name, values in CPU.items()}
    print(f"{'':16} {'wall':>9}    {'cpu (processes)':>15}")
    for name, value in medians.items():
        extra = f"{cpu[name] * 1000:12.1f} ms" if name in cpu else ""
        print(f"{name:16} {value * 1000:9.1f} ms {extra}")
    print(f"cli_diff / nbdiff = {medians['cli_diff'] / medians['nbdiff']:.2f} (wall), "
          f"{cpu['cli_diff'] / cpu['nbdiff']:.2f} (cpu); load average {os.getloadavg()[0]:.1f}")
    out = ROOT / "bench" / "results" / "hygiene.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cells": args.cells, "rounds": args.rounds, "medians_s": medians, "cpu_medians_s": cpu,
                               "loadavg": os.getloadavg(),
                               "samples_s": samples}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

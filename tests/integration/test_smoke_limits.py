"""nb-smoke resource limits (issue 8 §6), end to end with real kernels (one nb-smoke call per concern).

- Output caps: a notebook printing megabytes under a cap of a few KB leaves a small executed notebook that says
  it was truncated (in the cell and its metadata), and the report says so too; a failing cell after the cap is
  still reported with its own exception (the silent-pass guard is not fooled by dropped outputs).
- Process tree: ``sleep`` started with ``start_new_session=True`` and a double-forked ``setsid`` daemon are gone
  once nb-smoke returns.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest

pytestmark = pytest.mark.requires_kernel

NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
NOTE = "[nb-smoke] output truncated"

LOUD = [
    "for i in range(3000):\n    print('x' * 1000)",  # 3 MB in ~3,000 stream messages
    "from IPython.display import HTML, display\ndisplay(HTML('<p>' + 'y' * 100_000 + '</p>'))",
    "print('still running')",
]
LOUD_FAILS = ["print('z' * 2_000_000)", "raise ValueError('after the flood')"]
SPAWNS = """import os, subprocess, time
session = subprocess.Popen(['sleep', '900'], start_new_session=True)
with open('pids.txt', 'w') as f:
    f.write(f'{session.pid}\\n')
if os.fork() == 0:          # double fork: the grandchild has no parent in the kernel's tree and its own session
    os.setsid()
    if os.fork() == 0:
        with open('pids.txt', 'a') as f:
            f.write(f'{os.getpid()}\\n')
        os.execvp('sleep', ['sleep', '901'])
    os._exit(0)
for _ in range(100):
    if len(open('pids.txt').read().split()) == 2:
        break
    time.sleep(0.05)
"""


def notebook(path: Path, *sources: str) -> None:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), path)


def running(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and "sleep" in " ".join(process.cmdline())
    except psutil.Error:
        return False


@pytest.fixture(scope="module")
def smoked(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("limits")
    (work / "pyproject.toml").write_text('[tool.jupyter-mlops.smoke]\nmax-cell-output = "3kB"\n')
    notebook(work / "loud.ipynb", *LOUD)
    notebook(work / "loud-fails.ipynb", *LOUD_FAILS)
    out = subprocess.run([*NB_SMOKE, ".", "-j", "2", "--plain", "--no-track", "--json", "r.json", "--output-dir",
                          "executed", "--max-notebook-output", "8kB"],
                         cwd=work, capture_output=True, text=True, timeout=300, check=False)
    assert (work / "r.json").exists(), out.stdout + out.stderr
    rows = json.loads((work / "r.json").read_text())["notebooks"]
    return {"work": work, "out": out, "rows": {r["path"]: r for r in rows}}


def test_processes_started_by_the_notebook_end_with_it(tmp_path: Path):
    notebook(tmp_path / "spawns.ipynb", SPAWNS)
    out = subprocess.run([*NB_SMOKE, "spawns.ipynb", "--plain", "--no-track", "--output-dir", "executed"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    pids = [int(p) for p in (tmp_path / "pids.txt").read_text().split()]
    alive = [pid for pid in pids if running(pid)]  # right after nb-smoke returned
    for pid in alive:  # never leave them behind, even when the test fails
        psutil.Process(pid).kill()
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(pids) == 2
    assert alive == []


def test_output_is_capped_and_the_cap_is_noted_everywhere(smoked):
    row = smoked["rows"]["loud.ipynb"]
    assert row["passed"]
    info = row["output_truncated"]
    assert info["cells"] == [0, 1] and info["dropped_bytes"] > 3_000_000
    assert (info["max_cell_output"], info["max_notebook_output"]) == (3000, 8000)  # pyproject, then the flag
    kept = smoked["work"] / "executed" / "loud.ipynb"
    assert kept.stat().st_size < 20_000
    executed = nbformat.read(kept, as_version=4)
    assert executed.metadata["jupyter_mlops"]["output_truncated"]["cells"] == [0, 1]
    notes = [o.text for c in executed.cells for o in c.outputs if o.get("name") == "stderr" and NOTE in o.text]
    assert len(notes) == 2
    assert "PASS loud.ipynb" in smoked["out"].stdout and "output truncated: " in smoked["out"].stdout


def test_a_failure_after_the_cap_still_names_its_exception(smoked):
    row = smoked["rows"]["loud-fails.ipynb"]
    assert row["reason"] == "cell-error"
    assert (row["failures"][0]["index"], row["failures"][0]["ename"]) == (1, "ValueError")
    assert row["output_truncated"]["cells"] == [0]
    assert (smoked["work"] / "executed" / "loud-fails.ipynb").stat().st_size < 20_000


def test_bad_cap_values_are_usage_errors(tmp_path: Path):
    notebook(tmp_path / "a.ipynb", "1")
    out = subprocess.run([*NB_SMOKE, "a.ipynb", "--max-cell-output", "lots"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 2
    assert out.stderr.strip() == "Error: --max-cell-output: expected a size such as 4MiB or 500kB, got 'lots'"

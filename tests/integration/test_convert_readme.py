"""The README's convert example, typed as written, on an example notebook: it converts, its printed hint runs,
and the package tracks a real run into the project's store from another folder (subprocesses, no kernel).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_convert_example() -> str:
    rows = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if "| `convert` |" in line]
    assert len(rows) == 1, "the README's command table has one convert row"
    match = re.search(r"\| `convert` \| `([^`]+)` \|", rows[0])
    assert match, rows[0]
    return match[1]


def _env(*paths: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # jupyter-mlops, python
    return env


def _shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_readme_convert_example_runs_verbatim(tmp_path):
    from jupyter_mlops.store import open_store

    example = _readme_convert_example()
    assert example == "jupyter-mlops convert train.ipynb --to package src/train_pkg"
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()  # a project root, as a user's repository is
    shutil.copy(ROOT / "example_notebooks" / "01_classifier.ipynb", project / "train.ipynb")
    converted = _shell(example, project, _env())
    assert converted.returncode == 0, converted.stderr
    hint = converted.stdout.split("run it: ", 1)[1].strip()
    shown = _shell(hint, project, _env())
    assert shown.returncode == 0 and "usage: train_pkg" in shown.stdout, shown.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ran = subprocess.run(
        [sys.executable, "-m", "train_pkg", "--epochs", "2"], cwd=elsewhere, env=_env(project / "src"),
        capture_output=True, text=True, timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.startswith("test AUC ")
    runs = open_store(f"sqlite:///{project / '.mlops' / 'mlops.db'}").search_runs().items
    assert [(r.name, r.status.value, r.params["epochs"]) for r in runs] == [("classifier", "finished", 2)]
    assert {"test_auc", "fold_auc", "train_loss"} <= set(runs[0].metrics)

"""Every command example in README.md runs as written, in a project laid out the way the examples assume.

The examples are read from the README itself (inline code and ``bash`` blocks that start with ``jupyter-mlops``,
``nb-smoke`` or ``pytest``), so an example edited there is the example tested here. ``make`` lines are left
to CI, which runs ``make test`` itself, and the wheel install to ``test_wheel_install.py``. The project is a git
repository with the example notebooks, a ``train.ipynb`` committed twice (for ``HEAD~1:train.ipynb``), a clean
``notebooks/`` folder and three tracked runs (``baseline``, ``tuned``, ``scratch``) in its own store.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PROGRAMS = ("jupyter-mlops ", "nb-smoke ", "pytest ")

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]


def readme_commands() -> list[str]:
    """The README's shell examples, in README order."""
    text = README.read_text(encoding="utf-8")
    commands: list[str] = []
    for block in re.finditer(r"```(?:bash|console|shell|sh)\n(.*?)```", text, re.S):
        commands += [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    commands += re.findall(r"`([^`\n]+)`", prose)
    return [c for c in dict.fromkeys(commands) if c.startswith(PROGRAMS)]


def test_the_readme_has_the_examples_this_test_expects():
    commands = readme_commands()
    for program in PROGRAMS:
        assert any(c.startswith(program) for c in commands), f"no {program.strip()} example found in README.md"
    assert len(commands) >= 12


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root, check=True,
                   capture_output=True)


def _clean_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Scoring"),
        nbformat.v4.new_code_cell("threshold = 0.5", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(threshold > 0.1)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "project"
    shutil.copytree(REPO / "example_notebooks", root / "example_notebooks",
                    ignore=shutil.ignore_patterns("data", ".ipynb_checkpoints"))
    (root / "notebooks").mkdir()
    _clean_notebook(root / "notebooks" / "score.ipynb")
    train = nbformat.read(REPO / "example_notebooks" / "01_classifier.ipynb", as_version=4)
    nbformat.write(train, root / "train.ipynb")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "first")
    for cell in train.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace("learning_rate = 0.01", "learning_rate = 0.05")
    nbformat.write(train, root / "train.ipynb")
    _git(root, "commit", "-qam", "faster")

    env = {**os.environ, "JUPYTER_MLOPS_STORE": f"sqlite:///{tmp_path / 'store' / 'mlops.db'}",
           "JUPYTER_MLOPS_BLOBS": str(tmp_path / "store" / "blobs"), "CI": "true",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    script = ("import jupyter_mlops as mlops\n"
              "for name, auc in (('baseline', 0.91), ('tuned', 0.95), ('scratch', 0.5)):\n"
              "    with mlops.start_run(name, experiment='churn') as run:\n"
              "        run.log_params({'learning_rate': 0.05 if name == 'tuned' else 0.01})\n"
              "        for step in range(3):\n"
              "            run.log_metric('auc', auc - 0.1 * (2 - step), step=step)\n")
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True, capture_output=True)
    return root, env


def test_every_readme_command_runs_as_written(project: tuple[Path, dict[str, str]]):
    root, env = project
    for command in readme_commands():
        out = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True,
                             timeout=600, check=False)
        assert out.returncode == 0, f"README example failed: {command}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        assert "Traceback" not in out.stderr, command

    assert (root / "smoke.xml").is_file() and (root / "run.json").is_file()
    listing = subprocess.run(["jupyter-mlops", "runs", "list", "--format", "csv"], cwd=root, env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "scratch" not in listing and "baseline" in listing  # the delete example deleted what it says

"""convert, as a new user meets it: where the package goes and runs, and what of each cell it keeps (no kernel).

The packages run for real in subprocesses (``python -m``) from another working folder, tracking into a real
SQLite store found the way any script finds it.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook
from nbformat.v4 import new_raw_cell as raw

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.convert import convert_notebook, package_files
from jupyter_mlops.notebooks.convert.flow import build_plan


def write(folder: Path, nb, name: str = "train.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def env_with(*paths: Path) -> dict[str, str]:
    """This environment minus any store setting, with ``paths`` first on the import path (and python on PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_module(package: str, cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", package, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def exec_cells(nb) -> str:
    """What a kernel prints for a magic-free notebook: each code cell exec'd in one namespace."""
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102
    return out.getvalue()


def section_text(nb, section: str) -> str:
    files = package_files(nb, package="pkg", notebook="train.ipynb")
    return files[f"{section}.py"]


# --- 16 + 20: OUTPUT is the package; it runs from anywhere, in the notebook's folder, into the project store -----
TRACKED = new_notebook(
    cells=[
        code("C = 1.0  # regularisation", metadata={"tags": ["parameters"]}),
        code("%load_ext jupyter_mlops\n%track start fit --experiment convert"),
        md("## Load"),
        code("rows = open('data/train.csv').read().split()\nprint('rows', len(rows))"),
        md("## Fit"),
        code("%%track metrics\nclf = {'C': C, 'kind': 'toy'}\nn_rows = len(rows)\nscore = n_rows * C\nname = 'x'"),
        code("%track stop"),
    ]
)


def test_output_folder_is_the_package_and_runs_from_anywhere_into_the_project_store(tmp_path, monkeypatch):
    from jupyter_mlops.cli import main
    from jupyter_mlops.store import open_store

    project = tmp_path / "proj"
    (project / "notebooks" / "data").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (project / "notebooks" / "data" / "train.csv").write_text("a\nb\nc\n")
    write(project / "notebooks", TRACKED)
    monkeypatch.chdir(project)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exit_info:
        main(["convert", "notebooks/train.ipynb", "--to", "package", "src/train_pkg"])
    assert exit_info.value.code == 0
    # Then: src/train_pkg is the package itself, and the printed hint works verbatim from here
    assert sorted(p.name for p in (project / "src" / "train_pkg").glob("*.py"))[:4] == [
        "__init__.py", "__main__.py", "fit.py", "load.py",
    ]
    hint = printed.getvalue().split("run it: ", 1)[1].strip()
    assert hint == "PYTHONPATH=src python -m train_pkg --help"
    env = env_with()
    shown = subprocess.run(hint, shell=True, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "--C FLOAT" in shown.stdout, shown.stderr
    # When: a real run from an unrelated working folder, with no store configured
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    completed = run_module("train_pkg", elsewhere, env_with(project / "src"), "--C", "2.0")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.splitlines() == ["rows 3"]  # data/train.csv resolved against the notebook's folder
    # Then: the run is in the project's store, with the numeric assignments of the %%track metrics cell only
    assert not list(elsewhere.iterdir()) and not list((project / "src").rglob(".mlops"))
    store = open_store(f"sqlite:///{project / '.mlops' / 'mlops.db'}")
    runs = store.search_runs().items
    assert [(r.name, r.status.value, r.params) for r in runs] == [("fit", "finished", {"C": 2.0})]
    assert runs[0].metrics == {"n_rows": 3.0, "score": 6.0}


def test_package_name_comes_from_the_folder_or_name(tmp_path, monkeypatch):
    path = write(tmp_path / "nb", TRACKED, "01_train.ipynb")
    monkeypatch.chdir(tmp_path)
    assert convert_notebook(path).output == Path("train")  # default: ./<name from the notebook>
    assert convert_notebook(path, name="fit_pkg").output == Path("fit_pkg")
    result = convert_notebook(path, output=tmp_path / "src" / "fit_pkg", name="fit_pkg")
    assert (result.package, (result.output / "pipeline.py").is_file()) == ("fit_pkg", True)
    assert "NOTEBOOK_FOLDER = '../../nb'" in (result.output / "pipeline.py").read_text()
    with pytest.raises(InvalidInput, match="differs from OUTPUT's folder name 'other'"):
        convert_notebook(path, output=tmp_path / "other", name="fit_pkg")
    with pytest.raises(InvalidInput, match="'train-pkg' is not a valid Python package name.*try .*train_pkg"):
        convert_notebook(path, output=tmp_path / "train-pkg")
    companion = write(tmp_path / "nb", new_notebook(cells=[code("import train\ntrain.main()")]), "train.ipynb")
    with pytest.raises(InvalidInput, match="'train' is also a module train.ipynb imports"):
        convert_notebook(companion, output=tmp_path / "train")


# --- 19: the script's folder is created ---------------------------------------------------------------------
def test_script_target_creates_missing_folders(tmp_path):
    nb = new_notebook(cells=[code("print('hi')")])
    result = convert_notebook(write(tmp_path, nb), to="script", output=tmp_path / "scripts" / "deep" / "x.py")
    completed = subprocess.run([sys.executable, str(result.output)], capture_output=True, text=True, timeout=60)
    assert completed.stdout == "hi\n"


# --- 17: jupytext's active markers: one rule for both .py targets, and the conversion says so --------------------
ACTIVE = new_notebook(
    cells=[
        code("x = 1"),
        code("!pip install something-only-for-the-notebook\nx = 100", metadata={"active": "ipynb"}),
        raw("x += 1", metadata={"active": "py"}),
        code("y = 5", metadata={"tags": ["active-ipynb"]}),
        raw("y = 7", metadata={"tags": ["active-ipynb-py"]}),
        code("print(x, globals().get('y'))"),
    ]
)


def test_active_markers_are_honoured_by_package_and_script_alike(tmp_path):
    path = write(tmp_path, ACTIVE)
    package = convert_notebook(path, output=tmp_path / "src" / "active_pkg")
    script = convert_notebook(path, to="script", output=tmp_path / "active_script.py")
    from_package = run_module("active_pkg", tmp_path, env_with(tmp_path / "src"))
    from_script = subprocess.run([sys.executable, str(script.output)], capture_output=True, text=True, timeout=60)
    assert from_package.returncode == 0, from_package.stderr
    assert from_script.stdout == "2 7\n"  # jupytext's rule: cells 1 and 3 commented out, raw cells 2 and 4 run
    assert from_package.stdout.split()[0] == "2"  # (the package's `globals()` is the section's, not the notebook's)
    assert package.notes == script.notes == [
        "cell 1 runs only in the notebook (active: ipynb)",
        "raw cell 2 runs only in the .py (active: py)",
        "cell 3 runs only in the notebook (active-ipynb)",
        "raw cell 4 runs only in the .py (active-ipynb-py)",  # a raw cell never runs in the notebook
    ]
    text = (package.output / "setup.py").read_text()
    assert "    # !pip install something-only-for-the-notebook" in text and "    x += 1" in text


def test_cli_notes_the_active_markers(tmp_path, capsys):
    from jupyter_mlops.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(write(tmp_path, ACTIVE)), str(tmp_path / "active_pkg")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 0
    assert err.startswith("note: the .py differs from the notebook's run on purpose: cell 1 runs only in the notebook")


# --- 18: raw cells and blank lines are kept --------------------------------------------------------------------
def test_raw_cells_become_comments_and_code_keeps_its_blank_lines():
    nb = new_notebook(
        cells=[
            code("a = 1\n\n\nb = a + 1  # two blank lines above\nprint(b)"),
            raw("Some reStructuredText\n=====================\n\n.. note:: for nbconvert"),
            code("%matplotlib inline\nimport math\n\nc = math.pi\n\nprint(round(c, 2))"),
        ]
    )
    text = section_text(nb, "setup")
    assert "    a = 1\n\n\n    b = a + 1  # two blank lines above\n    print(b)\n" in text
    assert "    # cell 1 (raw):\n    # Some reStructuredText\n    # =====================\n    #\n" in text
    assert "    # .. note:: for nbconvert\n" in text
    # the dropped magic and the hoisted import leave no blank line behind; the cell's own blank line stays
    assert "    # cell 2\n    c = math.pi\n\n    print(round(c, 2))\n" in text


# --- 20: a %%track metrics cell logs only its numbers ------------------------------------------------------------
def test_track_metrics_cell_filters_like_the_magic():
    import numpy as np

    from jupyter_mlops.ipython.magics import _is_number, _is_param_value
    from jupyter_mlops.notebooks.convert.runtime import is_number, tracked_metrics, tracked_params

    values = {
        "clf": object(), "auc": 0.9, "n": 3, "flag": True, "name": "x", "none": None, "arr": [1.0],
        "np_float": np.float32(0.5), "scalar_array": np.array(2.0), "vector": np.array([1.0, 2.0]), "text": b"1",
    }
    assert tracked_metrics(values) == {"auc": 0.9, "n": 3.0, "np_float": 0.5, "scalar_array": 2.0}
    assert [is_number(v) for v in values.values()] == [_is_number(v) for v in values.values()]  # one rule
    params = {"lr": 0.1, "fn": len, "mod": os, "cls": dict, "layers": [1]}
    assert tracked_params(params) == {"lr": 0.1, "layers": [1]}
    assert list(tracked_params(params)) == [name for name in params if _is_param_value(params, name)]
    # a number no float holds is still a metric: log_metrics refuses it in one line, not float() with a traceback
    assert is_number(10**400) and tracked_metrics({"big": 10**400}) == {"big": 10**400}


# --- 21: display-only expressions are comments; plotting does not make a section hand its frame on --------------
QUALITY = new_notebook(
    cells=[
        code(
            "class Frame:\n    def __init__(self):\n        self.calls = 0\n\n"
            "    def plot(self, **kw):\n        print('plot', sorted(kw))\n        return self\n\n"
            "    def head(self):\n        return 'head'"
        ),
        md("## Load"),
        code("x1 = [3, 4]\nx1[0]\ndf = Frame()\ndf.head()\nlen(x1)"),
        md("## Plot"),
        code("df.plot(kind='bar')\ndf.plot.__name__"),
        md("## Report"),
        code("print(x1, df.calls)\nx1"),
    ]
)


def test_display_only_expressions_become_comments_and_plots_are_not_mutations(tmp_path):
    plan = build_plan(QUALITY)
    flow = {s.name: (s.args, s.outputs) for s in plan.sections}
    assert flow["plot"] == (["df"], [])  # df.plot(...) draws; it does not change df
    assert flow["report"] == (["x1", "df"], [])
    load = section_text(QUALITY, "load")
    for shown in ("x1[0]", "df.head()", "len(x1)"):
        assert f"    # shown in the notebook: {shown}\n" in load
        assert f"\n    {shown}\n" not in load
    # the package still prints what the notebook printed
    path = write(tmp_path, QUALITY)
    convert_notebook(path, output=tmp_path / "src" / "quality")
    completed = run_module("quality", tmp_path, env_with(tmp_path / "src"))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == exec_cells(QUALITY)

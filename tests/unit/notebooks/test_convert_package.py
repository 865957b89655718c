"""convert: params module and its CLI, sections, name flow, errors, files written (no kernel)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

from jupyter_mlops.errors import Conflict, ConversionError, InvalidInput
from jupyter_mlops.notebooks.convert import convert_notebook, package_files, pair
from jupyter_mlops.notebooks.convert.flow import build_plan
from jupyter_mlops.notebooks.convert.sections import split_sections, unique_names

PARAMS = (
    "learning_rate = 0.1  # step size\nepochs: int = 3\nlayers = [64, 32]  # hidden sizes\n"
    "use_bias = True\nname = 'm'\noptional = None"
)


def notebook(*cells):
    return new_notebook(cells=list(cells))


def write(tmp_path: Path, nb, name="demo.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def run_cells(nb) -> str:
    """What a kernel would print for a magic-free notebook: every code cell exec'd in one namespace."""
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102
    return out.getvalue()


def run_package(folder: Path, package: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", package, *argv], cwd=folder, capture_output=True, text=True, timeout=60
    )


def load_params_module(tmp_path: Path):
    nb = notebook(code(PARAMS, metadata={"tags": ["parameters"]}), code("print(learning_rate)"))
    files = package_files(nb, package="demo", notebook="demo.ipynb")
    path = tmp_path / "params_mod.py"
    path.write_text(files["params.py"])
    spec = importlib.util.spec_from_file_location("params_mod", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["params_mod"] = module  # dataclasses resolve the module of the class
    spec.loader.exec_module(module)
    return module


# --- params -------------------------------------------------------------------------------------------------
def test_params_dataclass_types_help_and_defaults(tmp_path):
    module = load_params_module(tmp_path)
    params = module.Params()
    assert (params.learning_rate, params.epochs, params.layers, params.use_bias) == (0.1, 3, [64, 32], True)
    assert module.KINDS == {
        "learning_rate": "float", "epochs": "int", "layers": "list", "use_bias": "bool", "name": "str",
        "optional": "any",
    }
    assert module.HELP == {"learning_rate": "step size", "layers": "hidden sizes"}
    with pytest.raises(AttributeError):
        params.epochs = 4  # frozen


def test_params_cli_flags(tmp_path):
    module = load_params_module(tmp_path)
    params = module.parse_args(["--learning-rate", "0.05", "--no-use-bias", "--layers", "[8]", "--optional", "x"])
    assert (params.learning_rate, params.use_bias, params.layers, params.optional) == (0.05, False, [8], "x")
    assert module.parse_args([]) == module.Params()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("p.yaml", "learning-rate: 0.3\nepochs: 7\n"),
        ("p.toml", "learning_rate = 0.3\nepochs = 7\n"),
        ("p.json", '{"learning_rate": 0.3, "epochs": 7}'),
    ],
)
def test_params_config_files_and_cli_wins(tmp_path, name, text):
    module = load_params_module(tmp_path)
    config = tmp_path / name
    config.write_text(text)
    params = module.parse_args(["--config", str(config), "--epochs", "9"])
    assert (params.learning_rate, params.epochs) == (0.3, 9)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "many"], "parameter 'epochs' expects int"),
        (["--layers", "notjson"], "--layers expects JSON"),
        (["--config", "CONFIG"], "unknown parameter(s) bogus"),
    ],
)
def test_params_bad_input_is_one_clear_error(tmp_path, capsys, argv, message):
    module = load_params_module(tmp_path)
    config = tmp_path / "bad.yaml"
    config.write_text("bogus: 1\n")
    with pytest.raises(SystemExit) as exc:
        module.parse_args([str(config) if a == "CONFIG" else a for a in argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_inferred_parameters_cell_without_tag():
    nb = notebook(code("import math"), code("alpha = 0.5\nbeta = 'b'"), code("print(alpha)"))
    assert [f.name for f in build_plan(nb).spec.fields] == ["alpha", "beta"]


def test_tagged_cell_keeps_non_literal_statements_as_code():
    nb = notebook(code("n = 2\nm = n * 3", metadata={"tags": ["parameters"]}), code("print(m)"))
    plan = build_plan(nb)
    assert [f.name for f in plan.spec.fields] == ["n"]
    assert plan.sections[0].args == ["n"]


# --- sections -----------------------------------------------------------------------------------------------
def test_sections_split_at_headings_and_tags():
    cells = list(enumerate([md("# Title"), code("a = 1"), md("## Load"), code("b = a"), md("### Detail"),
                            code("c = b", metadata={"tags": ["section:final step"]})]))
    assert [s.title for s in split_sections(cells, "h2")] == ["setup", "Load"]  # the only H1 is the title
    assert [s.title for s in split_sections(cells, "h3")] == ["setup", "Load", "Detail"]
    assert [s.title for s in split_sections(cells, "h1")] == ["Title"]
    assert [s.title for s in split_sections(cells, "tag")] == ["setup", "final step"]
    with pytest.raises(InvalidInput, match="unknown section mode"):
        split_sections(cells, "h9")


def test_section_names_are_unique_identifiers():
    assert unique_names(["1. Load data!", "Load data", "load data", "class", "params", "x" * 50]) == [
        "section_1_load_data", "load_data", "load_data_2", "class_section", "params_section", "x" * 50,
    ]


# --- name flow ----------------------------------------------------------------------------------------------
def test_arguments_and_returns_follow_def_use_with_shadowing():
    nb = notebook(
        code("k = 2", metadata={"tags": ["parameters"]}),
        md("## A"), code("import json\nxs = [1]\ny = 'a'"),
        md("## B"), code("xs.append(k)\ny = 5\nunused = 1"),
        md("## C"), code("print(json.dumps([xs, y]))"),
    )
    plan = build_plan(nb)
    flow = {s.name: (s.args, s.outputs) for s in plan.sections}
    assert flow == {"a": ([], ["xs"]), "b": (["k", "xs"], ["xs", "y"]), "c": (["xs", "y"], [])}
    assert plan.sections[2].imports == ["import json"]


def test_imports_rebound_elsewhere_flow_as_data():
    nb = notebook(md("## A"), code("from math import e\nv = e"), md("## B"), code("e = 3\nprint(e, v)"))
    plan = build_plan(nb)
    assert plan.sections[0].imports == []  # `e` is also assigned: the import stays in place
    assert plan.sections[0].outputs == ["v"]


def test_conversion_error_names_every_offending_cell_in_one_line():
    nb = notebook(code("x = 1"), code("!pip install a"), code("%%bash\nls"), code("def f(:\n  pass"))
    with pytest.raises(ConversionError) as exc:
        build_plan(nb, origin="demo.ipynb")
    message = exc.value.message
    assert "\n" not in message
    for fragment in ("cell 1 (`!pip install a`)", "cell 2 (`%%bash`)", "cell 3 (`def f(:`): syntax error"):
        assert fragment in message


# --- end to end without a kernel ----------------------------------------------------------------------------
TRICKY = notebook(
    code("n = 3\nscale = 2.0", metadata={"tags": ["parameters"]}),
    md("## Setup"),
    code("import json\nitems = []\ntotal = 0\ndef bump(v):\n    return v * scale + offset\noffset = 1\nbox = {}"),
    md("## Work"),
    code(
        "for i in range(n):\n    items.append(bump(i))\ntotal += sum(items)\nbox['k'] = total\n"
        "scale = 10\nlate = bump(1)"
    ),
    md("## Report"),
    code("query = '''\nSELECT 1\n'''\nprint(json.dumps([items, total, box, late, query, scale]))"),
)


def test_package_prints_what_the_notebook_prints(tmp_path):
    path = write(tmp_path, TRICKY)
    result = convert_notebook(path, output=tmp_path / "src" / "demo_pkg")
    completed = run_package(result.output.parent, "demo_pkg")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == run_cells(TRICKY)
    override = run_package(result.output.parent, "demo_pkg", "--n", "5")
    TRICKY.cells[0].source = "n = 5\nscale = 2.0"
    try:
        assert override.stdout == run_cells(TRICKY)
    finally:
        TRICKY.cells[0].source = "n = 3\nscale = 2.0"


def test_script_target_runs_like_the_notebook(tmp_path):
    path = write(tmp_path, TRICKY)
    before = path.read_bytes()
    result = convert_notebook(path, to="script", output=tmp_path / "demo_script.py")
    completed = subprocess.run([sys.executable, str(result.output)], capture_output=True, text=True, timeout=60)
    assert completed.stdout == run_cells(TRICKY)
    assert "# %%" in result.output.read_text()
    assert path.read_bytes() == before


def test_existing_output_needs_force_and_force_removes_stale_modules(tmp_path):
    path = write(tmp_path, TRICKY)
    out = tmp_path / "demo"
    convert_notebook(path, output=out)
    stale = out / "old_section.py"
    stale.write_text("x = 1\n")
    with pytest.raises(Conflict, match="pass --force"):
        convert_notebook(path, output=out)
    convert_notebook(path, output=out, force=True)
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "__init__.py", "__main__.py", "params.py", "pipeline.py", "report.py", "setup.py", "work.py",
    ]


def test_force_never_replaces_a_folder_convert_did_not_write(tmp_path):
    path = write(tmp_path, TRICKY)
    mine = tmp_path / "src"
    (mine / "keep.py").parent.mkdir()
    (mine / "keep.py").write_text("precious = 1\n")
    with pytest.raises(Conflict, match="not a package written by convert"):
        convert_notebook(path, output=mine, force=True)
    assert (mine / "keep.py").read_text() == "precious = 1\n"


def test_invalid_package_name(tmp_path):
    with pytest.raises(InvalidInput, match="not a valid Python package name"):
        convert_notebook(write(tmp_path, TRICKY), output=tmp_path / "o", name="my-pkg")


def test_pair_sets_formats_and_writes_the_script(tmp_path):
    path = write(tmp_path, TRICKY)
    result = pair(path)
    assert result.output == tmp_path / "demo.py"
    assert nbformat.read(path, as_version=4).metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert "# %% [markdown]" in result.output.read_text()
    pair(path)  # already paired: refreshing is fine
    other = write(tmp_path, TRICKY, "other.ipynb")
    (tmp_path / "other.py").write_text("print('mine')\n")
    with pytest.raises(Conflict):
        pair(other)


def test_cli_errors_are_one_line_with_exit_codes(tmp_path, capsys):
    from jupyter_mlops.cli import main

    bad = write(tmp_path, notebook(code("%cd /tmp")), "bad.ipynb")
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(bad), str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and err.count("\n") == 1 and "cell 0 (`%cd /tmp`)" in err
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(tmp_path / "broken.ipynb")])
    assert exc.value.code == 2 and "not valid notebook JSON" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(write(tmp_path, TRICKY)), str(tmp_path / "pkg"), "--name", "pkg"])
    assert exc.value.code == 0 and "wrote package pkg (3 sections)" in capsys.readouterr().out
